"""What the face tracker hands to the engines: one observation per frame.

Coordinates are pixels in (x, y) order, float32. Images are HxWx3 uint8 RGB throughout the
package; BGR exists only at the OpenCV boundary (reading and writing files, cameras).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

STABLE_POINTS = np.array([0, 1, 2, 14, 15, 16, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 39, 42, 45])
"""iBUG-68 points (0-based) that expressions leave nearly in place: the upper face contour, the nose and the eye
corners. Brows, lids, lips and the chin are excluded so a smile or an open jaw is not read as head pose."""


def face_turn(landmarks: np.ndarray) -> float:
    """How far a face is turned to one side: where the nose tip (30) sits between the ends of the jaw outline (0,
    16), measured along the eye line so a tilted head is not read as turned; 0 frontal, +-1 nose on the outline
    (positive: turned towards the image's right)."""
    points = np.asarray(landmarks, dtype=np.float64)
    along = points[45] - points[36]
    along /= max(float(np.linalg.norm(along)), 1e-9)
    left, right = (points[30] - points[0]) @ along, (points[16] - points[30]) @ along
    return float((left - right) / max(left + right, 1e-9))


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
