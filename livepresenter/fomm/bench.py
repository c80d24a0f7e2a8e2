"""`livepresenter bench fomm`: per-frame cost of every FOMM path this machine supports.

Full vox-256 networks with random weights whose BatchNorm statistics are calibrated on the
benchmark's own images (uncalibrated random networks saturate, which hides precision errors).
Each variant runs the animator as the live pipeline does (source cached) and is compared with
fp32 on the same frames. Needs only torch and numpy.
"""

from __future__ import annotations

import copy
import math
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

from livepresenter.fomm.animator import Animator, supported_precisions
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


def random_model(frames: list[np.ndarray], seed: int = 0) -> FommModel:
    """vox-256 networks with random weights and BatchNorm statistics measured on `frames`."""
    torch.manual_seed(seed)
    config = load_config(None)
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


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def time_variant(model: FommModel, precision: str, frames: list[np.ndarray], repeats: int,
                 warmup: int = 2) -> tuple[dict, list[torch.Tensor]]:
    """Median ms for keypoints, generator and the whole animate(); predictions of the first frames."""
    animator = Animator(copy.deepcopy(model), precision=precision)
    animator.set_source(frames[0])
    animator.set_reference(frames[1])
    kp_ms, gen_ms, total_ms, predictions = [], [], [], []
    drive = frames[1:]
    for i in range(warmup + repeats):
        crop = drive[i % len(drive)]
        _sync(animator.device)
        t0 = time.perf_counter()
        kp = animator.keypoints(animator.to_tensor(crop))
        _sync(animator.device)
        t1 = time.perf_counter()
        prediction = animator.generate(animator.normalized(kp))
        _sync(animator.device)
        t2 = time.perf_counter()
        animator.to_image(prediction)
        t3 = time.perf_counter()
        if i >= warmup:
            kp_ms.append((t1 - t0) * 1e3)
            gen_ms.append((t2 - t1) * 1e3)
            total_ms.append((t3 - t0) * 1e3)
        if i < len(drive):
            predictions.append(prediction.float().cpu())
    stats = {"ms_total": statistics.median(total_ms), "ms_kp": statistics.median(kp_ms),
             "ms_generator": statistics.median(gen_ms)}
    return stats, predictions


def time_uncached(model: FommModel, frames: list[np.ndarray], repeats: int, warmup: int = 2) -> dict:
    """fp32 with the generator run whole every frame, as the official demo does."""
    animator = Animator(copy.deepcopy(model))
    source = animator.to_tensor(frames[0])
    kp_source = animator.keypoints(source)
    reference = animator.keypoints(animator.to_tensor(frames[1]))
    from livepresenter.fomm.keypoints import normalize_kp

    kp_ms, gen_ms = [], []
    for i in range(warmup + repeats):
        t0 = time.perf_counter()
        kp = animator.keypoints(animator.to_tensor(frames[1 + i % (len(frames) - 1)]))
        t1 = time.perf_counter()
        with torch.inference_mode():
            norm = normalize_kp(kp_source, kp, reference, adapt_movement_scale=True,
                                use_relative_movement=True, use_relative_jacobian=True)
            animator.model.generator(source, kp_driving=norm, kp_source=kp_source)
        t2 = time.perf_counter()
        if i >= warmup:
            kp_ms.append((t1 - t0) * 1e3)
            gen_ms.append((t2 - t1) * 1e3)
    return {"ms_total": statistics.median(kp_ms) + statistics.median(gen_ms),
            "ms_kp": statistics.median(kp_ms), "ms_generator": statistics.median(gen_ms)}


def run_benchmark(repeats: int = 10, threads: int | None = None, variants: list[str] | None = None,
                  progress=None) -> dict:
    """Benchmark every supported variant; returns the JSON-able result the CLI prints."""
    if threads:
        torch.set_num_threads(threads)
    frames = synthetic_frames(8)
    model = random_model(frames)
    names = variants or supported_precisions()
    if "fp32" not in names:
        names = ["fp32", *names]
    results: dict[str, dict] = {}
    reference: list[torch.Tensor] = []
    for name in names:
        if progress:
            progress(name)
        stats, predictions = time_variant(model, name, frames, repeats)
        if name == "fp32":
            reference = predictions
        diffs = [(p - r).abs() for p, r in zip(predictions, reference)]
        stats["max_abs_diff"] = max(float(d.max()) for d in diffs)
        stats["mean_abs_diff"] = float(torch.stack([d.mean() for d in diffs]).mean())
        results[name] = stats
    if progress:
        progress("fp32_uncached")
    results["fp32_uncached"] = {**time_uncached(model, frames, max(3, repeats // 2)),
                                "max_abs_diff": 0.0, "mean_abs_diff": 0.0}
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    return {"device": device, "threads": torch.get_num_threads(), "torch": torch.__version__,
            "repeats": repeats, "variants": results}


def format_table(result: dict) -> str:
    lines = [f"FOMM vox-256, 256x256, batch 1, random weights — device {result['device']}, "
             f"{result['threads']} threads, torch {result['torch']}, median of {result['repeats']}",
             f"{'variant':<20} {'total ms':>9} {'fps':>6} {'kp ms':>7} {'gen ms':>7} {'max diff':>9} {'mean diff':>10}"]
    for name, v in result["variants"].items():
        lines.append(f"{name:<20} {v['ms_total']:9.1f} {1000 / v['ms_total']:6.1f} {v['ms_kp']:7.1f} "
                     f"{v['ms_generator']:7.1f} {v['max_abs_diff']:9.2e} {v['mean_abs_diff']:10.2e}")
    return "\n".join(lines)
