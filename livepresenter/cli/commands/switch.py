"""`livepresenter switch NAME_OR_IMAGE`: put another presenter on air in the running daemon, without a glitch."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("presenter", help="profile name (see `livepresenter profiles list`) or portrait image")


def daemon_path(spec: str) -> str:
    """An image file as an absolute path (the daemon runs in another folder); anything else unchanged."""
    path = Path(spec).expanduser()
    return str(path.resolve()) if path.is_file() else spec


def run(args: argparse.Namespace) -> int:
    from livepresenter.control.client import SWITCH_TIMEOUT_S, request

    answer = request("switch", presenter=daemon_path(args.presenter), timeout_s=SWITCH_TIMEOUT_S)
    print(f"on air: {answer['presenter']}")
    return 0
