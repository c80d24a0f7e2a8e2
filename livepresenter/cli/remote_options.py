"""The remote engine's options, the same for every command that animates (run, render)."""

from __future__ import annotations

import argparse


def add_remote_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server", default=None, metavar="HOST:PORT",
                        help="with --engine remote: the `livepresenter serve` machine (default: remote.server in "
                             "config.toml)")
    parser.add_argument("--token-file", default=None, metavar="FILE",
                        help="with --engine remote: the file holding the server's token (default: remote.token_file "
                             "in config.toml; none on loopback)")
