"""The loss curve PNG: each loss term per step (a running mean over the noise of single batches) on a log scale,
drawn with OpenCV so that training needs no plotting library."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

from livepresenter.errors import OutputError

__all__ = ["running_mean", "write_loss_curve"]

WIDTH, HEIGHT = 800, 420
_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 190, 34, 44
_COLOURS = {  # BGR
    "total": (30, 30, 30),
    "perceptual": (180, 110, 30),
    "pyramid_l1": (180, 110, 30),
    "equivariance_value": (30, 130, 240),
    "equivariance_jacobian": (60, 160, 60),
    "generator_gan": (160, 60, 160),
    "feature_matching": (60, 60, 200),
    "discriminator": (140, 140, 40),
}
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def running_mean(values: list[float], window: int) -> np.ndarray:
    """Mean of each value and the `window - 1` before it (fewer at the start)."""
    data = np.asarray(values, dtype=np.float64)
    sums = np.cumsum(np.concatenate([[0.0], data]))
    ends = np.arange(1, len(data) + 1)
    starts = np.maximum(0, ends - window)
    return (sums[ends] - sums[starts]) / (ends - starts)


def write_loss_curve(losses: dict[str, list[float]], path: Path, title: str, first_step: int = 1) -> None:
    """Draw every term of `losses` (equal-length per-step lists, `total` among them) into a PNG at `path`."""
    steps = len(next(iter(losses.values()), []))
    image = np.full((HEIGHT, WIDTH, 3), 255, np.uint8)
    cv2.putText(image, title, (_LEFT, 22), _FONT, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    x0, x1, y0, y1 = _LEFT, WIDTH - _RIGHT, _TOP, HEIGHT - _BOTTOM
    cv2.rectangle(image, (x0, y0), (x1, y1), (0, 0, 0), 1)
    window = max(1, steps // 25)
    curves = {name: running_mean(values, window) for name, values in losses.items() if len(values) == steps}
    positive = np.concatenate([c[c > 0] for c in curves.values()]) if curves else np.array([])
    if steps and positive.size:
        low, high = math.log10(positive.min()), math.log10(positive.max())
        if high - low < 0.3:
            low, high = low - 0.15, high + 0.15

        def to_y(value: np.ndarray) -> np.ndarray:
            return y1 - (np.log10(np.maximum(value, 10 ** low)) - low) / (high - low) * (y1 - y0)

        def to_x(index: np.ndarray) -> np.ndarray:
            return x0 + index / max(1, steps - 1) * (x1 - x0)

        for tick in _log_ticks(low, high):
            y = round(float(to_y(np.array(tick))))
            cv2.line(image, (x0, y), (x1, y), (225, 225, 225), 1)
            cv2.putText(image, f"{tick:g}", (4, y + 4), _FONT, 0.38, (60, 60, 60), 1, cv2.LINE_AA)
        for fraction in np.linspace(0, 1, 5):
            index = round(fraction * (steps - 1))
            x = round(float(to_x(np.array(index))))
            cv2.line(image, (x, y1), (x, y1 + 4), (0, 0, 0), 1)
            label = str(first_step + index)
            cv2.putText(image, label, (x - 4 * len(label), y1 + 18), _FONT, 0.38, (60, 60, 60), 1, cv2.LINE_AA)
        cv2.putText(image, f"step (running mean of {window})" if window > 1 else "step", ((x0 + x1) // 2 - 60,
                    HEIGHT - 8), _FONT, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
        for row, (name, curve) in enumerate(curves.items()):
            colour = _COLOURS.get(name, (120, 120, 120))
            points = np.stack([to_x(np.arange(steps)), to_y(curve)], axis=1).round().astype(np.int32)
            cv2.polylines(image, [points], False, colour, 2 if name == "total" else 1, cv2.LINE_AA)
            cv2.line(image, (x1 + 12, y0 + 12 + 18 * row), (x1 + 32, y0 + 12 + 18 * row), colour, 2)
            cv2.putText(image, name, (x1 + 38, y0 + 16 + 18 * row), _FONT, 0.38, (0, 0, 0), 1, cv2.LINE_AA)
    if not cv2.imwrite(str(path), image, [cv2.IMWRITE_PNG_COMPRESSION, 9]):
        raise OutputError(f"cannot write the loss curve {path}: check that its folder is writable")


def _log_ticks(low: float, high: float) -> list[float]:
    """1, 2, 5 times powers of ten within [10^low, 10^high] (decades alone when that gives too many)."""
    ticks = [m * 10.0 ** e for e in range(math.floor(low), math.ceil(high) + 1) for m in (1, 2, 5)]
    inside = [t for t in ticks if low <= math.log10(t) <= high]
    return inside if len(inside) <= 10 else [t for t in inside if math.log10(t).is_integer()]
