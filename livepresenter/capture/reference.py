"""Automatic choice of the reference driving frame for relative motion.

Engines animate the portrait by the *change* between the reference driving frame and the current one. If the
reference shows the presenter turned away or with the mouth open while the portrait is frontal and closed-mouthed,
that offset is replayed on every frame (the portrait keeps its mouth open when the presenter closes theirs). So
the reference is the frame, among the first seconds, whose face shape is closest to the portrait's: landmarks
compared after removing position, size and in-plane rotation, which leaves expression and head turn (yaw, pitch).
"""

from __future__ import annotations

import logging

import numpy as np

from livepresenter.face import TrackedFace

log = logging.getLogger(__name__)


def normalize_landmarks(landmarks: np.ndarray) -> np.ndarray:
    """(N, 2) points centred on their mean and scaled to unit RMS radius (translation and scale removed)."""
    points = np.asarray(landmarks, dtype=np.float64)
    centred = points - points.mean(axis=0)
    return centred / np.sqrt((centred**2).sum(axis=1).mean())


def shape_distance(landmarks: np.ndarray, target: np.ndarray) -> float:
    """Procrustes distance between two landmark sets: 0 for the same shape at any position, size or roll.

    Both sets are normalised, then the best rotation (no reflection) of one onto the other is found by SVD;
    what is left, sqrt(1 - (sum of singular values)^2 / N^2), is in [0, 1].
    """
    a = normalize_landmarks(landmarks)
    b = normalize_landmarks(target)
    u, s, vt = np.linalg.svd(a.T @ b)
    if np.linalg.det(u @ vt) < 0:  # the best fit would mirror the face: take the best proper rotation
        s[-1] = -s[-1]
    fit = s.sum() / len(a)
    return float(np.sqrt(max(0.0, 1.0 - fit**2)))


class ReferencePicker:
    """Keeps, among the tracked frames offered during a window, the one that best matches the portrait's face.

    Feed it every tracked frame; read `best` when it changes or once `done`. `reset()` restarts the window (the
    user's manual reset, e.g. after sitting down again): the next face seen becomes the reference at once, and
    better matches replace it until the window ends.

    Args:
        portrait_landmarks: (68, 2) landmarks of the portrait's face, in any pixel frame.
        window_frames: how many frames (after start or reset) are considered: 75 is 3 s at 25 fps.
    """

    def __init__(self, portrait_landmarks: np.ndarray, *, window_frames: int = 75) -> None:
        if portrait_landmarks.shape != (68, 2):
            raise ValueError(f"expected (68, 2) portrait landmarks, got {portrait_landmarks.shape}")
        if window_frames < 1:
            raise ValueError(f"window_frames must be >= 1, got {window_frames}")
        self._target = normalize_landmarks(portrait_landmarks)
        self.window_frames = window_frames
        self.reset()

    def reset(self) -> None:
        """Start a fresh window and forget the current reference."""
        self._seen = 0
        self._best: TrackedFace | None = None
        self._best_distance = float("inf")

    @property
    def best(self) -> TrackedFace | None:
        """The reference so far, or None before any face was seen."""
        return self._best

    @property
    def best_distance(self) -> float:
        """Shape distance of `best` to the portrait (see shape_distance); inf before any face was seen."""
        return self._best_distance

    @property
    def done(self) -> bool:
        """True once the window is over and a reference was found; later frames are ignored."""
        return self._seen >= self.window_frames and self._best is not None

    def offer(self, tracked: TrackedFace) -> bool:
        """Consider one tracked frame; True when it became the new reference."""
        if self.done:
            return False
        self._seen += 1
        if tracked.face is None:
            return False
        distance = shape_distance(tracked.face.landmarks, self._target)
        if distance >= self._best_distance:
            return False
        self._best, self._best_distance = tracked, distance
        log.debug("reference frame %d (shape distance %.3f)", tracked.index, distance)
        return True
