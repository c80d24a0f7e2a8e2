"""Loading real test media for the capture tests (portraits, clip segments, re-encoded still frames)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from livepresenter.capture import FaceTracker
from livepresenter.face import Face


def detect_face(image: np.ndarray) -> Face:
    """The face the tracker finds in a still image; fails the test when there is none."""
    face = FaceTracker().detect(image)
    assert face is not None, "no face found"
    return face


def webcam_sized(image: np.ndarray, height: int = 480) -> np.ndarray:
    """A portrait scaled to a webcam frame's height, so that a face in it is the size a camera would see."""
    scale = height / image.shape[0]
    return cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)


def read_frames(path: Path, start: int = 0, count: int | None = None) -> list[np.ndarray]:
    """Decode frames [start, start + count) of a video as RGB (all remaining frames when count is None)."""
    capture = cv2.VideoCapture(str(path))
    frames: list[np.ndarray] = []
    try:
        index = 0
        while count is None or len(frames) < count:
            ok, bgr = capture.read()
            if not ok:
                break
            if index >= start:
                frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            index += 1
    finally:
        capture.release()
    if count is not None and len(frames) < count:
        raise ValueError(f"{path} has fewer than {start + count} frames")
    return frames


def reencoded(image: np.ndarray, rng: np.random.Generator, shift_px: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """One fresh 'camera frame' of a still scene: sub-pixel shake, sensor noise, then a JPEG round trip.

    Every call gives different pixels, as a real still head in front of a webcam does; a repeated identical
    image would make any tracker look perfectly stable.
    """
    dx, dy = shift_px[0] + rng.uniform(-0.3, 0.3), shift_px[1] + rng.uniform(-0.3, 0.3)
    h, w = image.shape[:2]
    moved = cv2.warpAffine(image, np.float32([[1, 0, dx], [0, 1, dy]]), (w, h), borderMode=cv2.BORDER_REPLICATE)
    noisy = np.clip(moved + rng.normal(0.0, 4.0, moved.shape), 0, 255).astype(np.uint8)
    # cv2 takes the RGB array for BGR; the channel order survives the round trip unchanged.
    ok, jpeg = cv2.imencode(".jpg", noisy, [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    return cv2.imdecode(jpeg, cv2.IMREAD_UNCHANGED)


def resaved(image: np.ndarray, scale: float = 0.85, quality: int = 80) -> np.ndarray:
    """An RGB image as someone re-publishing it would: scaled down (area-averaged) and saved as JPEG again."""
    size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(small, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.cvtColor(cv2.imdecode(jpeg, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def reencoded_clip(frames: list[np.ndarray], quality: int = 90) -> list[np.ndarray]:
    """The same clip after a high-quality re-encode: every frame through a JPEG round trip at `quality` (90 changes
    a GRID frame by about 1.5/255 on average, as an x264 CRF-12 re-encode does). Deterministic."""
    out = []
    for frame in frames:
        ok, jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
        assert ok
        out.append(cv2.imdecode(jpeg, cv2.IMREAD_UNCHANGED))
    return out
