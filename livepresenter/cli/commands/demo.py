"""`livepresenter demo`: the product working out of the box, with no webcam, GPU, checkpoint or network.

The bundled presenter and the landmark engine, driven by camera 0 when there is one and by idle
motion otherwise; streams to the virtual camera when one exists and always writes demo.mp4.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

log = logging.getLogger("livepresenter")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the demo (default 10)")
    parser.add_argument("--output", type=Path, default=Path("demo.mp4"), help="video to write (default demo.mp4)")
    parser.add_argument("--presenter", default="grace_hopper", help="profile name or portrait image")
    parser.add_argument("--source", default="0", help="camera index or video file (default 0; idle motion without one)")
    parser.add_argument("--preview", action="store_true", help="show a preview window")
    parser.add_argument("--force", action="store_true",
                        help="replace --output even when it is not a video an earlier demo wrote")


def run(args: argparse.Namespace) -> int:
    from livepresenter.capture.source import FrameSource
    from livepresenter.cli.commands.run import report
    from livepresenter.daemon import run_live
    from livepresenter.errors import DeviceError, OutputError
    from livepresenter.pipeline.orchestrator import LiveSettings, Orchestrator
    from livepresenter.sinks.recorder import is_synthetic_recording

    source: str | None = args.source
    try:
        FrameSource(args.source).close()
    except DeviceError as exc:
        log.info("%s — driving the presenter with idle motion instead", exc)
        source = None
    # demo.mp4 is recorded like every recording (provenance tags, sound when there is a microphone); a demo run
    # again replaces its own last video, but nothing else.
    overwrite = args.force or (args.output.is_file() and is_synthetic_recording(args.output))
    settings = LiveSettings(presenter=args.presenter, source=source, engine="landmark", max_seconds=args.seconds,
                            record=args.output, overwrite=overwrite)
    orchestrator = Orchestrator(settings)
    report(run_live(orchestrator, args.preview), None)
    recorded = orchestrator.recordings.finished
    if recorded is None or recorded.failed:
        raise OutputError(f"{args.output} was not written (see the message above): choose another --output")
    print(f"livepresenter: wrote {args.output} ({recorded.frames_written} frames)")
    return 0
