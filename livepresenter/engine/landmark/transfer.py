"""FOMM-style relative landmark transfer, without learned weights.

The driving face's motion is measured against a reference frame and re-applied to the portrait's own
landmarks, so the portrait keeps its face shape and only borrows the motion. A pose fit on landmarks
that expressions barely move splits the motion into head pose and expression (what is left once the
pose is undone), so a nod is applied to the whole head rather than read as brows dropping onto the
eyes. The pose is a rotation in 3-D (`face.pose`): the reference and the portrait are lifted with a
generic face depth, the driver's rotation is a weak-perspective fit of the lifted reference, and the
lifted portrait is turned by it and projected, so a turned head compresses the far cheek and brings
the nose round instead of shearing the photograph (within the turn a photograph supports: `yaw_range`).
Pose and expression are carried into the portrait's frame by the reference-to-portrait similarity,
which scales motion to the portrait's face size and turns it with the portrait's tilt. The mouth's
motion is further scaled to the portrait's mouth where that is the smaller one (see `mouth_scale`).

The reference's mouth is taken as the driver's closed mouth: the reference picker closes it to the narrowest
opening the driver showed (`capture.reference`), so a driver at rest leaves the portrait's mouth at rest, whether
their lips rest shut or apart.
"""

from __future__ import annotations

import numpy as np

from livepresenter.face.geometry import (
    CLOSING_PAIRS,
    JAW,
    MOUTH,
    NOSE_BRIDGE,
    STABLE_POINTS,
    eye_distance,
    face_down,
    fit_similarity,
)
from livepresenter.face.pose import HeadPose, angles_of, fit_pose, lift, own_yaw, rest_model, rotation

# A mouth half the driver's width still gets this much of its motion (landmark noise on a tiny mouth must not
# freeze it).
_MIN_MOUTH_SCALE = 0.6
# The largest turn applied to a photograph, degrees, either way: beyond it the side turning into view would be
# stretched over what the photo never showed, and the face stops reading as that person.
MAX_YAW = 30.0
# The furthest a portrait is turned from facing the camera, its own turn included, degrees: a three-quarter portrait
# turned further folds its far cheek behind the nose, which a warp cannot show, so it turns less that way.
MAX_TOTAL_YAW = 40.0
# A portrait photographed turned further than THREE_QUARTER_YAW hides its far cheek: turned back towards frontal it
# is given at most MAX_REVEAL degrees, as the generic depth, laid on a face seen that far round, stretches the sliver
# of far cheek over the whole turn (Tesla on the Pexels clip: turned identity 0.309 -> 0.298, yaw error 6.5 -> 4.2).
THREE_QUARTER_YAW = 30.0
MAX_REVEAL = 10.0


def uncross_closing_pairs(landmarks: np.ndarray, down: np.ndarray) -> np.ndarray:
    """Return a copy where no upper lip or lid point sits below its lower partner.

    Relative motion can push them past each other (driver's mouth was a little open in the
    reference, portrait's is shut); crossed pairs would fold the warp, so they meet halfway instead.
    """
    return open_closing_pairs(landmarks, down, np.zeros(len(CLOSING_PAIRS)))


def open_closing_pairs(landmarks: np.ndarray, down: np.ndarray, min_gaps: np.ndarray) -> np.ndarray:
    """Return a copy where each CLOSING_PAIRS lower point sits at least min_gaps[k] below its upper
    partner along `down`; pairs that are too close move apart symmetrically."""
    out = landmarks.astype(np.float64, copy=True)
    upper, lower = CLOSING_PAIRS[:, 0], CLOSING_PAIRS[:, 1]
    shortfall = np.minimum((out[lower] - out[upper]) @ down - min_gaps, 0.0)
    out[upper] += 0.5 * shortfall[:, None] * down
    out[lower] -= 0.5 * shortfall[:, None] * down
    return out


class RelativeTransfer:
    """Turns driving landmarks into portrait landmarks, relative to a driving reference frame.

    One adjustment to plain relative motion: the mouth and jaw move by `mouth_scale` of the driver's motion.
    With the portrait itself as reference (self-reconstruction) it changes nothing.
    """

    def __init__(self, portrait_landmarks: np.ndarray, reference_landmarks: np.ndarray) -> None:
        self._portrait = portrait_landmarks.astype(np.float64)
        reference = reference_landmarks.astype(np.float64)
        self._to_portrait = fit_similarity(reference[STABLE_POINTS], self._portrait[STABLE_POINTS])
        self._reference_model = rest_model(reference)
        self._reference_centre = self._reference_model[STABLE_POINTS].mean(0)
        portrait_model = rest_model(self._portrait)
        self._portrait_depth = portrait_model[:, 2]
        self._portrait_centre = portrait_model[STABLE_POINTS].mean(0)
        self._yaw_range = yaw_range(own_yaw(self._portrait))
        tilt = np.degrees(np.arctan2(self._to_portrait.linear[1, 0], self._to_portrait.linear[0, 0]))
        self._tilt = rotation(0.0, 0.0, float(tilt))
        self._down = face_down(self._portrait)
        self._reference_down = face_down(reference)
        self._mouth_scale = mouth_scale(self._portrait, reference)

    def __call__(self, driving_landmarks: np.ndarray) -> np.ndarray:
        """(68, 2) driving landmarks (any pixel frame consistent with the reference) -> (68, 2)
        float32 target landmarks in portrait pixels."""
        driving = driving_landmarks.astype(np.float64)
        head = fit_pose(self._reference_model, driving)
        seen = head.scale * (self._reference_model - self._reference_centre) @ head.rotation[:2].T + head.centre
        in_plane = head.scale * head.rotation[:2, :2]
        expression = (driving - seen) @ np.linalg.inv(in_plane).T
        # The jaw contour keeps only its up-down motion (the jaw opening): its sideways residual is
        # mostly where the generic depth misses the driver's cheek, which would reshape the portrait's outline.
        expression[JAW] = np.outer(expression[JAW] @ self._reference_down, self._reference_down)
        expression[JAW] *= self._mouth_scale
        expression[MOUTH] *= self._mouth_scale
        # The nose bridge is bone: it moves only with the head. What is left there once the pose is undone is the
        # driver's own nose against the generic depth (and the tracker's noise); carried over, it reshapes the
        # portrait's nose as the driver turns (turned identity of the six portraits on the Pexels clip 0.280-0.318
        # -> 0.274-0.315).
        expression[NOSE_BRIDGE] = 0.0
        return self._placed(self._portrait + expression @ self._to_portrait.linear.T, head)

    def head_only(self, driving_landmarks: np.ndarray) -> np.ndarray:
        """As calling the transfer, but with none of the driver's expression: the portrait's own face moved as the
        driver's head is. What turning the photograph costs on its own (the evaluation's floor for identity through a
        turn)."""
        return self._placed(self._portrait, fit_pose(self._reference_model, driving_landmarks.astype(np.float64)))

    def _placed(self, posed: np.ndarray, head: HeadPose) -> np.ndarray:
        """The portrait's landmarks, with an expression already applied (`posed`), lifted, turned by the driver's
        `head` pose within the portrait's yaw range, and projected back into portrait pixels (float32)."""
        posed = uncross_closing_pairs(posed, self._down)
        into_portrait = self._to_portrait.linear
        turn = self._tilt @ capped_turn(head.rotation, self._yaw_range) @ self._tilt.T
        shift = into_portrait @ (head.centre - self._reference_centre[:2])
        model = lift(posed, self._portrait_depth) - self._portrait_centre
        target = self._portrait_centre[:2] + shift + head.scale * model @ turn[:2].T
        return target.astype(np.float32)


def yaw_range(portrait_yaw: float) -> tuple[float, float]:
    """The turns (degrees, low, high) a portrait photographed at `portrait_yaw` is given: at most MAX_YAW either way,
    never past MAX_TOTAL_YAW from frontal (but always some way back towards frontal), and at most MAX_REVEAL back
    towards frontal from beyond THREE_QUARTER_YAW."""
    low = max(-MAX_YAW, min(0.0, -MAX_TOTAL_YAW - portrait_yaw))
    high = min(MAX_YAW, max(0.0, MAX_TOTAL_YAW - portrait_yaw))
    if portrait_yaw < -THREE_QUARTER_YAW:
        high = min(high, MAX_REVEAL)
    if portrait_yaw > THREE_QUARTER_YAW:
        low = max(low, -MAX_REVEAL)
    return low, high


def capped_turn(turn: np.ndarray, allowed: tuple[float, float] = (-MAX_YAW, MAX_YAW)) -> np.ndarray:
    """The rotation with its yaw limited to the `allowed` range (pitch and roll kept)."""
    yaw, pitch, roll = angles_of(turn)
    if allowed[0] <= yaw <= allowed[1]:
        return turn
    return rotation(float(np.clip(yaw, *allowed)), pitch, roll)


def mouth_width(landmarks: np.ndarray) -> float:
    """Corner-to-corner mouth width (points 48-54), in outer-eye-corner distances."""
    points = np.asarray(landmarks, dtype=np.float64)
    return float(np.linalg.norm(points[54] - points[48])) / eye_distance(points)


def mouth_scale(portrait: np.ndarray, reference: np.ndarray) -> float:
    """How much of the driver's mouth motion a portrait's mouth carries: the ratio of mouth widths when the
    portrait's mouth is the smaller (at most 1, at least `_MIN_MOUTH_SCALE`).

    Face-size scaling alone moves a small mouth as far as the driver's wide one, which stretches it past
    anything that face does, and it stops reading as that person (BENCHMARKS.md: identity distances on the
    Pexels clip, and mouth amplitudes nearer the driver's). Motion relative to the feature's own size, as
    FOMM's keypoints move in their local frames; a wider mouth is not driven beyond the driver's motion.
    """
    ratio = mouth_width(portrait) / max(mouth_width(reference), 1e-9)
    return float(np.clip(ratio, _MIN_MOUTH_SCALE, 1.0))

