"""iBUG-68 face geometry: the named point sets and the measures that the tracker, the engines, idle motion and
the evaluation share, so each idea is defined once.

Landmarks are (68, 2) arrays of (x, y) pixels in dlib/iBUG-68 order, 0-based. "Left" and "right" are the image's.
Sizes are measured in outer-eye-corner distances (`eye_distance`), which neither resolution nor expression changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "CLOSING_PAIRS",
    "FRAMING_POINTS",
    "INNER_LIPS",
    "INNER_LIP_PAIRS",
    "JAW",
    "LEFT_EYE",
    "LIDS",
    "LOWER_LIDS",
    "MOUTH",
    "OUTER_LIPS",
    "RIGHT_EYE",
    "STABLE_POINTS",
    "UPPER_LIDS",
    "Affine",
    "centroid_and_radius",
    "eye_distance",
    "face_down",
    "face_scale",
    "face_turn",
    "fit_affine",
    "fit_similarity",
    "jittered_box",
    "lip_opening",
    "lower_jaw",
]

JAW = np.arange(0, 17)
LEFT_EYE, RIGHT_EYE = np.arange(36, 42), np.arange(42, 48)
OUTER_LIPS, INNER_LIPS = np.arange(48, 60), np.arange(60, 68)
MOUTH = np.arange(48, 68)
NOSE_BRIDGE = np.arange(27, 31)
UPPER_LIDS, LOWER_LIDS = np.array([37, 38, 43, 44]), np.array([41, 40, 47, 46])  # in matching order
LIDS = np.sort(np.r_[UPPER_LIDS, LOWER_LIDS])

CLOSING_PAIRS = np.array([(61, 67), (62, 66), (63, 65), (37, 41), (38, 40), (43, 47), (44, 46)])
"""(upper, lower) pairs that meet when the mouth or an eye closes, and must never cross: inner lips, then lids."""
INNER_LIP_PAIRS = CLOSING_PAIRS[:3]

STABLE_POINTS = np.array([0, 1, 2, 14, 15, 16, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 39, 42, 45])
"""Points that expressions leave nearly in place: the upper face contour, the nose and the eye corners. Head pose is
fitted on them, so a smile or an open jaw is not read as the head moving (brows, lids, lips and chin excluded)."""

FRAMING_POINTS = np.r_[0:3, 14:17, 27:48]
"""The points the face crop is centred and sized on: like STABLE_POINTS with the whole eyes, whose blinks average
out over this many points. The crop's framing constants (`face.crop`) are calibrated on this set."""


def centroid_and_radius(points: np.ndarray) -> tuple[np.ndarray, float]:
    """Centroid of (N, 2) points and their RMS distance from it."""
    points = np.asarray(points, dtype=np.float64)
    centroid = points.mean(axis=0)
    return centroid, float(np.sqrt(((points - centroid) ** 2).sum(axis=1).mean()))


def face_scale(landmarks: np.ndarray) -> tuple[np.ndarray, float]:
    """Centroid and RMS radius of the framing points: where the face is and how big, ignoring mouth and brows."""
    return centroid_and_radius(np.asarray(landmarks)[FRAMING_POINTS])


def eye_distance(landmarks: np.ndarray) -> float:
    """Outer-eye-corner distance (points 36-45), the unit face-relative sizes are measured in."""
    points = np.asarray(landmarks, dtype=np.float64)
    return max(float(np.linalg.norm(points[45] - points[36])), 1e-9)


def face_down(landmarks: np.ndarray) -> np.ndarray:
    """Unit vector pointing from brows to chin: the eye line turned by 90 degrees."""
    points = np.asarray(landmarks, dtype=np.float64)
    eye_line = points[RIGHT_EYE].mean(0) - points[LEFT_EYE].mean(0)
    down = np.array([-eye_line[1], eye_line[0]])
    return down / max(float(np.linalg.norm(down)), 1e-9)


def lip_opening(landmarks: np.ndarray) -> float:
    """How far the mouth is open: the mean inner-lip gap along the face's down direction, in outer-eye-corner
    distances (0 for shut lips; negative when the landmarker crosses them)."""
    points = np.asarray(landmarks, dtype=np.float64)
    gap = float(((points[INNER_LIP_PAIRS[:, 1]] - points[INNER_LIP_PAIRS[:, 0]]) @ face_down(points)).mean())
    return gap / eye_distance(points)


# How a jaw opens: lower lip points move all the way, the chin and jaw line less towards the ears.
_JAW_WEIGHTS = {
    **{i: 1.0 for i in (55, 56, 57, 58, 59, 65, 66, 67)},
    7: 1.0, 8: 1.0, 9: 1.0, 6: 0.7, 10: 0.7, 5: 0.4, 11: 0.4,
}


def lower_jaw(landmarks: np.ndarray, amount: float) -> np.ndarray:
    """A copy with the jaw opened by `amount` outer-eye-corner distances (negative: closed), as a jaw moves:
    the lower lip all the way, the chin and jaw line less towards the ears."""
    out = np.asarray(landmarks, dtype=np.float64).copy()
    step = amount * eye_distance(out) * face_down(out)
    for index, weight in _JAW_WEIGHTS.items():
        out[index] += weight * step
    return out


def jittered_box(box: tuple[float, float, float, float], dx: float = 0.0, dy: float = 0.0,
                 scale: float = 1.0) -> tuple[float, float, float, float]:
    """A face box (x0, y0, x1, y1) moved by (dx, dy) of its longer side and scaled by `scale` about its centre:
    where several readings of one face are averaged so that none hinges on its exact box."""
    x0, y0, x1, y1 = box
    side = max(x1 - x0, y1 - y0)
    cx, cy = 0.5 * (x0 + x1) + dx * side, 0.5 * (y0 + y1) + dy * side
    half_w, half_h = 0.5 * scale * (x1 - x0), 0.5 * scale * (y1 - y0)
    return (cx - half_w, cy - half_h, cx + half_w, cy + half_h)


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
class Affine:
    """The map x -> linear @ x + shift on (N, 2) points; a similarity is the special case where
    `linear` is a scaled rotation."""

    linear: np.ndarray
    shift: np.ndarray

    @property
    def scale(self) -> float:
        """Linear size change (square root of the area change)."""
        return float(np.sqrt(abs(np.linalg.det(self.linear))))

    def apply(self, points: np.ndarray) -> np.ndarray:
        return points @ self.linear.T + self.shift

    def inverse(self) -> Affine:
        inverse = np.linalg.inv(self.linear)
        return Affine(inverse, -inverse @ self.shift)


def fit_similarity(source: np.ndarray, target: np.ndarray) -> Affine:
    """Least-squares similarity taking (N, 2) `source` points onto `target` (closed form)."""
    ms, mt = source.mean(0), target.mean(0)
    cs, ct = source - ms, target - mt
    norm = max(float((cs**2).sum()), 1e-12)
    a = float((cs * ct).sum()) / norm
    b = float((cs[:, 0] * ct[:, 1] - cs[:, 1] * ct[:, 0]).sum()) / norm
    linear = np.array([[a, -b], [b, a]])
    return Affine(linear, mt - linear @ ms)


def fit_affine(source: np.ndarray, target: np.ndarray) -> Affine:
    """Least-squares affine map taking (N, 2) `source` points onto `target`."""
    ms, mt = source.mean(0), target.mean(0)
    solution, *_ = np.linalg.lstsq(source - ms, target - mt, rcond=None)
    linear = solution.T
    return Affine(linear, mt - linear @ ms)
