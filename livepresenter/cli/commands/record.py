"""`livepresenter record start [PATH] [--force] | stop`: record what the running daemon streams."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # One subcommand each: argparse cannot take `start --force PATH` when PATH is an optional positional beside the
    # action, and `stop` takes nothing.
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    start = actions.add_parser("start", help="start recording", description="start recording")
    start.add_argument("path", nargs="?", type=Path, default=None,
                       help="file to record to (default: a new file the daemon names in your Videos folder)")
    start.add_argument("--force", action="store_true",
                       help="replace PATH if it exists (never a file the daemon reads: portrait, --source...)")
    actions.add_parser("stop", help="stop recording", description="stop recording and finish the file")


def run(args: argparse.Namespace) -> int:
    from livepresenter.control.client import request
    from livepresenter.errors import ConfigError

    if args.action == "stop":
        saved = request("record", action="stop")["path"]
        print(f"saved {saved}" if saved else "not recording")
        return 0
    if args.force and args.path is None:
        raise ConfigError("record start --force needs a PATH: a file the daemon names is always a new one")
    path = str(args.path.expanduser().resolve()) if args.path is not None else None  # the daemon's cwd differs
    print(f"recording to {request('record', action='start', path=path, overwrite=args.force)['path']}")
    return 0
