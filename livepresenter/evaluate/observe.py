"""What the evaluator sees in an image: the face found by a fresh detection (never tracked, so the metric does not
smooth), its 68 landmarks and its dlib 128-D face embedding, at the evaluation geometry."""

from __future__ import annotations

import cv2
import numpy as np

from livepresenter.capture import FaceTracker
from livepresenter.capture.landmarks import Box, create_landmarker, dlib_model
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

    The package's dlib detector with its 2x retry for small faces finds the faces; `landmarks_in` reads the 68 points
    in a given box without detecting. `displacement` measures how far points moved between two images by optical
    flow: dlib's landmarks move by 0.6-1.1 px when a portrait is shifted by a third of a pixel, the flow to within
    0.05 px, so sub-pixel differences between outputs are measured with it.
    """

    def __init__(self) -> None:
        self._landmarker = create_landmarker("dlib")
        self._tracker = FaceTracker(landmarker=self._landmarker)
        self._recognizer = dlib_model("face_recognition")
        self._flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)

    def observe(self, image_rgb: np.ndarray) -> Observation:
        face = self.face(image_rgb)
        if face is None:
            return NO_FACE
        return Observation(face.landmarks.astype(np.float32), self.embedding(image_rgb, face))

    def face(self, image_rgb: np.ndarray) -> Face | None:
        """The best face detected in the image, or None."""
        return self._tracker.detect(image_rgb)

    def landmarks_in(self, image_rgb: np.ndarray, box: Box) -> np.ndarray:
        """(68, 2) landmarks fitted in `box` (x0, y0, x1, y1), no detection."""
        return self._landmarker.landmarks(image_rgb, box).astype(np.float64)

    def displacement(self, before_rgb: np.ndarray, after_rgb: np.ndarray, points: np.ndarray) -> np.ndarray:
        """(N, 2) motion of `points` (pixels of `before_rgb`) into `after_rgb`, a same-sized image (dense DIS optical
        flow, sampled at the points)."""
        before, after = (cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) for image in (before_rgb, after_rgb))
        flow = self._flow.calc(before, after, None)
        x, y = (np.ascontiguousarray(points[:, k], dtype=np.float32).reshape(-1, 1) for k in (0, 1))
        return cv2.remap(flow, x, y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).reshape(-1, 2)

    def embedding(self, image_rgb: np.ndarray, face: Face) -> np.ndarray:
        """The 128-D embedding of `face`, aligned on its 68 landmarks (distances under about 0.6: the same person)."""
        import dlib

        x0, y0, x1, y1 = (round(v) for v in face.box)
        points = dlib.points([dlib.point(round(float(x)), round(float(y))) for x, y in face.landmarks])
        shape = dlib.full_object_detection(dlib.rectangle(x0, y0, x1, y1), points)
        descriptor = self._recognizer.compute_face_descriptor(np.ascontiguousarray(image_rgb), shape)
        return np.asarray(descriptor, dtype=np.float64)
