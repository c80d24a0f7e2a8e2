"""Automatic choice of the reference driving frame for relative motion.

Engines animate the portrait by the *change* between the reference driving frame and the current one. If the
reference shows the presenter turned away or with the mouth open while the portrait is frontal and closed-mouthed,
that offset is replayed on every frame (the portrait keeps its mouth open when the presenter closes theirs). So
the reference is the frame, among the first seconds, whose face shape is closest to the portrait's: landmarks
compared after removing position, size and in-plane rotation, which leaves expression and head turn (yaw, pitch).
Only brows, nose and eyes are compared (MATCHED_POINTS): the reference's mouth is closed separately (below), and lips
and jaw in mid-speech differ from frame to frame by more than the head's pose does, so matching on them let which
frames join the estimate hinge on the driver's lip and jaw readings (a 15 % longer face made of the same clip left 9
of 31 frames, and the portrait rested 1.6 px elsewhere; BENCHMARKS.md, issue 20).

The reference is not that single frame, though: several frames of a presenter at rest match the portrait almost
equally well (within a few thousandths of shape distance), and which one wins hinges on landmark noise; a re-encode
of the same clip picks another, and the portrait's whole head then rests a few pixels elsewhere for the entire
output. So the reference is a neutral estimate over the frames that match nearly as well as the best: the weighted
mean of their shapes (aligned by similarity), with the crop of the real frame nearest to it (for engines that read
pixels). It is placed at the mean pose (position, size, roll) of every face of the window, not of those frames
only: a head drifts by a few pixels over two seconds, and which frames match best still hinges on landmark noise
(a re-encode) and on the driver's face shape, which must not move where the portrait rests.

Motion is measured from the reference, so its mouth is the driver's closed mouth: its mouth and chin are the mean of
the window's frames whose lips are open no wider than the narrowest opening seen plus the tracker's noise on a still
mouth (`with_mouth_of`), and its jaw is raised to that opening if still wider. A driver holding their resting face then
leaves the portrait's mouth at rest whether their lips rest shut or apart, and a reference picked mid-speech does not
keep the portrait's mouth shut until the driver opens wider than then.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from livepresenter.face import Face, TrackedFace
from livepresenter.face.crop import to_crop_coords
from livepresenter.face.geometry import STABLE_POINTS, Affine, fit_similarity, lip_opening, lower_jaw

log = logging.getLogger(__name__)

CHIN_AND_MOUTH = np.r_[3:14, 48:68]
"""The landmarks the reference takes from the driver's shut-mouth frames: the jaw below the ears, and the lips."""

MATCHED_POINTS = np.r_[17:48]
"""The landmarks the picker compares with the portrait's: brows, nose and eyes (iBUG-68 indices)."""

NEUTRAL_MARGIN = 0.02
"""Frames whose shape distance to the portrait (over MATCHED_POINTS) is within this of the best one's (a
dimensionless Procrustes distance) join the neutral estimate, weighted from 1 (the best) down to 0 at the margin. It
takes in 39-50 of a GRID speaker's 50 window frames (a speaker holding their head still) and 28-48 of 48 of the
Pexels clip's expressive ones, depending on the portrait, so noise in any few frames moves the estimate little."""


SHUT_LIPS_NOISE = 0.01
"""The reference's mouth is closed to this much above the narrowest lip opening of the window (outer-eye-corner
distances): the tracker's reading of a still mouth varies by about 0.004 (standard deviation), its lowest of 60
re-captured frames 0.005-0.008 below their mean, and closing to that lowest reading would part the portrait's lips
for a driver holding still."""


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


def neutral_landmarks(candidates: Sequence[np.ndarray], weights: Sequence[float],
                      posed_by: Sequence[np.ndarray] | None = None) -> np.ndarray:
    """A (68, 2) neutral face from several weighted landmark sets of one presenter, in their image pixels.

    Shape: every set is aligned onto the first by a similarity fitted on STABLE_POINTS (head pose removed,
    expression kept), and the weighted per-point mean is taken. Pose: the mean, over the sets (weighted), or over
    `posed_by` when given (equally), of the similarity taking that shape onto each (scale-rotation and shift about
    the shape's centre), so the estimate rests where the presenter rests, not where one frame happened to be. A
    weighted mean, not a median: it moves continuously as weights change, so a frame entering or leaving the set
    with a small weight moves it little.
    """
    sets = [np.asarray(c, dtype=np.float64) for c in candidates]
    w = np.asarray(weights, dtype=np.float64)
    w = w / w.sum()
    anchor = sets[0][STABLE_POINTS]
    aligned = np.stack([fit_similarity(c[STABLE_POINTS], anchor).apply(c) for c in sets])
    shape = np.tensordot(w, aligned, axes=1)
    centred = shape - shape[STABLE_POINTS].mean(axis=0)
    if posed_by is not None:
        sets = [np.asarray(p, dtype=np.float64) for p in posed_by]
        w = np.full(len(sets), 1.0 / len(sets))
    poses = [fit_similarity(centred[STABLE_POINTS], c[STABLE_POINTS]) for c in sets]
    # A weighted mean of similarities (scaled rotations and shifts) is itself a similarity.
    mean_pose = Affine(np.tensordot(w, [p.linear for p in poses], axes=1),
                       np.tensordot(w, [p.shift for p in poses], axes=1))
    return mean_pose.apply(centred)


def neutral_reference(candidates: Sequence[TrackedFace], weights: Sequence[float],
                      posed_by: Sequence[np.ndarray] | None = None) -> TrackedFace:
    """The TrackedFace of `neutral_landmarks` over `candidates` (all with a face, best first) and `posed_by`: the
    landmarks are the estimate, the crop and index those of the candidate nearest to it (FOMM reads the crop; idle
    motion moves it); a single candidate without `posed_by` is returned as is."""
    if len(candidates) == 1 and posed_by is None:
        return candidates[0]
    landmarks = neutral_landmarks([c.face.landmarks for c in candidates if c.face is not None], weights, posed_by)
    nearest = min(candidates, key=lambda c: float(np.linalg.norm(c.face.landmarks - landmarks, axis=1).mean())
                  if c.face is not None else float("inf"))
    return _with_landmarks(nearest, landmarks)


def closed_mouth(reference: TrackedFace, opening: float) -> TrackedFace:
    """`reference` with its jaw raised until its lips are open no wider than `opening` (outer-eye-corner distances,
    at least 0); as it is when they already are."""
    assert reference.face is not None
    excess = lip_opening(reference.face.landmarks) - max(opening, 0.0)
    if excess <= 0.0:
        return reference
    return _with_landmarks(reference, lower_jaw(reference.face.landmarks, -excess))


def with_mouth_of(reference: TrackedFace, shut: Sequence[np.ndarray]) -> TrackedFace:
    """`reference` with its mouth and chin (CHIN_AND_MOUTH) replaced by those of the mean of `shut`, landmark sets
    of the driver's frames with lips (nearly) shut, aligned onto it on STABLE_POINTS.

    The estimate's own mouth is a mean over frames chosen for their eyes, brows and pose, mid-speech ones included;
    raising its jaw shuts it, but its corners and lip shapes stay those of speech, and a driver at rest then moves
    the portrait's mouth away from its own (identity distance; BENCHMARKS.md, issue 20)."""
    assert reference.face is not None
    closed = neutral_landmarks(shut, np.ones(len(shut)))
    aligned = fit_similarity(closed[STABLE_POINTS], reference.face.landmarks[STABLE_POINTS]).apply(closed)
    landmarks = reference.face.landmarks.astype(np.float64, copy=True)
    landmarks[CHIN_AND_MOUTH] = aligned[CHIN_AND_MOUTH]
    return _with_landmarks(reference, landmarks)


def _with_landmarks(tracked: TrackedFace, landmarks: np.ndarray) -> TrackedFace:
    """`tracked` (which has a face) with other image landmarks, its crop's landmarks to match."""
    assert tracked.face is not None
    face = Face(box=tracked.face.box, landmarks=landmarks.astype(np.float32), score=tracked.face.score)
    crop_landmarks = to_crop_coords(landmarks, tracked.crop_box, tracked.crop.shape[0])
    return TrackedFace(tracked.index, face, tracked.crop_box, tracked.crop, crop_landmarks)


class ReferencePicker:
    """Estimates, from the tracked frames offered during a window, the neutral face that best matches the portrait.

    Feed it every tracked frame; read `best` when it changes or once `done`. `best` is the neutral estimate (see
    the module docstring) over the frames whose shape distance is within NEUTRAL_MARGIN of the best frame's, at the
    mean pose of all faces seen and with its mouth closed to the narrowest opening seen. `reset()` restarts the
    window (the user's manual reset, e.g. after sitting down again): the next face seen becomes the reference at
    once, and better estimates replace it until the window ends.

    Args:
        portrait_landmarks: (68, 2) landmarks of the portrait's face, in any pixel frame.
        window_frames: how many frames (after start or reset) are considered: 75 is 3 s at 25 fps.
    """

    def __init__(self, portrait_landmarks: np.ndarray, *, window_frames: int = 75) -> None:
        if portrait_landmarks.shape != (68, 2):
            raise ValueError(f"expected (68, 2) portrait landmarks, got {portrait_landmarks.shape}")
        if window_frames < 1:
            raise ValueError(f"window_frames must be >= 1, got {window_frames}")
        self._target = np.asarray(portrait_landmarks, dtype=np.float64)[MATCHED_POINTS]
        self.window_frames = window_frames
        self.reset()

    def reset(self) -> None:
        """Start a fresh window and forget the current reference."""
        self._seen = 0
        self._faces: list[tuple[float, TrackedFace]] = []
        self._estimate: tuple[TrackedFace, float] | None = None
        self._best_frame_distance = float("inf")

    @property
    def best(self) -> TrackedFace | None:
        """The reference so far (the same object until another face is offered), or None before any face."""
        estimate = self._estimated()
        return estimate[0] if estimate is not None else None

    @property
    def best_distance(self) -> float:
        """Shape distance of `best` to the portrait over MATCHED_POINTS (see shape_distance); inf before any face."""
        estimate = self._estimated()
        return estimate[1] if estimate is not None else float("inf")

    @property
    def done(self) -> bool:
        """True once the window is over and a reference was found; later frames are ignored."""
        return self._seen >= self.window_frames and bool(self._faces)

    def offer(self, tracked: TrackedFace) -> bool:
        """Consider one tracked frame; True when it is the best-matching single frame so far (every face seen
        during the window may still change `best`, the estimate)."""
        if self.done:
            return False
        self._seen += 1
        if tracked.face is None:
            return False
        distance = shape_distance(tracked.face.landmarks[MATCHED_POINTS], self._target)
        self._faces.append((distance, tracked))
        self._estimate = None
        if distance >= self._best_frame_distance:
            return False
        self._best_frame_distance = distance
        log.debug("best single frame so far %d (shape distance %.3f)", tracked.index, distance)
        return True

    def _estimated(self) -> tuple[TrackedFace, float] | None:
        """(`best`, its distance), computed once per change of the frames seen."""
        if self._estimate is None and self._faces:
            ranked = sorted(self._faces, key=lambda item: item[0])
            # Weight 1 for the best frame down to 0 at NEUTRAL_MARGIN from it: continuous in every distance.
            weighted = [(t, 1.0 - (d - ranked[0][0]) / NEUTRAL_MARGIN) for d, t in ranked]
            chosen = [t for t, w in weighted if w > 0.0]
            seen = [t.face.landmarks for _, t in self._faces if t.face is not None]
            reference = neutral_reference(chosen, [w for _, w in weighted if w > 0.0], posed_by=seen)
            openings = [lip_opening(points) for points in seen]
            shut = min(openings) + SHUT_LIPS_NOISE
            reference = with_mouth_of(reference, [p for p, o in zip(seen, openings, strict=True) if o <= shut])
            reference = closed_mouth(reference, shut)
            assert reference.face is not None
            distance = shape_distance(reference.face.landmarks[MATCHED_POINTS], self._target)
            self._estimate = (reference, distance)
            log.debug("reference: neutral estimate over %d frames, nearest frame %d (shape distance %.3f)",
                      len(chosen), reference.index, distance)
        return self._estimate
