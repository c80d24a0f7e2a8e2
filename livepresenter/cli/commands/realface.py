"""`livepresenter realface on|off`: show your own face instead of the presenter (and back)."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("state", choices=["on", "off"], help="on: stream your real face; off: the presenter")


def run(args: argparse.Namespace) -> int:
    from livepresenter.control.client import request

    request("realface", on=args.state == "on")
    print(f"real face {args.state}")
    return 0
