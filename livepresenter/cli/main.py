"""Command-line entry point.

`main()` parses arguments and turns known errors into one line and an exit status; `program()`
runs the chosen command and holds no error handling. Subcommands are data: each row of COMMANDS
names a module under `livepresenter.cli.commands` with `add_arguments(parser)` and
`run(args) -> int`. Modules are imported only when their command runs, so `bench` works on a
machine that has only torch, numpy, scipy and PyYAML.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from livepresenter import __version__
from livepresenter.errors import ExitStatus, LivepresenterError
from livepresenter.library_logs import quiet_libraries

PROG = "livepresenter"

# name -> (module under livepresenter.cli.commands, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("demo", "see it work: the bundled presenter, no webcam or weights needed; writes demo.mp4"),
    "run": ("run", "the live presenter: webcam → figure → virtual camera"),
    "render": ("render", "re-enact a driving video offline into an MP4, its audio kept"),
    "bench": ("bench", "measure engine speed and render memory (bench fomm | landmark | render | serve)"),
    "eval": ("eval", "measure re-enactment quality on real clips (L1, AKD, AED, identity, mouth)"),
    "serve": ("serve", "serve FOMM to lecturers' laptops from one GPU machine (Triton); they run --engine remote"),
    "train": ("train", "fine-tune FOMM on your own videos (checkpoint, loss curve, evaluation before and after)"),
    "profiles": ("profiles", "presenter profiles: list, add, show, remove"),
    "studio": ("studio", "a window to make a lecture video as the figure: presenter, video, generate, watch"),
    "tray": ("tray", "tray icon to drive the daemon (starts one if none runs)"),
    "status": ("status", "what the running daemon is doing (presenter, engine, fps, latency, recording, vcam)"),
    "switch": ("switch", "put another presenter on air without a glitch (profile name or image)"),
    "record": ("record", "record start [PATH] | record stop"),
    "realface": ("realface", "realface on|off: stream your own face instead of the presenter"),
    "pause": ("verbs", "the presenter idles and stops following your face"),
    "resume": ("verbs", "the presenter follows your face again"),
    "reset": ("verbs", "pick the neutral reference pose again from the next seconds"),
    "quit": ("verbs", "stop the running daemon cleanly"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Teach live as a historical figure.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show tracebacks, debug logging and the libraries' own log lines (OpenCV, FFmpeg, Qt)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, (module_name, help_text) in COMMANDS.items():
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        _command_module(module_name).add_arguments(command_parser)
        command_parser.set_defaults(_module=module_name)
    return parser


def _command_module(module_name: str):
    return importlib.import_module(f"livepresenter.cli.commands.{module_name}")


def program(args: argparse.Namespace) -> int:
    return int(_command_module(args._module).run(args) or 0)


def main(argv: Sequence[str] | None = None) -> int:
    """The console script: one line and an exit status for every failure, a closed stdout included."""
    try:
        try:
            return _main(argv)
        finally:
            sys.stdout.flush()  # a reader that went away shows here (argparse's --help too), not at exit
    except BrokenPipeError:
        _discard_stdout()
        return ExitStatus.BROKEN_PIPE


def _main(argv: Sequence[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    quiet_libraries(debug)
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s" if debug else f"{PROG}: %(message)s",
    )
    args = build_parser().parse_args(argv)
    try:
        return program(args)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return ExitStatus.INTERRUPTED
    except LivepresenterError as exc:
        if debug:
            raise
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return exc.exit_status


def _discard_stdout() -> None:
    """Point stdout at the null device, so that the interpreter's last flush at exit does not fail again
    (the recipe in Python's documentation of SIGPIPE)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
