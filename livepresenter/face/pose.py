"""Head pose in 3-D from 68 iBUG landmarks: a generic face depth lifts a face's own rest landmarks into a 3-D model,
and a weak-perspective (scaled orthographic) fit of that model to later landmarks gives the head's rotation.

One model serves the landmark engine (which turns the portrait's lifted landmarks by the driver's rotation) and the
evaluation (which reads the yaw of driver and output the same way), so the two cannot disagree on what a turn is.

Coordinates: x to the image's right, y down (pixels), z towards the camera. The depth is not anyone's measured face:
a parametric head written per landmark group in outer-eye-corner distances (cheeks and jaw on an ellipse, the nose
standing out, the eyes set back under the brows), scaled to the face it lifts. Angles are in degrees: yaw positive
when the face turns towards the image's right (as `face_turn`), pitch positive when it nods down. Poses are relative
to the rest face the model is lifted from; how far a photographed face is turned in itself (`own_yaw`) is read against
its mirror-symmetric shape, which is what the engine caps a three-quarter portrait's turns by.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from livepresenter.face.geometry import STABLE_POINTS, eye_distance, face_down, fit_similarity

__all__ = [
    "MIRROR",
    "HeadPose",
    "angles_of",
    "face_depth",
    "fit_pose",
    "frontal_shape",
    "lift",
    "own_yaw",
    "relative_yaw",
    "rest_model",
    "rotation",
    "yaw_of",
]

# Nose: the bridge (27-30) rises to the tip; the base (31-35) sits back from it, the wings most.
_NOSE = {27: 0.15, 28: 0.22, 29: 0.30, 30: 0.40, 31: 0.18, 32: 0.24, 33: 0.30, 34: 0.24, 35: 0.18}
# Eyes: outer corners are the reference plane, the inner corners and the lids over the eyeball stand a little out.
_EYES = {36: 0.0, 39: 0.10, 42: 0.10, 45: 0.0, **dict.fromkeys((37, 38, 40, 41, 43, 44, 46, 47), 0.12)}
_JAW_BACK, _CHIN = -0.45, 0.15  # the jaw outline's ends (by the ears) and the chin
_BROW_INNER, _BROW_FALL = 0.18, 0.25  # brows: inner ends over the nose, falling back towards the temples
_LIP_CENTRE, _LIP_FALL, _INNER_LIP_BACK = 0.30, 0.30, 0.03  # lips: centre out, corners back on the jaw's curve

MIRROR = np.r_[16:-1:-1, 26:16:-1, 27:31, 35:30:-1, 45:41:-1, 47, 46, 39:35:-1, 41, 40,
               54:47:-1, 59:54:-1, 64:59:-1, 67:64:-1]
"""iBUG-68 index of each point's mirror image across the face's midline (point i's partner is MIRROR[i])."""


@dataclass(frozen=True)
class HeadPose:
    """points ~= scale * (rotation @ (model - model_centre))[:2] + centre: a weak-perspective pose."""

    rotation: np.ndarray
    scale: float
    centre: np.ndarray

    @property
    def yaw(self) -> float:
        return yaw_of(self.rotation)


def face_depth(landmarks: np.ndarray) -> np.ndarray:
    """(68,) generic depth, in pixels towards the camera, for a face whose rest landmarks are `landmarks`.

    Written per group against the face's own across-face positions (along the eye line, in outer-eye-corner
    distances), so cheeks, brows and lips curve back over that face's width rather than an average face's.
    """
    points = np.asarray(landmarks, dtype=np.float64)
    unit = eye_distance(points)
    down = face_down(points)
    across = np.array([down[1], -down[0]])
    u = (points - 0.5 * (points[36] + points[45])) @ across / unit
    z = np.zeros(68)
    # Each group is curved about its own midline (chin, nose bridge, lip centre), and the jaw about each side's own
    # half-width, so a portrait photographed a little turned keeps its far cheek on the ellipse too.
    jaw = u[:17] - u[8]
    half = np.where(jaw < 0.0, -jaw[0], jaw[16])
    ratio = jaw / np.maximum(half, 1e-6)
    z[:17] = _JAW_BACK + (_CHIN - _JAW_BACK) * np.sqrt(np.clip(1.0 - ratio**2, 0.0, 1.0))
    z[17:27] = _BROW_INNER - _BROW_FALL * ((u[17:27] - u[27]) / 0.6) ** 2
    for index, depth in {**_NOSE, **_EYES}.items():
        z[index] = depth
    lips = _LIP_CENTRE - _LIP_FALL * ((u[48:68] - u[[51, 57]].mean()) / 0.3) ** 2
    lips[12:] -= _INNER_LIP_BACK
    z[48:68] = np.maximum(lips, _JAW_BACK)
    return z * unit


def lift(landmarks: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """(68, 3) model: the (68, 2) points with the given depth."""
    return np.column_stack([np.asarray(landmarks, dtype=np.float64), depth])


def rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Rotation turning a face by `yaw`, then nodding by `pitch` about its own ear-to-ear axis, tilted in the image
    by `roll` (degrees); R = Ry(yaw) @ Rx(pitch) @ Rz(roll), so roll never changes where the face looks."""
    y, p, r = np.radians([yaw, pitch, roll])
    ry = np.array([[np.cos(y), 0.0, np.sin(y)], [0.0, 1.0, 0.0], [-np.sin(y), 0.0, np.cos(y)]])
    rx = np.array([[1.0, 0.0, 0.0], [0.0, np.cos(p), np.sin(p)], [0.0, -np.sin(p), np.cos(p)]])
    rz = np.array([[np.cos(r), -np.sin(r), 0.0], [np.sin(r), np.cos(r), 0.0], [0.0, 0.0, 1.0]])
    return ry @ rx @ rz


def yaw_of(rotation_matrix: np.ndarray) -> float:
    """The yaw (degrees) of a rotation built as `rotation`: where the face's forward axis points, left-right."""
    forward = rotation_matrix[:, 2]
    return float(np.degrees(np.arctan2(forward[0], forward[2])))


def angles_of(rotation_matrix: np.ndarray) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees with `rotation(*angles_of(R))` == R."""
    forward = rotation_matrix[:, 2]
    yaw = yaw_of(rotation_matrix)
    pitch = float(np.degrees(np.arcsin(np.clip(forward[1], -1.0, 1.0))))
    roll_only = rotation(yaw, pitch, 0.0).T @ rotation_matrix
    return yaw, pitch, float(np.degrees(np.arctan2(roll_only[1, 0], roll_only[0, 0])))


def fit_pose(model: np.ndarray, points: np.ndarray, indices: np.ndarray = STABLE_POINTS) -> HeadPose:
    """Weak-perspective pose of a (68, 3) model seen as (68, 2) points, fitted on `indices` (the stable points: an
    expression is not read as a turn).

    Closed form: the least-squares affine camera, then its nearest scaled rotation (SVD), whose third row completes
    a proper rotation (determinant 1). Tens of microseconds, so the engine fits every frame.
    """
    source = model[indices] - model[indices].mean(0)
    target = np.asarray(points, dtype=np.float64)[indices]
    centre = target.mean(0)
    camera, *_ = np.linalg.lstsq(source, target - centre, rcond=None)  # (3, 2): points = source @ camera
    u, singular, vt = np.linalg.svd(camera.T, full_matrices=False)  # (2, 2), (2,), (2, 3)
    rows = u @ vt
    full = np.vstack([rows, np.cross(rows[0], rows[1])])
    return HeadPose(full, float(singular.mean()), centre)


def frontal_shape(landmarks: np.ndarray) -> np.ndarray:
    """(68, 2) the face made mirror-symmetric: the points averaged with their mirror images (fitted onto them by a
    similarity). A turned face's nose and cheeks shift sideways by its depth; symmetric, it is the face seen from in
    front (narrower by the turn's cosine), which is what the generic depth describes."""
    points = np.asarray(landmarks, dtype=np.float64)
    mirrored = points[MIRROR] * (-1.0, 1.0)
    return 0.5 * (points + fit_similarity(mirrored, points).apply(mirrored))


def rest_model(landmarks: np.ndarray) -> np.ndarray:
    """(68, 3) model of a face from its rest landmarks: the points, lifted with the generic depth.

    The depth is laid on the points as they are, even for a face photographed turned: lifted on its symmetric shape
    and turned with it, the far cheek of a three-quarter portrait lands behind the nose and any further turn folds
    it over the nose, which a warp cannot show (Einstein's face stopped being found at all).
    """
    return lift(landmarks, face_depth(landmarks))


def own_yaw(landmarks: np.ndarray) -> float:
    """How far (degrees) a face is turned in its photograph: its yaw against its own mirror-symmetric shape."""
    return relative_yaw(frontal_shape(landmarks), landmarks)


def relative_yaw(rest_landmarks: np.ndarray, landmarks: np.ndarray) -> float:
    """How far (degrees) a face seen as `landmarks` is turned from its pose in `rest_landmarks` (both (68, 2))."""
    return fit_pose(rest_model(rest_landmarks), landmarks).yaw
