"""Facial hair painted onto a clean driving clip, frame by frame (issue 20: a mouth reading that survives a
moustache or a beard in the driver).

No clip in the shared material shows a speaker with facial hair and none can be fetched. Painting it onto a clean
clip gives what a real one cannot: the same mouth motion seen with and without hair, so the clean clip's own mouth
reading is the ground truth for the hairy one.

The hair follows the clean clip's tracked landmarks. A moustache fills the philtrum from under the nose to the
upper lip, droops past the mouth corners and hides the upper lip's vermilion down to `MOUSTACHE_COVER` of the way
to the inner lip edge, so that it moves with the upper lip. A beard adds chin and jaw hair up to `BEARD_COVER` of
the lower lip's vermilion (its lower edge hidden), slightly past the jaw line. The strands are drawn once per clip
in the first frame's pixels and carried by an affine map fitted to the landmarks of the part they grow on, so
their texture moves with the face instead of swimming; edges are feathered. Images are HxWx3 uint8 RGB.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from livepresenter.engine.landmark.drawing import soft_mask
from livepresenter.face.geometry import eye_distance, face_down, fit_affine

__all__ = ["BEARD_COVER", "MOUSTACHE_COVER", "STYLES", "HairTexture", "hair_texture", "with_facial_hair",
           "with_facial_hair_clip"]

STYLES = ("moustache", "beard")
MOUSTACHE_COVER = 0.6
"""How far down the upper lip's vermilion the moustache reaches: 0 at its outer edge, 1 at the inner edge."""
BEARD_COVER = 0.4
"""How far up the lower lip's vermilion the beard reaches: 0 at its outer (lower) edge, 1 at the inner edge."""

# Outer lip points and the inner-lip position facing each (a corner, or a blend of two inner points).
_UPPER_OUTER = np.array([49, 50, 51, 52, 53])
_UPPER_INNER = ((60, 61), (61, 61), (62, 62), (63, 63), (63, 64))
_LOWER_OUTER = np.array([55, 56, 57, 58, 59])
_LOWER_INNER = ((64, 65), (65, 65), (66, 66), (67, 67), (67, 60))
# Landmarks each hair part is carried by: the moustache by the nose base and upper lip, the beard by the jaw and
# lower lip.
_MOUSTACHE_ANCHORS = np.r_[31:36, 48:55]
_BEARD_ANCHORS = np.r_[4:13, 54:60, 48]
_HAIR_RGB = np.array([38.0, 29.0, 24.0])
_FEATHER = 0.015
"""Edge softness, in eye distances."""


@dataclass(frozen=True)
class HairTexture:
    """Strand density in [0, 1] (HxW float32) drawn against `landmarks` (the clip's first tracked face)."""

    density: np.ndarray
    landmarks: np.ndarray


def hair_texture(shape: tuple[int, int], landmarks: np.ndarray, rng: np.random.Generator) -> HairTexture:
    """Dense short strands over the lower face, growing down and outwards from the face's midline, some lighter
    than others (a real moustache is not a flat dark patch: its texture is what a landmarker sees through)."""
    points = np.asarray(landmarks, dtype=np.float64)
    unit = eye_distance(points)
    down = face_down(points)
    right = np.array([down[1], -down[0]])
    midline = points[[27, 30, 33, 51, 57, 8]].mean(0)
    top, bottom = (points[30] - midline) @ down, (points[8] - midline) @ down + 0.1 * unit
    half_width = 0.5 * float(np.linalg.norm(points[13] - points[3])) + 0.1 * unit
    strands = np.zeros(shape, np.float32)
    count = int(1500 * (bottom - top) * half_width / unit**2)
    for _ in range(count):
        across, along = rng.uniform(-half_width, half_width), rng.uniform(top, bottom)
        start = midline + across * right + along * down
        direction = down + 0.9 * (across / half_width) * right + rng.normal(0.0, 0.25, 2)
        end = start + rng.uniform(0.05, 0.12) * unit * direction / np.linalg.norm(direction)
        cv2.line(strands, tuple(np.round(start * 16).astype(int)), tuple(np.round(end * 16).astype(int)),
                 float(rng.uniform(0.4, 1.0)), 1, cv2.LINE_AA, shift=4)
    density = np.clip(0.75 + 0.5 * cv2.GaussianBlur(strands, (0, 0), 0.6) - 0.15 * rng.random(shape), 0.0, 1.0)
    return HairTexture(density.astype(np.float32), points.astype(np.float32))


def with_facial_hair(image_rgb: np.ndarray, landmarks: np.ndarray, texture: HairTexture, style: str) -> np.ndarray:
    """`image_rgb` with a moustache ("moustache"), or a moustache and a beard ("beard"), painted over the face whose
    (68, 2) landmarks are given (a copy)."""
    if style not in STYLES:
        raise ValueError(f"facial hair style must be one of {STYLES}, got {style!r}")
    points = np.asarray(landmarks, dtype=np.float64)
    shape = image_rgb.shape[:2]
    feather = max(0.8, _FEATHER * eye_distance(points))
    alpha = soft_mask(shape, _moustache_outline(points), feather) * _carried(texture, points, _MOUSTACHE_ANCHORS)
    if style == "beard":
        beard = soft_mask(shape, _beard_outline(points), feather) * _carried(texture, points, _BEARD_ANCHORS)
        alpha = np.maximum(alpha, beard)
    # Lighter strands catch a little light; the hair colour shades with the texture.
    colour = _HAIR_RGB * (0.7 + 0.6 * texture.density[..., None] ** 4)
    out = image_rgb.astype(np.float32) * (1.0 - alpha[..., None]) + colour * alpha[..., None]
    return np.clip(out, 0, 255).astype(np.uint8)


def with_facial_hair_clip(frames: Iterable[np.ndarray], landmarks: Iterable[np.ndarray], style: str,
                          seed: int = 0) -> Iterator[np.ndarray]:
    """A clip's frames with facial hair, each painted along that frame's tracked landmarks (one texture per clip)."""
    texture: HairTexture | None = None
    for image, points in zip(frames, landmarks, strict=True):
        if texture is None:
            texture = hair_texture(image.shape[:2], points, np.random.default_rng(seed))
        yield with_facial_hair(image, points, texture, style)


def _carried(texture: HairTexture, points: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """The strand density moved as the anchor landmarks moved since the texture was drawn."""
    affine = fit_affine(texture.landmarks[anchors], points[anchors])
    h, w = texture.density.shape
    matrix = np.hstack([affine.linear, affine.shift[:, None]]).astype(np.float32)
    return cv2.warpAffine(texture.density, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def _facing(points: np.ndarray, outer: np.ndarray, inner: tuple[tuple[int, int], ...], cover: float) -> np.ndarray:
    """Points `cover` of the way from each outer lip point to the inner lip edge facing it."""
    facing = np.array([0.5 * (points[a] + points[b]) for a, b in inner])
    return points[outer] + cover * (facing - points[outer])


def _moustache_outline(points: np.ndarray) -> np.ndarray:
    """Polygon from under the nose, drooping past the mouth corners, along the covered upper lip."""
    unit = eye_distance(points)
    down = face_down(points)
    right = np.array([down[1], -down[0]])
    left_end = points[48] - 0.08 * unit * right + 0.06 * unit * down
    right_end = points[54] + 0.08 * unit * right + 0.06 * unit * down
    nose = points[31:36] + 0.03 * unit * down
    nose[[0, -1]] += np.array([-0.06, 0.06])[:, None] * unit * right
    lip = _facing(points, _UPPER_OUTER, _UPPER_INNER, MOUSTACHE_COVER)
    return np.vstack([left_end, nose, right_end, points[54], lip[::-1], points[48]])


def _beard_outline(points: np.ndarray) -> np.ndarray:
    """Polygon from the moustache's ends down the jaw, a little past its line, and up over the lower lip."""
    unit = eye_distance(points)
    down = face_down(points)
    right = np.array([down[1], -down[0]])
    centre = points[27:36].mean(0)
    jaw = points[4:13]
    outwards = (jaw - centre) / np.linalg.norm(jaw - centre, axis=1, keepdims=True)
    # Past the jaw line most at the chin, not at all at the cheeks (where it would stand out from the face).
    jaw = jaw + unit * np.array([0.0, 0.01, 0.03, 0.04, 0.05, 0.04, 0.03, 0.01, 0.0])[:, None] * outwards
    left_end = points[48] - 0.08 * unit * right + 0.06 * unit * down
    right_end = points[54] + 0.08 * unit * right + 0.06 * unit * down
    lip = _facing(points, _LOWER_OUTER, _LOWER_INNER, BEARD_COVER)
    return np.vstack([left_end, jaw, right_end, points[54], lip, points[48]])
