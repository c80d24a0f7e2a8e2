"""`livepresenter bench fomm`: per-frame cost of every FOMM path this machine supports.

Full vox-256 networks with random weights whose BatchNorm statistics are calibrated on the
benchmark's own images (uncalibrated random networks saturate, which hides precision errors).
Each variant runs the animator as the live pipeline does (source cached) and is compared with
fp32 on the same frames; the variants take turns frame by frame, so timings taken on a shared,
noisy machine stay comparable. Needs only torch and numpy (openvino variants when installed).
"""

from __future__ import annotations

import copy
import statistics
import time

import numpy as np
import torch

from livepresenter.fomm.animator import Animator, supported_precisions
from livepresenter.fomm.checkpoint import FommModel
from livepresenter.fomm.random_weights import random_model, synthetic_frames


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


class Runner:
    """One variant, timed one frame at a time so that all variants can take turns (interleaved)."""

    def __init__(self, model: FommModel, precision: str, frames: list[np.ndarray]) -> None:
        self.animator = Animator(copy.deepcopy(model), precision=precision)
        self.animator.set_source(frames[0])
        self.animator.set_reference(frames[1])
        self.times: dict[str, list[float]] = {"ms_total": [], "ms_kp": [], "ms_generator": []}

    def predict(self, crop: np.ndarray) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """Keypoints and prediction of one frame (for the accuracy columns)."""
        kp = self.animator.keypoints(self.animator.to_tensor(crop))
        prediction = self.animator.generate(self.animator.normalized(kp))
        return {k: v.float().cpu() for k, v in kp.items()}, prediction.float().cpu()

    def step(self, crop: np.ndarray, record: bool) -> None:
        """Time one frame: the stages with a sync between them, and on a GPU the whole animate()
        call as the pipeline makes it (upload, no stage syncs, download; one CUDA graph if used)."""
        animator = self.animator
        times = {}
        if animator.device.type == "cuda":
            t0 = time.perf_counter()
            animator.animate(crop)
            times["ms_total"] = time.perf_counter() - t0
        if not animator.precision.cuda_graphs:
            _sync(animator.device)
            t0 = time.perf_counter()
            kp = animator.keypoints(animator.to_tensor(crop))
            _sync(animator.device)
            t1 = time.perf_counter()
            prediction = animator.generate(animator.normalized(kp))
            _sync(animator.device)
            t2 = time.perf_counter()
            animator.download(animator.to_pixels(prediction))
            times = {"ms_kp": t1 - t0, "ms_generator": t2 - t1, "ms_total": time.perf_counter() - t0, **times}
        if record:
            for key, seconds in times.items():
                self.times[key].append(seconds * 1e3)

    def stats(self) -> dict:
        return {key: statistics.median(values) if values else None for key, values in self.times.items()}


class UncachedRunner(Runner):
    """fp32 with the generator run whole every frame, as the official demo does."""

    def __init__(self, model: FommModel, frames: list[np.ndarray]) -> None:
        super().__init__(model, "fp32", frames)
        self.source = self.animator.to_tensor(frames[0])
        self.kp_source = self.animator.keypoints(self.source)

    def step(self, crop: np.ndarray, record: bool) -> None:
        animator = self.animator
        t0 = time.perf_counter()
        kp = animator.keypoints(animator.to_tensor(crop))
        t1 = time.perf_counter()
        with torch.inference_mode():
            animator.model.generator(self.source, kp_driving=animator.normalized(kp), kp_source=self.kp_source)
        t2 = time.perf_counter()
        if record:
            for key, ms in (("ms_kp", t1 - t0), ("ms_generator", t2 - t1), ("ms_total", t2 - t0)):
                self.times[key].append(ms * 1e3)


def run_benchmark(repeats: int = 10, threads: int | None = None, variants: list[str] | None = None,
                  progress=None, warmup: int = 2) -> dict:
    """Benchmark every supported variant, taking turns frame by frame (so a shared machine's load
    hits all alike); returns the JSON-able result the CLI prints. Medians over `repeats` rounds."""
    if threads:
        torch.set_num_threads(threads)
    frames = synthetic_frames(8)
    model = random_model(frames)
    names = list(dict.fromkeys(["fp32", *(variants or supported_precisions())]))
    runners: dict[str, Runner] = {}
    for name in names:
        if progress:
            progress(f"{name}: building")
        runners[name] = Runner(model, name, frames)
    if progress:
        progress("fp32_uncached: building")
    runners["fp32_uncached"] = UncachedRunner(model, frames)
    drive = frames[1:]
    reference = [runners["fp32"].predict(crop) for crop in drive]
    accuracy = {}
    for name, runner in runners.items():
        outputs = [runner.predict(crop) for crop in drive]
        pred = [(p - r).abs() for (_, p), (_, r) in zip(outputs, reference)]
        kp = [(k["value"] - r["value"]).abs().max() for (k, _), (r, _) in zip(outputs, reference)]
        accuracy[name] = {"max_abs_diff": max(float(d.max()) for d in pred),
                          "mean_abs_diff": float(torch.stack([d.mean() for d in pred]).mean()),
                          "kp_max_abs_diff": float(max(kp))}
    for i in range(warmup + repeats):
        if progress:
            progress(f"round {i + 1 - warmup}/{repeats}" if i >= warmup else "warm-up")
        for runner in runners.values():
            runner.step(drive[i % len(drive)], record=i >= warmup)
    results = {name: {**runner.stats(), **accuracy[name], "precision_used": runner.animator.precision.name}
               for name, runner in runners.items()}
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    return {"device": device, "threads": torch.get_num_threads(), "torch": torch.__version__,
            "repeats": repeats, "variants": results}


def format_table(result: dict) -> str:
    def ms(value: float | None) -> str:
        return f"{value:7.1f}" if value is not None else f"{'-':>7}"

    title = (f"FOMM vox-256, 256x256, batch 1, random weights — device {result['device']}, {result['threads']} "
             f"threads, torch {result['torch']}, median of {result['repeats']} interleaved rounds")
    header = (f"{'variant':<18} {'total ms':>9} {'fps':>6} {'kp ms':>7} {'gen ms':>7} {'max diff':>9} "
              f"{'mean diff':>10} {'kp diff':>9}")
    lines = [title, header]
    for name, v in result["variants"].items():
        used = "" if v["precision_used"] in (name, "fp32") else f"  (ran as {v['precision_used']})"
        lines.append(f"{name:<18} {v['ms_total']:9.1f} {1000 / v['ms_total']:6.1f} {ms(v['ms_kp'])} "
                     f"{ms(v['ms_generator'])} {v['max_abs_diff']:9.2e} {v['mean_abs_diff']:10.2e} "
                     f"{v['kp_max_abs_diff']:9.2e}{used}")
    return "\n".join(lines)
