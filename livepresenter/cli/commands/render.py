"""`livepresenter render`: re-enact a driving video offline into an MP4 (H.264, the driving video's audio kept)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from livepresenter.cli.remote_options import add_remote_arguments

log = logging.getLogger("livepresenter")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--presenter", required=True, help="portrait image or profile name")
    parser.add_argument("--driving", required=True, type=Path, help="video of the face that drives the portrait")
    parser.add_argument("--output", required=True, type=Path, help="MP4 file to write")
    parser.add_argument("--force", action="store_true",
                        help="replace --output if it exists (never one of the render's inputs)")
    parser.add_argument("--engine", default="auto",
                        help="auto, landmark, fomm or remote (default auto: fomm when a checkpoint is configured)")
    parser.add_argument("--checkpoint", default=None,
                        help="FOMM checkpoint (default: $LIVEPRESENTER_FOMM_CHECKPOINT, then fomm.checkpoint in "
                             "config.toml)")
    parser.add_argument("--fomm-config", default=None, help="official-style YAML for a non-vox-256 checkpoint")
    add_remote_arguments(parser)
    parser.add_argument("--layout", default="stage",
                        help="stage (the live camera's frame, default) or portrait (the portrait alone)")
    parser.add_argument("--size", default="1280x720", help="stage size WIDTHxHEIGHT (default 1280x720)")
    parser.add_argument("--no-label", action="store_true", help="do not draw the 'AI re-enactment' disclosure label")


def run(args: argparse.Namespace) -> int:
    from livepresenter.config import parse_size
    from livepresenter.errors import PartialInputError
    from livepresenter.render import RenderSettings, render_video

    settings = RenderSettings(engine=args.engine, checkpoint=args.checkpoint, fomm_config=args.fomm_config,
                              server=args.server, token_file=args.token_file,
                              layout=args.layout, size=parse_size(args.size), label=not args.no_label)
    result = render_video(args.presenter, args.driving, args.output, settings, overwrite=args.force)
    width, height = result.size
    log.info("wrote %s: %d frames, %dx%d at %.6g fps, %s, %s engine, in %.1f s (%.1f frames/s)",
             result.output, result.frames, width, height, result.fps,
             "audio kept" if result.has_audio else "no audio", result.engine, result.elapsed_s,
             result.frames / result.elapsed_s)
    if result.frames_without_face:
        log.warning("%d of %d driving frames had no face; the last good pose was held over them",
                    result.frames_without_face, result.frames)
    if result.cut_short:
        raise PartialInputError(result.cut_short)
    return 0
