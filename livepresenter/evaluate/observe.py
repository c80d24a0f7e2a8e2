"""What the evaluator sees in an image: the face found by a fresh detection (never tracked, so the metric does not
smooth), its 68 landmarks and its dlib 128-D face embedding, at the evaluation geometry."""

from __future__ import annotations

import cv2
import numpy as np

from livepresenter.capture import FaceTracker
from livepresenter.capture.landmarks import dlib_model
from livepresenter.evaluate.metrics import NO_FACE, Observation
from livepresenter.face import Face

__all__ = ["EVAL_SIDE", "FaceObserver", "to_eval_size"]

EVAL_SIDE = 256
"""Images are compared with their longer side scaled to this many pixels, as FOMM's 256x256 evaluation frames."""


def to_eval_size(image_rgb: np.ndarray, side: int = EVAL_SIDE) -> np.ndarray:
    """The image scaled (aspect kept) so its longer side is `side` pixels; the same array when it already is."""
    h, w = image_rgb.shape[:2]
    scale = side / max(h, w)
    if scale == 1.0:
        return image_rgb
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(image_rgb, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)


class FaceObserver:
    """Detects the best face in each image independently and describes it (landmarks and embedding).

    Args:
        tracker: whose `detect` finds faces (the package's dlib detector with its 2x retry for small faces); a
            default FaceTracker when None.
    """

    def __init__(self, tracker: FaceTracker | None = None) -> None:
        self._tracker = tracker or FaceTracker()
        self._recognizer = dlib_model("face_recognition")

    def observe(self, image_rgb: np.ndarray) -> Observation:
        face = self._tracker.detect(image_rgb)
        if face is None:
            return NO_FACE
        return Observation(face.landmarks.astype(np.float32), self.embedding(image_rgb, face))

    def embedding(self, image_rgb: np.ndarray, face: Face) -> np.ndarray:
        """The 128-D embedding of `face`, aligned on its 68 landmarks (distances under about 0.6: the same person)."""
        import dlib

        x0, y0, x1, y1 = (round(v) for v in face.box)
        points = dlib.points([dlib.point(round(float(x)), round(float(y))) for x, y in face.landmarks])
        shape = dlib.full_object_detection(dlib.rectangle(x0, y0, x1, y1), points)
        descriptor = self._recognizer.compute_face_descriptor(np.ascontiguousarray(image_rgb), shape)
        return np.asarray(descriptor, dtype=np.float64)
