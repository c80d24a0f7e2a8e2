"""Temporal smoothing of the 68 driving landmarks, head pose and face shape apart.

Why: the landmark engine moves the portrait by the driving points themselves, so their frame-to-frame noise
(about 1-2 px on a still head in front of a webcam) becomes a shimmer over the whole animated face. Filtering each
point on its own would blur the head's motion into the expression: a quick nod would briefly read as brows and
lids sliding. So each frame is split into a similarity pose of the head (centre, size and eye-line angle of the
points expressions leave in place) and the face's shape in the head's own frame, each is One-Euro-filtered with
settings of its own, and the two are put back together.

The jaw below the ears and the lips pass as measured: speech moves them several times a second and smoothing them
makes the portrait's lips lag the voice, which viewers notice sooner than a little jitter there. (Carrying their
measured shape on the filtered pose instead left them no steadier, since their own noise dominates, and it let
them drift from the measured face wherever the pose lags.) The eyelids are filtered with settings of their own: a
blink shuts them within a frame or two, and the face shape's settings would flatten a quick one to half its depth,
so their cutoff rises with speed ten times as steeply: every blink in the shared clips keeps at least 0.9 of its
depth without a frame of delay, and the lids still jitter about half as much as measured.
"""

from __future__ import annotations

import numpy as np

from livepresenter.capture.smoothing import OneEuroFilter
from livepresenter.face.geometry import LEFT_EYE, LIDS, RIGHT_EYE, STABLE_POINTS, centroid_and_radius

SPEECH_POINTS = np.r_[3:14, 48:68]
"""Jaw line and lips (iBUG-68, 0-based): moved by speech, left unfiltered; the lids get the blink settings."""
_FILTERED_POINTS = np.setdiff1d(np.arange(68), SPEECH_POINTS)
_LIDS_AMONG_FILTERED = np.isin(_FILTERED_POINTS, LIDS)


class LandmarkSmoother:
    """Filter (68, 2) landmark sets sampled at increasing timestamps.

    Args:
        pose_min_cutoff_hz, pose_beta: One Euro settings for the head pose, measured as centre and log size in
            face radii and angle in radians (see smoothing.OneEuroFilter).
        shape_min_cutoff_hz, shape_beta: the same for the face shape, in face radii.
        lid_beta: the eyelids' speed coefficient (their filter is otherwise the face shape's).
        d_cutoff_hz: cutoff of both filters' speed estimates.
    """

    def __init__(
        self, *, pose_min_cutoff_hz: float, pose_beta: float, shape_min_cutoff_hz: float, shape_beta: float,
        lid_beta: float, d_cutoff_hz: float = 1.0,
    ) -> None:
        self._pose = OneEuroFilter(min_cutoff_hz=pose_min_cutoff_hz, beta=pose_beta, d_cutoff_hz=d_cutoff_hz)
        beta = np.where(_LIDS_AMONG_FILTERED[:, None], lid_beta, shape_beta)
        self._shape = OneEuroFilter(min_cutoff_hz=shape_min_cutoff_hz, beta=beta, d_cutoff_hz=d_cutoff_hz)
        self.reset()

    def reset(self) -> None:
        """Forget the past: the next landmarks pass through unchanged."""
        self._pose.reset()
        self._shape.reset()
        self._unit: float | None = None

    def __call__(self, landmarks: np.ndarray, t_s: float) -> np.ndarray:
        """The filtered landmarks at time t_s (seconds, increasing), float32 like the tracker's."""
        points = np.asarray(landmarks, dtype=np.float64)
        centre, size, angle = _pose(points)
        if self._unit is None:
            self._unit = size  # pose in units of the first face's size, so the settings do not depend on it
        unit = self._unit
        shape = (points[_FILTERED_POINTS] - centre) @ _rotation(angle) / size
        pose = np.array([centre[0] / unit, centre[1] / unit, np.log(size / unit), angle])
        cx, cy, log_size, angle = self._pose(pose, t_s).tolist()
        smoothed = points.copy()
        smoothed[_FILTERED_POINTS] = (
            np.array([cx, cy]) * unit + np.exp(log_size) * unit * self._shape(shape, t_s) @ _rotation(angle).T
        )
        return smoothed.astype(np.float32)


def _pose(points: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Centre and RMS radius of the stable points, and the angle of the line between the eye centres."""
    centre, size = centroid_and_radius(points[STABLE_POINTS])
    eye_line = points[RIGHT_EYE].mean(axis=0) - points[LEFT_EYE].mean(axis=0)
    return centre, size, float(np.arctan2(eye_line[1], eye_line[0]))


def _rotation(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s], [s, c]])
