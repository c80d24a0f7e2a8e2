"""`livepresenter reset | pause | resume | quit`: one-word controls of the running daemon."""

from __future__ import annotations

import argparse

# command -> what is printed once the daemon has done it
DONE = {
    "reset": "picking the reference pose again from the next seconds: sit as you normally do",
    "pause": "paused: the presenter idles until `livepresenter resume`",
    "resume": "resumed: the presenter follows your face again",
    "quit": "the daemon is stopping",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """These verbs take no arguments."""


def run(args: argparse.Namespace) -> int:
    from livepresenter.control.client import request

    request(args.command)
    print(DONE[args.command])
    return 0
