"""Quality metrics for re-enactment, on per-frame observations (pure numpy, no models).

Self-reconstruction (as in the FOMM paper): the clip's frame 0 is the source, the clip drives it, and each output
frame is compared with the real frame at the same geometry (the frame scaled so its longer side is 256 px):
- L1: mean absolute difference of the two RGB images on [0, 1].
- AKD: mean Euclidean distance, in those 256-px pixels, between the 68 dlib landmarks of the output and of the real
  frame (`mouth_akd`: the same on the mouth points 48-67 only).
- AED: mean Euclidean distance between the dlib 128-D face embeddings of output and real frame.
The static baseline is the same comparison with frame 0 as the output of every frame.

A frame whose *real* image has no face cannot be scored and is left out of the landmark and embedding means (L1
still counts it). A frame whose *output* has no face while the real one has is a failure of the engine: as in the
FOMM paper it is counted (`missing_faces`, the numerator of its "missing keypoint rate") and left out of AKD/AED,
which cannot be measured on it. Reports show the count next to AKD so a face-destroying engine cannot hide there.

Cross-identity (a portrait driven by someone else): `id_dist` is the mean embedding distance of the output frames
from the portrait; the mouth follows the speaker when the lip opening (`face.geometry.lip_opening`: the inner-lip
pairs along the face's down direction, over the outer-eye-corner distance) of the output correlates over time with
the driving one (`mouth_corr`, Pearson) at a
similar amplitude (`mouth_amp`, ratio of standard deviations, output over driving).

Head turns (`TurnScores`): the yaw of driver and output, each relative to its own rest face (the driver's reference
frame, the still portrait) by the same weak-perspective fit of the generic 3-D face (`face.pose`) that
the landmark engine turns portraits with; the error is measured on frames with turns up to `TURN_RANGE`, and identity
again on the turned frames alone (|driver yaw| > `TURNED`), where a mean over a mostly frontal clip would hide it.
Beside it, two floors on the same frames: the portrait moved by the driver's head pose alone, with no expression (what
turning the photograph costs the embedding), and the driver's own frames against the driver's rest frame (what the
turn and the expression cost a real face).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from livepresenter.face.geometry import MOUTH, lip_opening
from livepresenter.face.pose import fit_pose, rest_model

__all__ = [
    "NO_FACE",
    "TARGETS",
    "TURNED",
    "TURN_RANGE",
    "CrossIdentityScores",
    "DriverScores",
    "HeadOnly",
    "Observation",
    "ReconstructionScores",
    "Targets",
    "TurnScores",
    "amplitude_ratio",
    "cross_identity_scores",
    "jitter",
    "keypoint_distance",
    "l1_distance",
    "pearson",
    "reconstruction_scores",
    "static_scores",
    "turn_scores",
]

TURN_RANGE = 30.0
"""Degrees: the driver turns the yaw error is measured over (the issue's range; the engine caps at it)."""
TURNED = 10.0
"""Degrees: a driver turned further than this is "turned" for the turned-frame identity."""


@dataclass(frozen=True)
class Observation:
    """What the evaluator saw in one image: (68, 2) landmarks in evaluation pixels and the 128-D embedding,
    both None when no face was found."""

    landmarks: np.ndarray | None
    embedding: np.ndarray | None

    @property
    def found(self) -> bool:
        return self.landmarks is not None


NO_FACE = Observation(None, None)


def l1_distance(a_rgb: np.ndarray, b_rgb: np.ndarray) -> float:
    """Mean absolute difference of two same-sized uint8 images, on [0, 1]."""
    if a_rgb.shape != b_rgb.shape:
        raise ValueError(f"L1 needs images of the same size, got {a_rgb.shape} and {b_rgb.shape}")
    return float(np.abs(a_rgb.astype(np.float32) - b_rgb.astype(np.float32)).mean() / 255.0)


def keypoint_distance(a: np.ndarray, b: np.ndarray, points: np.ndarray | None = None) -> float:
    """Mean Euclidean distance between corresponding landmarks (all 68, or the indices in `points`)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if points is not None:
        a, b = a[points], b[points]
    return float(np.linalg.norm(a - b, axis=1).mean())


def pearson(a: Sequence[float], b: Sequence[float]) -> float:
    """Pearson correlation of two equally long series; 0 when either does not vary (a mouth that never moves does
    not follow the speaker, and JSON has no NaN)."""
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"correlation needs series of the same length, got {x.shape} and {y.shape}")
    if x.size < 2:
        return 0.0
    x, y = x - x.mean(), y - y.mean()
    norm = float(np.sqrt((x @ x) * (y @ y)))
    return float(x @ y) / norm if norm > 1e-12 else 0.0


def jitter(series: Sequence[float]) -> float:
    """RMS second difference of a series: its frame-to-frame chatter, which speech rhythm alone keeps small."""
    return float(np.sqrt(np.mean(np.diff(np.asarray(series, dtype=np.float64), 2) ** 2)))


def amplitude_ratio(output: Sequence[float], driving: Sequence[float]) -> float:
    """Standard deviation of `output` over that of `driving` (1: the same amplitude); 0 when the driving series
    does not vary."""
    driving_std = float(np.std(driving))
    return float(np.std(output)) / driving_std if driving_std > 1e-12 else 0.0


def _embedding_distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(np.asarray(a, np.float64) - np.asarray(b, np.float64)))


def _mean(values: list[float]) -> float | None:
    """The mean, or None when nothing could be measured (JSON null, never NaN)."""
    return float(np.mean(values)) if values else None


@dataclass(frozen=True)
class ReconstructionScores:
    """Self-reconstruction scores of one clip (see the module docstring); None where no frame could be scored.

    frames: frames compared; frames_without_face: real frames with no face (not scored for AKD/AED);
    missing_faces: frames where the real frame has a face and the output has none.
    """

    l1: float
    akd: float | None
    mouth_akd: float | None
    aed: float | None
    frames: int
    frames_without_face: int
    missing_faces: int


def reconstruction_scores(
    l1_per_frame: Sequence[float], outputs: Sequence[Observation], reals: Sequence[Observation]
) -> ReconstructionScores:
    """Aggregate per-frame L1 values and the observations of output and real frames (same order, same length)."""
    if not len(l1_per_frame) == len(outputs) == len(reals) > 0:
        raise ValueError(
            f"need the same non-zero number of L1 values, outputs and reals, got "
            f"{len(l1_per_frame)}, {len(outputs)}, {len(reals)}"
        )
    akd, mouth_akd, aed = [], [], []
    missing = 0
    for output, real in zip(outputs, reals, strict=True):
        if not real.found:
            continue
        if not output.found:
            missing += 1
            continue
        akd.append(keypoint_distance(output.landmarks, real.landmarks))
        mouth_akd.append(keypoint_distance(output.landmarks, real.landmarks, MOUTH))
        aed.append(_embedding_distance(output.embedding, real.embedding))
    return ReconstructionScores(
        l1=float(np.mean(l1_per_frame)),
        akd=_mean(akd),
        mouth_akd=_mean(mouth_akd),
        aed=_mean(aed),
        frames=len(reals),
        frames_without_face=sum(not real.found for real in reals),
        missing_faces=missing,
    )


def static_scores(static_l1_per_frame: Sequence[float], reals: Sequence[Observation]) -> ReconstructionScores:
    """The "do nothing" baseline: frame 0 shown for every frame, so its observation is the real frame 0's."""
    return reconstruction_scores(static_l1_per_frame, [reals[0]] * len(reals), reals)


@dataclass(frozen=True)
class CrossIdentityScores:
    """A portrait driven by another person's clip (see the module docstring).

    frames: frames driven; missing_faces: output frames with no face (left out of id_dist); mouth_frames: frames
    where both output and driving have a face, over which mouth_corr and mouth_amp are computed.
    """

    id_dist: float | None
    mouth_corr: float
    mouth_amp: float
    frames: int
    missing_faces: int
    mouth_frames: int


def cross_identity_scores(
    outputs: Sequence[Observation], drivings: Sequence[Observation], portrait_embedding: np.ndarray
) -> CrossIdentityScores:
    """Identity kept (output vs portrait embedding) and mouth followed (output vs driving lip opening)."""
    if not len(outputs) == len(drivings) > 0:
        raise ValueError(f"need the same non-zero number of outputs and drivings, got {len(outputs)}, {len(drivings)}")
    id_dist = [_embedding_distance(o.embedding, portrait_embedding) for o in outputs if o.found]
    pairs = [(lip_opening(o.landmarks), lip_opening(d.landmarks))
             for o, d in zip(outputs, drivings, strict=True) if o.found and d.found]
    output_gap = [p[0] for p in pairs]
    driving_gap = [p[1] for p in pairs]
    return CrossIdentityScores(
        id_dist=_mean(id_dist),
        mouth_corr=pearson(output_gap, driving_gap),
        mouth_amp=amplitude_ratio(output_gap, driving_gap),
        frames=len(outputs),
        missing_faces=sum(not o.found for o in outputs),
        mouth_frames=len(pairs),
    )


@dataclass(frozen=True)
class TurnScores:
    """How a portrait follows the driver's head turns (module docstring); None where nothing could be measured.

    yaw_err_mean, yaw_err_max: |output yaw - driver yaw| in degrees over the `yaw_frames` frames where both faces were
    found and the driver turned at most TURN_RANGE; driver_yaw_max: the driver's largest |yaw| there. turned_frames:
    frames where the driver is turned more than TURNED; turned_id_dist: the identity distance over those of them whose
    output has a face; turned_missing_faces: those whose output has none (the detector missed the turned portrait).
    head_only_id_dist: the identity distance over the turned frames of the portrait moved by the driver's head pose
    alone (None where the engine cannot render that); driver_turned_id_dist: the driver's own turned frames against
    the driver's rest frame.
    """

    yaw_err_mean: float | None
    yaw_err_max: float | None
    yaw_frames: int
    driver_yaw_max: float | None
    turned_frames: int
    turned_id_dist: float | None
    turned_missing_faces: int
    head_only_id_dist: float | None = None
    driver_turned_id_dist: float | None = None


HeadOnly = Callable[[np.ndarray], Observation]
"""The driving frame's landmarks (evaluation pixels) -> the portrait moved by that frame's head pose alone, observed."""


def turn_scores(outputs: Sequence[Observation], drivings: Sequence[Observation], portrait_landmarks: np.ndarray,
                driver_rest: np.ndarray, portrait_embedding: np.ndarray, *,
                driver_rest_embedding: np.ndarray | None = None, head_only: HeadOnly | None = None) -> TurnScores:
    """Yaw followed and identity when turned (`TurnScores`); `portrait_landmarks` and `driver_rest` are the rest faces
    the yaws are measured from, each in its own evaluation pixels. The floors are measured when their inputs are
    given: the driver's rest embedding, and `head_only` (called on the turned frames alone)."""
    if not len(outputs) == len(drivings) > 0:
        raise ValueError(f"need the same non-zero number of outputs and drivings, got {len(outputs)}, {len(drivings)}")
    driver_model, portrait_model = rest_model(driver_rest), rest_model(portrait_landmarks)
    errors, driver_yaws, turned_id, turned, missing = [], [], [], 0, 0
    head_only_id, driver_id = [], []
    for output, driving in zip(outputs, drivings, strict=True):
        if not driving.found:
            continue
        driver_yaw = fit_pose(driver_model, driving.landmarks).yaw
        if abs(driver_yaw) > TURNED:
            turned += 1
            if output.found:
                turned_id.append(_embedding_distance(output.embedding, portrait_embedding))
            else:
                missing += 1
            if driver_rest_embedding is not None:
                driver_id.append(_embedding_distance(driving.embedding, driver_rest_embedding))
            moved = head_only(driving.landmarks) if head_only is not None else NO_FACE
            if moved.found:
                head_only_id.append(_embedding_distance(moved.embedding, portrait_embedding))
        if output.found and abs(driver_yaw) <= TURN_RANGE:
            errors.append(abs(fit_pose(portrait_model, output.landmarks).yaw - driver_yaw))
            driver_yaws.append(abs(driver_yaw))
    return TurnScores(
        yaw_err_mean=_mean(errors),
        yaw_err_max=max(errors, default=None),
        yaw_frames=len(errors),
        driver_yaw_max=max(driver_yaws, default=None),
        turned_frames=turned,
        turned_id_dist=_mean(turned_id),
        turned_missing_faces=missing,
        head_only_id_dist=_mean(head_only_id),
        driver_turned_id_dist=_mean(driver_id),
    )


@dataclass(frozen=True)
class DriverScores:
    """How a portrait answers drivers derived from the clip (issue 20; `evaluate.driver_checks`), measured in the
    256-px face view every cross-identity output is seen in. Landmark distances are the optical flow between two
    outputs at the 68 landmarks, in pixels (mean over points and frames).

    neutral_px: how far the output's landmarks are from the portrait's own while the driver holds a neutral face
    (the clip's frame nearest the portrait's reference, re-captured with camera noise); neutral_id_dist: the
    output's embedding distance from the portrait meanwhile (mean over every fifth frame). reencoded_px,
    reencoded_pixel_diff: the outputs under the clip re-encoded at CRF 12 against those under the clip itself,
    landmark distance and mean absolute pixel difference (0-255). face_shape_px: the landmark distance under the clip
    stretched into another face shape (`derived.FACE_SHAPES`), by shape.
    """

    neutral_px: float
    neutral_id_dist: float | None
    reencoded_px: float
    reencoded_pixel_diff: float
    face_shape_px: dict[str, float]


@dataclass(frozen=True)
class Targets:
    """The issue's quality targets for the landmark engine (defaults), as checks on the scores."""

    akd_vs_static: float = 0.5
    mouth_akd_vs_static: float = 0.35
    max_id_dist: float = 0.30
    max_yaw_err: float = 5.0
    min_mouth_corr: float = 0.6
    mouth_amp_range: tuple[float, float] = (0.5, 2.0)
    max_neutral_px: float = 1.0
    max_neutral_id_dist: float = 0.1
    max_reencoded_px: float = 1.0
    max_face_shape_px: float = 1.0

    def reconstruction(self, scores: ReconstructionScores, static: ReconstructionScores) -> dict[str, bool]:
        """akd and mouth_akd against the static baseline's (False when either could not be measured)."""
        return {
            "akd": _at_most(scores.akd, static.akd, self.akd_vs_static),
            "mouth_akd": _at_most(scores.mouth_akd, static.mouth_akd, self.mouth_akd_vs_static),
        }

    def cross_identity(self, scores: CrossIdentityScores) -> dict[str, bool]:
        low, high = self.mouth_amp_range
        return {
            "id_dist": scores.id_dist is not None and scores.id_dist < self.max_id_dist,
            "mouth_corr": scores.mouth_corr >= self.min_mouth_corr,
            "mouth_amp": low <= scores.mouth_amp <= high,
        }

    def turns(self, scores: TurnScores) -> dict[str, bool]:
        """The portrait's yaw follows the driver's (mean error), and stays itself where the driver is turned (only
        when the clip has turned frames)."""
        checks = {"yaw": scores.yaw_err_mean is not None and scores.yaw_err_mean <= self.max_yaw_err}
        if scores.turned_frames:
            checks["turned_id_dist"] = scores.turned_id_dist is not None and scores.turned_id_dist < self.max_id_dist
        return checks

    def drivers(self, scores: DriverScores) -> dict[str, bool]:
        """The derived-driver checks: a neutral driver leaves the portrait still, a re-encoded one moves it alike,
        and so does every other face shape."""
        return {
            "neutral_driver": scores.neutral_px <= self.max_neutral_px and scores.neutral_id_dist is not None
            and scores.neutral_id_dist <= self.max_neutral_id_dist,
            "reencoded_driver": scores.reencoded_px <= self.max_reencoded_px,
            "face_shape": max(scores.face_shape_px.values()) <= self.max_face_shape_px,
        }


TARGETS = Targets()


def _at_most(value: float | None, baseline: float | None, factor: float) -> bool:
    return value is not None and baseline is not None and value <= factor * baseline
