"""`livepresenter train`: fine-tune FOMM on your own videos; prints the before/after evaluation, and with --json one
JSON object as the last line."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from livepresenter.training import TrainResult


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--videos", required=True, nargs="+", type=Path, metavar="DIR_OR_FILE",
                        help="videos of your face (files, or folders holding them)")
    parser.add_argument("--out", required=True, type=Path, help="checkpoint to write, e.g. my-fomm.pth.tar")
    start = parser.add_mutually_exclusive_group()
    start.add_argument("--init", default=None,
                       help="checkpoint to fine-tune (default: the configured one, $LIVEPRESENTER_FOMM_CHECKPOINT or "
                            "fomm.checkpoint in config.toml; without one, training starts from scratch)")
    start.add_argument("--scratch", action="store_true", help="train from random weights even if a checkpoint is "
                                                               "configured")
    parser.add_argument("--config", default=None,
                        help="official-style YAML (networks and train_params; default vox-256, or vox-adv-256)")
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--epochs", type=int, default=None,
                        help="epochs of num_repeats pairs per training video (default: the config's num_epochs)")
    length.add_argument("--steps", type=int, default=None, help="optimisation steps in all (instead of --epochs)")
    parser.add_argument("--batch", type=int, default=None, help="pairs per step (default: the config's batch_size)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                        help="auto (default): the GPU when torch sees one, else the CPU")
    again = parser.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true", help="continue training --out from its last checkpoint")
    again.add_argument("--force", action="store_true", help="train a new --out over an existing one")
    parser.add_argument("--vgg19", type=Path, default=None,
                        help="torchvision's vgg19-dcbb9e9d.pth for the perceptual loss (default: train.vgg19 in "
                             "config.toml; without it an image-pyramid L1 loss is used)")
    parser.add_argument("--adv", action="store_true",
                        help="also train the discriminator and its GAN losses (as vox-adv-256)")
    parser.add_argument("--frames", type=Path, default=None, metavar="DIR",
                        help="where the face crops are cached (default: OUT's name + '-frames', beside it)")
    parser.add_argument("--eval-frames", type=int, default=100,
                        help="frames per test video for the before/after evaluation (0: no evaluation)")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")


def run(args: argparse.Namespace) -> int:
    from livepresenter.config import resolve_checkpoint
    from livepresenter.training import TrainSettings, train

    settings = TrainSettings(
        videos=tuple(args.videos), out=args.out,
        init=None if args.scratch else resolve_checkpoint(args.init),
        config=args.config, epochs=args.epochs, steps=args.steps, batch=args.batch, device=args.device,
        resume=args.resume, force=args.force, vgg19=args.vgg19 or configured_vgg19(), adv=args.adv,
        frames_dir=args.frames, eval_frames=args.eval_frames,
    )
    result = train(settings)
    print(summary(result), end="")
    if args.json:
        print(json.dumps(result.to_json()))
    return 0


def configured_vgg19() -> Path | None:
    """`train.vgg19` in config.toml (relative to the config folder), or None."""
    from livepresenter.config import configured_path

    return configured_path("train", "vgg19")


def summary(result: TrainResult) -> str:
    """What was written, the loss, and the evaluation before and after as a markdown table."""
    frames = result.frames
    skipped = f", {len(frames.skipped)} skipped" if frames.skipped else ""
    lines = [f"checkpoint: {result.checkpoint} ({result.steps} steps on {result.device})",
             (f"videos: {len(frames.train)} for training, {len(frames.test)} held back for the test{skipped} "
              f"(face crops in {frames.root})"),
             f"loss curve: {result.loss_curve}"]
    if result.loss_first is not None and result.loss_last is not None:
        lines.append(f"loss: {result.loss_first:.4g} at the start, {result.loss_last:.4g} at the end")
    if result.eval_result is not None:
        lines += ["", "| self-reconstruction, test videos | L1 | AKD (px) | AED | frames without a face out |",
                  "|---|---:|---:|---:|---:|"]
        for name, scores in (("start (--init)", result.eval_init), ("result", result.eval_result)):
            if scores is not None:
                lines.append(f"| {name} | {_number(scores['l1'])} | {_number(scores['akd'])} | "
                             f"{_number(scores['aed'])} | {scores['missing_faces']} of {scores['frames']} |")
    return "\n".join(lines) + "\n"


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"
