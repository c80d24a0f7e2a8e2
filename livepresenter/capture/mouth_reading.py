"""A mouth-opening reading that survives a moustache or a beard (issue 20).

The landmarker finds the lips by their edges; under facial hair those edges are hidden or confused with the hair's,
so the inner-lip points jump from frame to frame and the portrait's mouth chatters or stays shut while the speaker
talks. What the frame still shows is how the hair itself moves: a moustache rides on the upper lip and a beard on
the lower lip and chin, so the texture above the mouth and below it drift apart as the mouth opens and together as
it shuts. Pyramidal Lucas-Kanade flow at a few points there measures that change of the opening from one frame to
the next, without lag and without the landmarker's jitter, but it slowly drifts; the landmarker's reading does not.

So the reading is a complementary filter: each frame the last reading is moved by the flow's change and then pulled
towards the landmarker's opening, by a share that says how far the lip points can be trusted. That trust comes from
the pixels: dark hair between the nose and the upper lip (a moustache) or on the chin (a beard), measured against
the skin of the nose, means the lip points may be unsteady; on a clean face the pull is 1 and the landmarker's
opening passes unchanged. Under hair it also comes from the points themselves: where their frame-to-frame change
agrees with the flow's (a running correlation over about two seconds), the landmarker still sees the lips and is
pulled towards by `AGREED_PULL`; where it does not, only by `HAIR_PULL` (a time constant of about 0.8 s at 25 fps).
The flow alone under-reads openings more than closings and so drifts shut; lip points that agree hold it.
The new opening is applied by moving the lower lip, chin and jaw along the face's down direction
(`geometry.lower_jaw`), as a jaw moves.
"""

from __future__ import annotations

import cv2
import numpy as np

from livepresenter.face.geometry import eye_distance, face_down, lip_opening, lower_jaw

__all__ = ["AGREED_PULL", "HAIR_PULL", "MouthReading", "hairiness"]

HAIR_PULL = 0.05
"""Share of the gap to the landmarker's opening closed per 25-fps frame under full facial hair."""
AGREED_PULL = 0.5
"""The same under full facial hair when the lip points' changes agree with the flow's (`_AGREEMENT`)."""
_AGREEMENT = (0.6, 0.9)
"""Correlation of the landmarker's frame-to-frame opening change with the flow's: at or below the first the points
are not followed (`HAIR_PULL`), at or above the second fully (`AGREED_PULL`). Chosen on the tuned clips' painted
hair (BENCHMARKS.md, session 15): where the points follow the lips under hair they agree 0.6-0.75, elsewhere 0-0.5."""
_AGREEMENT_TIME_S = 2.0
"""Time constant of the running agreement: a few syllables."""
_FRAME_S = 1 / 25
_HAIR_RATIO = (0.55, 0.4)
"""Brightness of the philtrum or the chin over the nose's: at or above the first the skin is bare (clean faces in
the shared clips read 0.65-1.1), at or below the second it is covered by dark hair (painted hair reads 0.2-0.45)."""
_HAIR_TIME_S = 0.3
"""Time constant of the hairiness estimate: steady through a frame or two of a misplaced patch."""
_PATCH = 0.05
"""Half-side of the brightness patches, in outer-eye-corner distances."""
_FLOW_WINDOW = 15
_FLOW_LEVELS = 2
_MARGIN = 0.3
"""Mouth-region margin around the points used, in outer-eye-corner distances (room for the flow windows)."""
_REGION = np.r_[6:11, 29:36, 48:68]


def _flow_points(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where the upper lip's hair and the lower lip's are followed: on and above the upper lip (the moustache,
    the philtrum), and on the lower lip's sides and the chin below it (a beard). The lower lip's middle is left out:
    under a beard the landmarker puts it anywhere from the lip to the beard's edge (tried on the tuned clips:
    mean correlation with the clean reading 0.67 with it, 0.71 without)."""
    upper = np.array([points[51], 0.5 * (points[33] + points[51]), points[50], points[52]])
    chin = points[8] - points[57]
    lower = np.array([points[57] + 0.3 * chin, points[57] + 0.6 * chin, points[56], points[58]])
    return upper, lower


def hairiness(grey: np.ndarray, points: np.ndarray) -> float:
    """0 for bare skin around the mouth, 1 for dark hair: the darker of the philtrum and the chin against the nose,
    mapped through `_HAIR_RATIO`. `grey` and `points` share pixels."""
    half = max(1.0, _PATCH * eye_distance(points))

    def brightness(centre: np.ndarray) -> float:
        x0, y0 = (max(int(v - half), 0) for v in centre)
        patch = grey[y0 : int(centre[1] + half) + 1, x0 : int(centre[0] + half) + 1]
        return float(np.median(patch)) if patch.size else 0.0

    nose = max(brightness(0.5 * (points[29] + points[30])), 1.0)
    darkest = min(brightness(0.5 * (points[33] + points[51])), brightness(0.5 * (points[57] + points[8]))) / nose
    bare, hair = _HAIR_RATIO
    return float(np.clip((bare - darkest) / (bare - hair), 0.0, 1.0))


class MouthReading:
    """Follows one face's mouth opening through a stream (see the module docstring)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget the face (lost, or a new stream): the next landmarks pass through unchanged."""
        self._previous: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._moments = np.zeros(3)
        """Running means of (landmarker change x flow change, landmarker change^2, flow change^2)."""
        self._opening = 0.0
        self._hair = 0.0
        self._t_s = 0.0

    def __call__(self, frame_rgb: np.ndarray, landmarks: np.ndarray, t_s: float) -> np.ndarray:
        """The landmarks with the lower lip and jaw moved to the fused opening (float32)."""
        points = np.asarray(landmarks, dtype=np.float64)
        measured = lip_opening(points)
        origin, grey = _region(frame_rgb, points)
        local = points - origin
        hair = hairiness(grey, local)
        previous = self._previous
        self._previous = (grey, local, origin)
        if previous is None:
            self._opening, self._hair, self._t_s = measured, hair, t_s
            return points.astype(np.float32)
        elapsed_s = max(t_s - self._t_s, 1e-3)
        frames = elapsed_s / _FRAME_S
        self._t_s = t_s
        self._hair += (1.0 - np.exp(-elapsed_s / _HAIR_TIME_S)) * (hair - self._hair)
        change = _flow_change(previous, frame_rgb, points)
        if change is None:  # the flow lost a point: trust the landmarker this frame
            self._opening = measured
            return points.astype(np.float32)
        measured_change = measured - lip_opening(previous[1])
        pull_per_frame = 1.0 - self._hair * (1.0 - self._hair_pull(measured_change, change, elapsed_s))
        pull = 1.0 - (1.0 - pull_per_frame) ** frames
        predicted = self._opening + change
        self._opening = predicted + pull * (measured - predicted)
        if self._opening == measured:
            return points.astype(np.float32)
        return lower_jaw(points, self._opening - measured).astype(np.float32)

    def _hair_pull(self, measured_change: float, flow_change: float, elapsed_s: float) -> float:
        """The pull towards the lip points under full hair: `HAIR_PULL`, rising to `AGREED_PULL` as the running
        correlation of their opening change with the flow's climbs through `_AGREEMENT`."""
        moments = np.array([measured_change * flow_change, measured_change**2, flow_change**2])
        self._moments += (1.0 - np.exp(-elapsed_s / _AGREEMENT_TIME_S)) * (moments - self._moments)
        both, measured, flow = self._moments
        agreement = both / np.sqrt(measured * flow) if measured * flow > 1e-12 else 0.0
        low, high = _AGREEMENT
        followed = float(np.clip((agreement - low) / (high - low), 0.0, 1.0))
        return HAIR_PULL + followed * (AGREED_PULL - HAIR_PULL)


def _region(frame_rgb: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mouth region's top-left corner (x, y) and its grey pixels."""
    margin = _MARGIN * eye_distance(points)
    used = points[_REGION]
    h, w = frame_rgb.shape[:2]
    x0, y0 = (np.clip(np.floor(used.min(0) - margin), 0, [w - 1, h - 1])).astype(int)
    x1, y1 = (np.clip(np.ceil(used.max(0) + margin), 1, [w, h])).astype(int)
    grey = cv2.cvtColor(np.ascontiguousarray(frame_rgb[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY)
    return np.array([x0, y0], dtype=np.float64), grey


def _flow_change(previous: tuple[np.ndarray, np.ndarray, np.ndarray], frame_rgb: np.ndarray,
                 points: np.ndarray) -> float | None:
    """How much the opening changed since the previous frame by the flow of the hair above and below the mouth
    (outer-eye-corner distances), or None when a point could not be followed."""
    grey_before, local_before, origin = previous
    h, w = grey_before.shape
    x0, y0 = origin.astype(int)
    now = cv2.cvtColor(np.ascontiguousarray(frame_rgb[y0 : y0 + h, x0 : x0 + w]), cv2.COLOR_RGB2GRAY)
    if now.shape != grey_before.shape:
        return None
    upper, lower = _flow_points(local_before)
    start = np.vstack([upper, lower]).astype(np.float32).reshape(-1, 1, 2)
    end, found, _ = cv2.calcOpticalFlowPyrLK(grey_before, now, start, None, winSize=(_FLOW_WINDOW, _FLOW_WINDOW),
                                             maxLevel=_FLOW_LEVELS)
    if end is None or not found.all():
        return None
    moved = (end - start).reshape(-1, 2)
    half = len(upper)
    return float((moved[half:].mean(0) - moved[:half].mean(0)) @ face_down(points)) / eye_distance(points)
