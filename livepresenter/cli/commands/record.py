"""`livepresenter record start [PATH] | stop`: record what the running daemon streams."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["start", "stop"], help="start or stop recording")
    parser.add_argument("path", nargs="?", type=Path, default=None,
                        help="file to record to (start only; default: the daemon chooses one)")


def run(args: argparse.Namespace) -> int:
    from livepresenter.control.client import request
    from livepresenter.errors import ConfigError

    if args.action == "stop":
        if args.path is not None:
            raise ConfigError("record stop takes no PATH: the daemon stops the recording it is making")
        saved = request("record", action="stop")["path"]
        print(f"saved {saved}" if saved else "not recording")
        return 0
    path = str(args.path.expanduser().resolve()) if args.path is not None else None  # the daemon's cwd differs
    print(f"recording to {request('record', action='start', path=path)['path']}")
    return 0
