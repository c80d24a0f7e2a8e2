"""Speed benchmark of the landmark engine: landmarks on a 256-px driving crop as the tracker reads them (averaged over
the landmarker's box scales), the mouth re-read there (the tracker's mouth_reading.py, which runs on every tracked
frame), plus `animate`.

This is what the live pipeline pays per frame on top of capture and composition. It uses a real
portrait and GRID clip from the repository's test data (tests/data) when run from a clone, else
matplotlib's bundled Grace Hopper photograph as the portrait, driven by copies of itself moved by a
slow synthetic head motion. Tracking (detection, crop resampling) is done before the clock runs.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path

import cv2
import numpy as np

from livepresenter.capture import FaceTracker
from livepresenter.capture.landmarks import create_landmarker
from livepresenter.capture.mouth_reading import MouthReading
from livepresenter.capture.tracker import read_landmarks
from livepresenter.engine.landmark.engine import LandmarkEngine
from livepresenter.errors import InputError
from livepresenter.face import Face, TrackedFace
from livepresenter.face.crop import from_crop_coords, to_crop_coords
from livepresenter.media import VideoReader
from livepresenter.media.image import load_image_rgb

log = logging.getLogger(__name__)

_PORTRAIT = "portraits/einstein_1947_orren_jack_turner.jpg"
_CLIP = "driving/grid_bbaf2n_256.mp4"
_SYNTHETIC_FRAMES = 100


def run_benchmark(size: int = 512, frames: int = 200, *, media_dir: Path | None = None) -> dict:
    """Milliseconds per frame for a size x size portrait: crop landmarks, animate, and their sum; and the
    one-off `prepare`.

    `media_dir`: a media folder holding portraits/ and driving/; found as described in the
    module docstring when None.
    """
    from livepresenter.presenter.preparation import single_threaded_blas

    single_threaded_blas()  # as the pipelines run it

    media = media_dir or _default_media_dir()
    portrait_path, clip_path = media / _PORTRAIT, media / _CLIP
    if portrait_path.exists() and clip_path.exists():
        portrait_full, driving, source = load_image_rgb(portrait_path), _read_clip(clip_path), str(media)
    else:
        portrait_full = load_image_rgb(_bundled_portrait())
        driving, source = None, "matplotlib grace_hopper.jpg (synthetic head motion)"

    tracker = FaceTracker()
    portrait = _square_portrait(tracker, portrait_full, size)
    face = tracker.detect(portrait)
    if face is None:
        raise InputError("benchmark portrait: no face found after resizing")
    if driving is None:
        driving = _synthetic_clip(portrait, face)

    tracked = _track(driving)
    engine = LandmarkEngine()
    started = time.perf_counter()
    engine.set_portrait(portrait, face)  # once per presenter: warp set-up and the mouth calibration
    prepare_ms = 1e3 * (time.perf_counter() - started)
    engine.set_reference(tracked[0])
    landmarker = create_landmarker("dlib")
    mouth = MouthReading()

    landmark_ms, mouth_ms, animate_ms = [], [], []
    for i in range(frames):
        frame = tracked[i % len(tracked)]
        corners = to_crop_coords(np.reshape(frame.face.box, (2, 2)), frame.crop_box, frame.crop.shape[0])
        crop_box_px = (*corners[0].tolist(), *corners[1].tolist())
        t0 = time.perf_counter()
        crop_landmarks = read_landmarks(landmarker, frame.crop, crop_box_px)
        t1 = time.perf_counter()
        crop_landmarks = mouth(frame.crop, crop_landmarks, i / 25)
        t_mouth = time.perf_counter()
        landmarks = from_crop_coords(crop_landmarks, frame.crop_box, frame.crop.shape[0])
        driven = TrackedFace(
            frame.index, Face(frame.face.box, landmarks, frame.face.score), frame.crop_box, frame.crop, crop_landmarks
        )
        engine.animate(driven)
        t2 = time.perf_counter()
        landmark_ms.append(1e3 * (t1 - t0))
        mouth_ms.append(1e3 * (t_mouth - t1))
        animate_ms.append(1e3 * (t2 - t_mouth))

    total = np.add(np.add(landmark_ms, mouth_ms), animate_ms)
    result = {
        "size": size,
        "frames": frames,
        "source": source,
        "landmarks_ms": float(np.median(landmark_ms)),
        "mouth_reading_ms": float(np.median(mouth_ms)),
        "animate_ms": float(np.median(animate_ms)),
        "total_ms": float(np.median(total)),
        "total_ms_p90": float(np.percentile(total, 90)),
        "fps": float(1e3 / np.median(total)),
        "prepare_ms": prepare_ms,
        "opencv_threads": cv2.getNumThreads(),
    }
    log.info("landmark engine benchmark: %s", result)
    return result


def format_table(result: dict) -> str:
    """The result as the lines `livepresenter bench landmark` prints."""
    return (f"landmark engine, {result['size']}x{result['size']} portrait, {result['frames']} frames "
            f"({result['source']})\n"
            f"landmarks on 256 crop {result['landmarks_ms']:.2f} ms + mouth reading {result['mouth_reading_ms']:.2f} ms"
            f" + animate {result['animate_ms']:.2f} ms = "
            f"{result['total_ms']:.2f} ms median (p90 {result['total_ms_p90']:.2f}) -> {result['fps']:.0f} fps\n"
            f"prepare (once per presenter, mouth calibration included) {result['prepare_ms']:.0f} ms")


def _default_media_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "tests" / "data"


def _bundled_portrait() -> Path:
    try:
        import matplotlib
    except ImportError as exc:
        raise InputError("benchmark: no test media (run it from a clone), no matplotlib for its sample photo") from exc
    return Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"


def _read_clip(path: Path) -> list[np.ndarray]:
    frames = [frame.image for frame in VideoReader(path)]
    if not frames:
        raise InputError(f"benchmark: no frames in {path}")
    return frames


def _square_portrait(tracker: FaceTracker, image: np.ndarray, size: int) -> np.ndarray:
    """A size x size portrait with the face about half as wide as the image, as a framed presenter."""
    face = tracker.detect(image)
    if face is None:
        raise InputError("benchmark portrait: no face found")
    x0, y0 = face.landmarks.min(0)
    x1, y1 = face.landmarks.max(0)
    side = 2.0 * max(x1 - x0, y1 - y0)
    scale = size / side
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2 - 0.1 * side
    matrix = np.array([[scale, 0, size / 2 - scale * cx], [0, scale, size / 2 - scale * cy]])
    return cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)


def _synthetic_clip(portrait: np.ndarray, face: Face) -> list[np.ndarray]:
    """The portrait swaying slowly (shift, tilt, scale), so the driving face really moves."""
    centre = face.landmarks.mean(0)
    frames = []
    for i in range(_SYNTHETIC_FRAMES):
        phase = 2 * math.pi * i / _SYNTHETIC_FRAMES
        matrix = cv2.getRotationMatrix2D(tuple(map(float, centre)), 4 * math.sin(phase), 1 + 0.03 * math.sin(2 * phase))
        matrix[:, 2] += (10 * math.sin(phase), 5 * math.cos(phase))
        frames.append(cv2.warpAffine(portrait, matrix, portrait.shape[1::-1], borderMode=cv2.BORDER_REPLICATE))
    return frames


def _track(frames: list[np.ndarray]) -> list[TrackedFace]:
    tracker = FaceTracker()
    tracked = [t for t in (tracker.track(frame) for frame in frames) if t.face is not None]
    if not tracked:
        raise InputError("benchmark: no face found in the driving frames")
    return tracked
