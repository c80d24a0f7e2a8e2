"""FOMM networks with random weights that behave like trained ones, and images to drive them.

For what needs the model's shape and cost but no checkpoint: `bench fomm`, and `serve` started with only a config
(a server to measure, never one to present with). Uncalibrated random networks saturate, which hides precision
errors and makes the 2x2 jacobian inverses ill-conditioned.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from livepresenter.fomm.checkpoint import FommModel, build_models
from livepresenter.fomm.config import load_config


def synthetic_frames(count: int, size: int = 256, seed: int = 0) -> list[np.ndarray]:
    """A smooth textured image and `count` rotated/shifted/zoomed views of it (uint8 RGB)."""
    gen = torch.Generator().manual_seed(seed)
    coarse = torch.rand(1, 3, 12, 12, generator=gen)
    base = F.interpolate(coarse, size=(size * 2, size * 2), mode="bicubic", align_corners=False).clamp(0, 1)
    out = []
    for i in range(count):
        angle = math.radians(8 * math.sin(i / 3))
        zoom = 0.5 * (1 + 0.05 * math.cos(i / 4))
        theta = torch.tensor([[[zoom * math.cos(angle), -zoom * math.sin(angle), 0.05 * math.sin(i / 5)],
                               [zoom * math.sin(angle), zoom * math.cos(angle), 0.04 * math.cos(i / 6)]]])
        grid = F.affine_grid(theta, [1, 3, size, size], align_corners=False)
        view = F.grid_sample(base, grid, align_corners=False, padding_mode="reflection")
        out.append((view[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8))
    return out


def random_model(frames: list[np.ndarray], seed: int = 0, config: str | Path | None = None) -> FommModel:
    """Networks of `config` (None: vox-256) with random weights and BatchNorm statistics measured on `frames`."""
    torch.manual_seed(seed)
    config = load_config(config)
    kp_detector, generator = build_models(config)
    batch = torch.from_numpy(np.stack(frames[:4])).permute(0, 3, 1, 2).float() / 255
    for module in (*kp_detector.modules(), *generator.modules()):
        if isinstance(module, torch.nn.BatchNorm2d):
            module.reset_running_stats()
            module.momentum = None  # cumulative average over the calibration pass
    with torch.no_grad():
        # Like trained weights: jacobians near identity (the official init), so the 2x2 inverses
        # are well conditioned, and heatmaps neither flat nor one-hot.
        jacobian = kp_detector.jacobian
        jacobian.weight.mul_(0.05)
        jacobian.bias.copy_(torch.tensor([1.0, 0.0, 0.0, 1.0]).repeat(jacobian.bias.numel() // 4))
        kp_detector.train()
        generator.train()
        logits = kp_detector.kp(kp_detector.predictor(kp_detector.down(batch)))
        kp_detector.kp.weight.div_(logits.std() / 0.3)
        kp_detector.kp.bias.zero_()
        kp = kp_detector(batch)
        generator(batch.roll(1, 0), kp_driving=kp, kp_source=kp_detector(batch.roll(1, 0)))
    return FommModel(kp_detector.eval(), generator.eval(), config)
