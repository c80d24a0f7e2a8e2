"""Driving material derived from a real clip, the same motion seen differently (issue 20's driver checks, and
scripts/grow_driving.py): a still face re-captured with camera noise, the clip re-encoded, the frames stretched by a
fixed affine map (a longer or a wider face), mirrored, rescaled or moved off-centre, or with facial hair painted along
the clip's tracked landmarks (facial_hair.py). Images are HxWx3 uint8 RGB."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from livepresenter.capture import FaceTracker, TrackerSettings
from livepresenter.errors import NoFaceError
from livepresenter.media import Mp4Writer, VideoReader

__all__ = ["FACE_SHAPES", "REENCODE_CRF", "recaptured", "stretched", "tracked_landmarks", "write_clip"]

REENCODE_CRF = 12
"""x264 quality of the re-encoded driver: a high-quality re-encode, about 1.4/255 mean change per GRID frame."""

FACE_SHAPES: dict[str, tuple[float, float]] = {"longer_face": (1.0, 1.15), "wider_face": (1.15, 1.0)}
"""(horizontal, vertical) stretch about the face centre: a face 15 % longer, and one 15 % wider (rounder)."""


def recaptured(image_rgb: np.ndarray, rng: np.random.Generator,
               shift_px: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """One fresh camera frame of a still scene: sub-pixel shake (+-0.3 px), sensor noise (sigma 4/255), then a
    JPEG (quality 85) round trip, as a webcam delivers it.

    Every call gives different pixels, as a real still head in front of a webcam does; a repeated identical image
    would make any tracker look perfectly stable.
    """
    dx, dy = shift_px[0] + rng.uniform(-0.3, 0.3), shift_px[1] + rng.uniform(-0.3, 0.3)
    h, w = image_rgb.shape[:2]
    moved = cv2.warpAffine(image_rgb, np.float32([[1, 0, dx], [0, 1, dy]]), (w, h), borderMode=cv2.BORDER_REPLICATE)
    noisy = np.clip(moved + rng.normal(0.0, 4.0, moved.shape), 0, 255).astype(np.uint8)
    # cv2 takes the RGB array for BGR; the channel order survives the round trip unchanged.
    ok, jpeg = cv2.imencode(".jpg", noisy, [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return cv2.imdecode(jpeg, cv2.IMREAD_UNCHANGED)


def stretched(image_rgb: np.ndarray, centre: tuple[float, float], scale_xy: tuple[float, float],
              shift_px: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """The image scaled by `scale_xy` about `centre` (e.g. the face centre), then moved by `shift_px`; same size,
    edges replicated. A negative horizontal scale mirrors."""
    sx, sy = scale_xy
    cx, cy = centre
    matrix = np.float32([[sx, 0, cx - sx * cx + shift_px[0]], [0, sy, cy - sy * cy + shift_px[1]]])
    h, w = image_rgb.shape[:2]
    return cv2.warpAffine(image_rgb, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def write_clip(frames: Iterable[np.ndarray], path: Path, fps: Fraction | float, *, crf: int = REENCODE_CRF) -> Path:
    """Encode `frames` (all the same size; an odd side loses its last pixel row or column, as H.264 needs even sides)
    to `path` with x264 at `crf` (preset medium, ffmpeg's default), no audio; returns `path`."""
    iterator: Iterator[np.ndarray] = iter(frames)
    first = next(iterator)
    height, width = first.shape[0] // 2 * 2, first.shape[1] // 2 * 2
    with Mp4Writer(path, (width, height), fps, preset="medium", crf=crf) as writer:
        writer.write(np.ascontiguousarray(first[:height, :width]))
        for image in iterator:
            writer.write(np.ascontiguousarray(image[:height, :width]))
    return path


def tracked_landmarks(clip: Path, settings: TrackerSettings | None = None) -> list[np.ndarray]:
    """The (68, 2) landmarks the tracker hands on, frame by frame (a frame without a face keeps the last face's):
    what facial hair is painted along, and what a derived driver's reading is compared with."""
    tracker = FaceTracker(settings)
    found: list[np.ndarray] = []
    for frame in VideoReader(clip):
        face = tracker.track(frame.image, frame.time_s).face
        if face is None and not found:
            raise NoFaceError(f"no face in frame 0 of {clip}: trim the clip so it starts on a frontal face")
        found.append(face.landmarks if face is not None else found[-1])
    return found
