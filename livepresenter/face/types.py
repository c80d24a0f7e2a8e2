"""The face types every stage passes on: a face found in an image, a square crop, and the tracker's result for one
frame.

Coordinates are pixels in (x, y) order, float32. Images are HxWx3 uint8 RGB throughout the
package; BGR exists only at the OpenCV boundary (reading and writing files, cameras).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Face:
    """One face found in one image.

    box: detector box (x0, y0, x1, y1) in image pixels.
    landmarks: (68, 2) float32, dlib/iBUG-68 order (0-based), image pixels.
    score: detector confidence (higher is better; dlib HOG scores, about 0.3 and up for real faces).
    """

    box: tuple[float, float, float, float]
    landmarks: np.ndarray
    score: float


@dataclass(frozen=True)
class CropBox:
    """A square crop in image pixels: centre (cx, cy) and side length."""

    cx: float
    cy: float
    side: float


@dataclass(frozen=True)
class TrackedFace:
    """The tracker's result for one driving frame.

    index: frame number in the stream.
    face: the face in full-frame pixels, or None when no face was found in this frame.
    crop_box: the smoothed square crop (held at the last good position when the face is lost).
    crop: the crop resampled to the engines' size (default 256x256), HxWx3 uint8 RGB.
    crop_landmarks: (68, 2) float32 landmarks in crop pixels, or None when no face.
    """

    index: int
    face: Face | None
    crop_box: CropBox
    crop: np.ndarray
    crop_landmarks: np.ndarray | None

    @property
    def found(self) -> bool:
        return self.face is not None
