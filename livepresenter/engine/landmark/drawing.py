"""Smooth curves through landmarks and anti-aliased masks: what the mouth and lid painters draw with."""

from __future__ import annotations

import cv2
import numpy as np

# Curve points per landmark-to-landmark segment.
_SUBDIVISIONS = 6


def _catmull_rom(points: np.ndarray, closed: bool) -> np.ndarray:
    """Smooth curve through the points, so that 8 inner-lip landmarks give a round mouth and 4 a round lid."""
    p = np.vstack([points[-1:], points, points[:2]]) if closed else np.vstack(
        [points[:1], points, points[-1:]]
    )
    t = np.linspace(0.0, 1.0, _SUBDIVISIONS, endpoint=False)[:, None]
    segments = len(points) if closed else len(points) - 1
    out = []
    for i in range(segments):
        p0, p1, p2, p3 = p[i], p[i + 1], p[i + 2], p[i + 3]
        out.append(
            0.5
            * (
                2 * p1
                + (p2 - p0) * t
                + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2
                + (3 * p1 - p0 - 3 * p2 + p3) * t**3
            )
        )
    if not closed:
        out.append(points[-1:])
    return np.vstack(out)


def closed_curve(points: np.ndarray) -> np.ndarray:
    """Smooth closed curve through (N, 2) points (an outline)."""
    return _catmull_rom(points.astype(np.float64), closed=True)


def open_curve(points: np.ndarray) -> np.ndarray:
    """Smooth curve from the first to the last of (N, 2) points (a lip or lid edge)."""
    return _catmull_rom(points.astype(np.float64), closed=False)


def soft_mask(shape: tuple[int, int], polygon: np.ndarray, feather: float) -> np.ndarray:
    """Anti-aliased polygon mask in [0, 1], float32, blurred by `feather` pixels."""
    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.round(polygon * 16).astype(np.int32)], 255, cv2.LINE_AA, shift=4)
    soft = mask.astype(np.float32) / 255.0
    return cv2.GaussianBlur(soft, (0, 0), feather)


def polygon_mask(shape: tuple[int, int], polygon: np.ndarray) -> np.ndarray:
    """Boolean mask of the filled polygon ((N, 2) image pixels, rounded to whole pixels)."""
    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.round(polygon).astype(np.int32)], 1)
    return mask.astype(bool)
