"""Idle motion: what the presenter does when no face drives it.

When the professor looks away, leaves the desk or the camera drops out, freezing looks broken and
garbage looks worse. Instead the engines are driven by a synthetic face made from the reference
frame: gentle breathing, small head turns, blinks and a little mouth movement, eased in from the
last live pose and eased back out when the face returns. The synthetic face is a TrackedFace like
any other (landmarks for the landmark engine, a warped reference crop for FOMM), so engines need
no idle mode of their own.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from livepresenter.face import Face, TrackedFace
from livepresenter.face.crop import to_crop_coords
from livepresenter.face.geometry import INNER_LIP_PAIRS, LOWER_LIDS, STABLE_POINTS, UPPER_LIDS, eye_distance

EASE_SECONDS = 1.2  # face lost: drift to the neutral pose this slowly (half as long to come back)
BLINK_SECONDS = 0.18
UPPER_OUTER_LIP, LOWER_OUTER_LIP = [50, 51, 52], [58, 57, 56]  # the middle of the outer lips, which a mouth opens


def smoothstep(x: float) -> float:
    x = min(max(x, 0.0), 1.0)
    return x * x * (3 - 2 * x)


class IdleMotion:
    """Synthesises driving faces around a reference TrackedFace.

    Poses live in the reference frame's pixel coordinates (as `Face.landmarks`, which the landmark
    engine reads); the synthetic crop is the reference crop moved by the same rigid motion (what
    FOMM reads), with its landmarks mapped into crop pixels.
    """

    def __init__(self, reference: TrackedFace, seed: int = 0) -> None:
        self.set_reference(reference)
        self._rng = np.random.default_rng(seed)
        self._next_blink = 1.5
        self._blink_start = -10.0
        self._from: np.ndarray | None = None  # pose the ease starts from
        self._since: float | None = None       # when the face was lost (None: face present)
        self._returned = 0.0                   # when the face came back
        self._last_live: np.ndarray | None = None

    def set_reference(self, reference: TrackedFace) -> None:
        """The neutral face idle motion moves around (the driving reference once one is picked)."""
        if reference.face is None or reference.crop_landmarks is None:
            raise ValueError("the idle reference needs a face")
        self.reference = reference
        self.landmarks = reference.face.landmarks.astype(np.float32)
        self._size = reference.crop.shape[0]

    def pose(self, t: float) -> np.ndarray:
        """Idle landmarks at time t (seconds): breathing, head sway, blinks, small mouth motion."""
        points = self.landmarks.copy()
        eye_span = eye_distance(points)
        centre = points[STABLE_POINTS].mean(axis=0)
        angle = math.radians(1.6 * math.sin(2 * math.pi * t / 7.3) + 0.7 * math.sin(2 * math.pi * t / 3.1))
        scale = 1 + 0.006 * math.sin(2 * math.pi * t / 4.2)  # breathing
        shift = np.array([0.05 * eye_span * math.sin(2 * math.pi * t / 9.7),
                          0.03 * eye_span * math.sin(2 * math.pi * t / 4.2)], np.float32)

        if t >= self._next_blink:
            self._blink_start, self._next_blink = t, t + self._rng.uniform(2.5, 5.5)
        phase = (t - self._blink_start) / BLINK_SECONDS
        closure = math.sin(math.pi * phase) if 0 <= phase <= 1 else 0.0
        points[UPPER_LIDS] += closure * 0.9 * (points[LOWER_LIDS] - points[UPPER_LIDS])

        mouth = 0.04 * eye_span * max(0.0, math.sin(2 * math.pi * t / 2.3)) ** 2
        points[INNER_LIP_PAIRS[:, 0]] -= (0, mouth * 0.3)
        points[INNER_LIP_PAIRS[:, 1]] += (0, mouth)
        points[LOWER_OUTER_LIP] += (0, mouth * 0.8)

        c, s = math.cos(angle) * scale, math.sin(angle) * scale
        rotation = np.array([[c, -s], [s, c]], np.float32)
        return ((points - centre) @ rotation.T + centre + shift).astype(np.float32)

    def face_for(self, landmarks: np.ndarray, index: int) -> TrackedFace:
        """A TrackedFace for landmarks in reference-frame pixels: the reference crop moved rigidly."""
        box = self.reference.crop_box
        crop_landmarks = to_crop_coords(landmarks, box, self._size)
        reference = self.reference.crop_landmarks[STABLE_POINTS]
        matrix, _ = cv2.estimateAffinePartial2D(reference, crop_landmarks[STABLE_POINTS])
        crop = self.reference.crop if matrix is None else cv2.warpAffine(
            self.reference.crop, matrix, (self._size, self._size), flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE)
        x0, y0 = landmarks.min(axis=0)
        x1, y1 = landmarks.max(axis=0)
        face = Face((float(x0), float(y0), float(x1), float(y1)), landmarks, 1.0)
        return TrackedFace(index=index, face=face, crop_box=box, crop=crop, crop_landmarks=crop_landmarks)

    def live(self, tracked: TrackedFace, t: float) -> TrackedFace:
        """A live frame; eases from the idle pose back to the live one after the face returns."""
        if tracked.face is None:
            raise ValueError("live() needs a tracked face; use idle() without one")
        if self._since is not None:  # face came back: ease out from where idle was
            self._from, self._since, self._returned = self.pose(t), None, t
        self._last_live = tracked.face.landmarks
        if self._from is None:
            return tracked
        w = smoothstep((t - self._returned) / (EASE_SECONDS / 2))
        if w >= 1:
            self._from = None
            return tracked
        landmarks = ((1 - w) * self._from + w * tracked.face.landmarks).astype(np.float32)
        face = Face(tracked.face.box, landmarks, tracked.face.score)
        return TrackedFace(tracked.index, face, tracked.crop_box, tracked.crop,
                           to_crop_coords(landmarks, tracked.crop_box, tracked.crop.shape[0]))

    def idle(self, t: float, index: int) -> TrackedFace:
        """A synthetic frame while no face is seen; eases in from the last live pose."""
        if self._since is None:
            self._since, self._from = t, self._last_live
        target = self.pose(t)
        w = smoothstep((t - self._since) / EASE_SECONDS)
        landmarks = target if self._from is None else (1 - w) * self._from + w * target
        return self.face_for(landmarks.astype(np.float32), index)
