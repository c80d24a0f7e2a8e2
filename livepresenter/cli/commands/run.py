"""`livepresenter run`: the live presenter (webcam → face → engine → virtual camera), controlled over its
local control socket (livepresenter.control) by the CLI verbs and the tray."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from livepresenter.cli.remote_options import add_remote_arguments

log = logging.getLogger("livepresenter")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--presenter", default="grace_hopper", help="profile name or portrait image (default grace_hopper)")
    parser.add_argument("--source", default="0", help="camera index, device path or video file (default 0)")
    parser.add_argument("--engine", default="auto",
                        help="auto, landmark, fomm or remote (auto: fomm when a checkpoint is configured)")
    parser.add_argument("--checkpoint", default=None, help="FOMM checkpoint (vox-cpk.pth.tar)")
    parser.add_argument("--precision", default="auto",
                        help="FOMM precision: auto (the fastest accurate path here) or a name from `bench fomm`")
    parser.add_argument("--fomm-config", default=None, help="official-style YAML for a non-vox-256 checkpoint")
    add_remote_arguments(parser)
    parser.add_argument("--size", default="1280x720", help="output size WIDTHxHEIGHT (default 1280x720)")
    parser.add_argument("--fps", type=float, default=None, help="cap the output rate (default: the source's rate)")
    parser.add_argument("--no-vcam", action="store_true", help="do not open the virtual camera")
    parser.add_argument("--preview", action="store_true", help="show a preview window with fps and controls")
    parser.add_argument("--max-seconds", type=float, default=None, help="stop cleanly after N seconds")
    parser.add_argument("--stats-json", type=Path, default=None, help="write frame and latency statistics on exit")
    parser.add_argument("--no-label", action="store_true", help="do not draw the 'AI re-enactment' disclosure label")
    parser.add_argument("--record", type=Path, default=None, metavar="OUT.mp4",
                        help="record the output with sound (H.264 + AAC MP4) from the start")
    parser.add_argument("--force", action="store_true",
                        help="let --record replace an existing file (never one this run reads: portrait, --source...)")
    parser.add_argument("--audio-source", default=None, metavar="DEVICE_OR_FILE",
                        help="sound for recordings: a microphone's index or part of its name (default: the default "
                             "microphone; python -m sounddevice lists them), or an audio/video file played as if live")
    parser.add_argument("--realface", action="store_true", help="start showing your real face instead of the presenter")


def settings_from(args: argparse.Namespace):
    from livepresenter.config import parse_size
    from livepresenter.pipeline.orchestrator import LiveSettings

    return LiveSettings(presenter=args.presenter, source=args.source, engine=args.engine, checkpoint=args.checkpoint,
                        fomm_config=args.fomm_config, precision=args.precision, server=args.server,
                        token_file=args.token_file,
                        size=parse_size(args.size), fps=args.fps, vcam=not args.no_vcam, label=not args.no_label,
                        max_seconds=args.max_seconds, record=args.record, overwrite=args.force,
                        audio_source=args.audio_source)


def report(summary: dict, stats_json: Path | None) -> None:
    latency = (f"latency p50 {summary['latency_ms']['p50']:.0f} ms / p95 {summary['latency_ms']['p95']:.0f} ms"
               if summary["frames_captured"] else "no camera frames (idle motion), so no capture latency")
    print(f"livepresenter: {summary['frames_output']} frames sent at {summary['fps_output']:.1f} fps, {latency}, "
          f"{summary['frames_dropped']} dropped ({summary['engine']}, {summary['presenter']})", file=sys.stderr)
    if stats_json is not None:
        stats_json.write_text(json.dumps(summary, indent=2) + "\n")


def run(args: argparse.Namespace) -> int:
    from livepresenter.daemon import run_daemon

    report(run_daemon(settings_from(args), realface=args.realface, preview=args.preview), args.stats_json)
    return 0
