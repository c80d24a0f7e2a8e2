"""`livepresenter eval`: measure re-enactment quality on real clips (self-reconstruction against a static baseline,
and with --presenter identity kept and mouth followed); prints markdown tables, and with --json one JSON object as
the last line."""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from livepresenter.evaluate import ClipEvaluation
    from livepresenter.presenter import Presenter

VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".m4v", ".mkv", ".avi", ".webm"})
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png"})
REPORT_NAME = "eval.md"
SHEET_NAME = "contact_sheet.png"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--driving", required=True, type=Path,
                        help="talking-head clip (frame 0 is the self-reconstruction source), or a folder of clips")
    parser.add_argument("--presenter", default=None,
                        help="portrait image or profile name, or a folder of portraits, for cross-identity scores")
    parser.add_argument("--engine", default="auto",
                        help="auto, landmark or fomm (default auto: fomm when a checkpoint is configured)")
    parser.add_argument("--checkpoint", default=None, help="FOMM checkpoint (as for render)")
    parser.add_argument("--fomm-config", default=None, help="official-style YAML for a non-vox-256 checkpoint")
    parser.add_argument("--max-frames", type=int, default=None, help="evaluate only the first N frames of each clip")
    parser.add_argument("--mouth-truth", type=Path, default=None, metavar="CLIP",
                        help="compare the portraits' mouths with this clip's lip opening instead of the driving "
                             "clip's (the clean clip a derived driver, e.g. a painted moustache, was made from)")
    parser.add_argument("--no-driver-checks", action="store_true",
                        help="skip the derived-driver checks (neutral, re-encoded, face shape), about a third of the "
                             "time with portraits")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object as the last line (flat for one clip and at most one portrait, "
                             "else {\"results\": [...]}, one record per clip and portrait)")
    parser.add_argument("--report", type=Path, default=None, metavar="DIR",
                        help=f"write DIR/{REPORT_NAME} and DIR/{SHEET_NAME} (needs --presenter)")
    parser.add_argument("--credit", action="append", default=[], metavar="TEXT",
                        help="credit line for the images shown in the report (repeatable)")


def run(args: argparse.Namespace) -> int:
    from livepresenter.errors import ConfigError
    from livepresenter.evaluate import EvalSettings, evaluate_clip
    from livepresenter.evaluate.report import markdown_report, records

    if args.max_frames is not None and args.max_frames < 1:
        raise ConfigError(f"--max-frames must be at least 1, got {args.max_frames}")
    if args.report is not None and args.presenter is None:
        raise ConfigError("--report needs --presenter: the contact sheet shows portraits driven by the clips")
    if args.report is not None and not args.report.is_dir():
        # Checked before the minutes of evaluation, not after.
        raise ConfigError(f"report folder {args.report} does not exist: create it or choose another --report")
    clips = _files(args.driving, VIDEO_SUFFIXES, "--driving", "video clips")
    presenters = _presenters(args.presenter)
    settings = EvalSettings(engine=args.engine, checkpoint=args.checkpoint, fomm_config=args.fomm_config,
                            max_frames=args.max_frames, driver_checks=not args.no_driver_checks,
                            mouth_truth=args.mouth_truth)
    evaluations = [evaluate_clip(clip, presenters, settings, keep_snapshots=args.report is not None)
                   for clip in clips]
    print(markdown_report(evaluations), end="")
    if args.report is not None:
        _write_report(args, evaluations)
    if args.json:
        results = [record for ev in evaluations for record in records(ev)]
        print(json.dumps(results[0] if len(results) == 1 else {"results": results}))
    return 0


def _files(path: Path, suffixes: frozenset[str], option: str, what: str) -> list[Path]:
    """`path` itself, or the files with one of `suffixes` in the folder `path`, sorted."""
    if not path.is_dir():
        return [path]
    found = sorted(p for p in path.iterdir() if p.suffix.lower() in suffixes and p.is_file())
    if not found:
        from livepresenter.errors import InputError

        raise InputError(f"{option} folder {path} holds no {what} ({', '.join(sorted(suffixes))}): give a file")
    return found


def _presenters(spec: str | None) -> list[Presenter]:
    from livepresenter.presenter import load_presenter

    if spec is None:
        return []
    return [load_presenter(str(p)) for p in _files(Path(spec).expanduser(), IMAGE_SUFFIXES, "--presenter", "images")]


def _write_report(args: argparse.Namespace, evaluations: list[ClipEvaluation]) -> None:
    from livepresenter.evaluate.contact_sheet import contact_sheet, write_png
    from livepresenter.evaluate.report import report_document

    folder: Path = args.report
    write_png(contact_sheet(evaluations, args.credit), folder / SHEET_NAME)
    document = report_document(evaluations, _command_line(args), _machine(), args.credit, SHEET_NAME)
    (folder / REPORT_NAME).write_text(document, encoding="utf-8")


def _command_line(args: argparse.Namespace) -> str:
    """The command that reproduces the report (shell-quoted)."""
    words = ["livepresenter", "eval", "--driving", str(args.driving), "--presenter", args.presenter,
             "--engine", args.engine]
    for option, value in (("--checkpoint", args.checkpoint), ("--fomm-config", args.fomm_config),
                          ("--max-frames", args.max_frames), ("--mouth-truth", args.mouth_truth)):
        if value is not None:
            words += [option, str(value)]
    if args.no_driver_checks:
        words.append("--no-driver-checks")
    words += ["--report", str(args.report)]
    for credit in args.credit:
        words += ["--credit", credit]
    return shlex.join(words)


def _machine() -> str:
    """CPU model and core count, e.g. '2-core AMD EPYC (Linux)'."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), model)
    except OSError:
        pass
    return f"{os.cpu_count()}-core {model} ({platform.system()})"
