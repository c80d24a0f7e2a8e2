"""Runs the evaluation of one driving clip: self-reconstruction, the static baseline, and cross-identity portraits.

The portraits are prepared as every presenter is (`presenter.preparation`) and animated by the product's one frame
path (`pipeline.FramePath`, the step the live camera and `render` run, with render's offline reference policy:
tracking, the engine holding its last pose on lost faces), so the numbers describe what users get. The reference
frame for relative motion differs by mode:
- self-reconstruction: the source is the clip's frame 0 and so is the reference (motion relative to the source
  itself, as in the FOMM paper's reconstruction protocol);
- cross-identity: the reference is picked like `render` does, the neutral estimate over the frames of the first 2 s
  whose face shape best matches the portrait's (ReferencePicker); "reference frame" is the real frame nearest it.

Every real frame is observed once (fresh detection at the 256-px evaluation size, see observe.py) and serves the
reconstruction, the static baseline and the cross-identity mouth series. Self-reconstruction outputs are frame-sized
and viewed like the real frames; a cross-identity output is portrait-sized and viewed as a fixed 256-px crop around
the portrait's face (the tracker's framing of the still portrait), where the portrait's own embedding is taken too.

With `mouth_truth` (a clip of the same motion seen cleanly, e.g. the clean clip a moustache was painted onto: see
evaluate/facial_hair.py), the cross-identity mouth series is that clip's lip opening instead of the driving clip's own,
which facial hair makes unreliable.

With `driver_checks`, each portrait is then driven by drivers derived from the clip (a held neutral face, the clip
re-encoded, the clip as a longer and a wider face; see driver_checks.py) and compared with its outputs here.
"""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import numpy as np

from livepresenter.capture import FaceTracker
from livepresenter.engine.landmark import LandmarkEngine
from livepresenter.engine.landmark.transfer import RelativeTransfer
from livepresenter.errors import InputError, NoFaceError
from livepresenter.evaluate.derived import write_clip
from livepresenter.evaluate.driver_checks import DRIVER_CHECK_S, ClipDrivers, PortraitView, driver_scores
from livepresenter.evaluate.metrics import (
    CrossIdentityScores,
    DriverScores,
    HeadOnly,
    Observation,
    ReconstructionScores,
    TurnScores,
    cross_identity_scores,
    l1_distance,
    reconstruction_scores,
    static_scores,
    turn_scores,
)
from livepresenter.evaluate.observe import EVAL_SIDE, FaceObserver, to_eval_size
from livepresenter.face.crop import crop_box_from_landmarks, crop_image
from livepresenter.face.geometry import face_turn, lip_opening
from livepresenter.media import Frame, VideoReader
from livepresenter.pipeline.frame_path import FramePath
from livepresenter.presenter import Presenter
from livepresenter.presenter.preparation import find_portrait_face, prepare_presenter
from livepresenter.progress import with_progress
from livepresenter.render import RenderSettings

__all__ = ["ClipEvaluation", "CrossIdentityRun", "EvalSettings", "Snapshot", "evaluate_clip"]


@dataclass(frozen=True)
class EvalSettings:
    """engine/checkpoint/fomm_config: as for `render`; max_frames: evaluate only the clip's first frames (None: all);
    reference_window_s: how much of the clip's start the cross-identity reference is picked from; driver_checks: run
    the derived-driver checks on every portrait (driver_checks.py); mouth_truth: the clip whose lip opening the
    outputs' mouths are compared with (None: the driving clip; see the module docstring)."""

    engine: str = "auto"
    checkpoint: str | None = None
    fomm_config: str | None = None
    max_frames: int | None = None
    reference_window_s: float = RenderSettings.reference_window_s
    driver_checks: bool = True
    mouth_truth: Path | None = None


@dataclass(frozen=True)
class Snapshot:
    """One driving frame kept for the contact sheet, with every presenter's output (face crops, in presenter order).

    reason: "mouth open" or "head turn"; strength: the clip's widest lip opening or strongest
    head turn (face.geometry's lip_opening, face_turn).
    """

    index: int
    reason: str
    strength: float
    driving_rgb: np.ndarray
    outputs: tuple[np.ndarray, ...]


@dataclass(frozen=True)
class CrossIdentityRun:
    """A portrait driven by the clip; portrait_view: the face crop its outputs are compared in (contact sheet);
    drivers: the derived-driver scores, None when they were not run; turns: head turns followed, None when the
    reference frame has no face to measure the driver's turns from."""

    presenter: Presenter
    scores: CrossIdentityScores
    reference_frame: int | None
    portrait_view: np.ndarray
    drivers: DriverScores | None = None
    turns: TurnScores | None = None


@dataclass(frozen=True)
class ClipEvaluation:
    """mouth_truth: the clip the cross-identity mouths were compared with, None for the driving clip itself."""

    driving: Path
    engine: str
    reconstruction: ReconstructionScores
    static: ReconstructionScores
    cross: tuple[CrossIdentityRun, ...]
    snapshots: tuple[Snapshot, ...]
    mouth_truth: Path | None = None


class _DrivenPortrait:
    """A portrait animated frame by frame through the product's frame path with the offline reference policy, as
    `render` does (the portrait layout, no label), each output seen through `view`."""

    def __init__(self, presenter: Presenter, settings: EvalSettings, reference_window: int,
                 view: Callable[[np.ndarray], np.ndarray]) -> None:
        self.prepared = prepare_presenter(presenter, FaceTracker(), engine=settings.engine,
                                          checkpoint=settings.checkpoint, fomm_config=settings.fomm_config,
                                          layout="portrait", label=False)
        self.path = FramePath(self.prepared, FaceTracker(), reference_window=reference_window, when_lost="hold")
        self.view = view
        self.outputs: list[Observation] = []

    @property
    def engine_name(self) -> str:
        return self.prepared.engine.name

    def step(self, frame: Frame) -> np.ndarray:
        return self.view(self.path.step(frame, frame.time_s))


@dataclass(frozen=True)
class _CrossSetup:
    presenter: Presenter
    driven: _DrivenPortrait
    seen: PortraitView
    originals: list[np.ndarray]
    """The first views of its outputs, kept for the derived-driver checks."""


def _cross_setup(presenter: Presenter, settings: EvalSettings, observer: FaceObserver,
                 reference_window: int) -> _CrossSetup:
    """Prepare the engine on the portrait, and describe the portrait's face in the crop its outputs are seen in."""
    face = find_portrait_face(FaceTracker(), presenter)
    view = functools.partial(crop_image, box=crop_box_from_landmarks(face.landmarks), size=EVAL_SIDE)
    portrait_view = view(presenter.portrait_rgb)
    found = observer.face(portrait_view)
    if found is None:
        raise NoFaceError(f"no face found again in the face crop of portrait {presenter.source}: "
                          "use a sharper, more frontal photo")
    seen = PortraitView(view, portrait_view, found.box, observer.landmarks_in(portrait_view, found.box),
                        observer.embedding(portrait_view, found))
    driven = _DrivenPortrait(presenter, settings, reference_window, view)
    return _CrossSetup(presenter, driven, seen, [])


def _snapshot_frames(reals: Sequence[Observation]) -> dict[int, list[tuple[str, float]]]:
    """Frame index -> (reason, strength) for the clip's widest open mouth and its strongest head turn."""
    faces = [(i, o.landmarks) for i, o in enumerate(reals) if o.landmarks is not None]
    wanted: dict[int, list[tuple[str, float]]] = {}
    for reason, measure in (("mouth open", lip_opening), ("head turn", lambda points: abs(face_turn(points)))):
        index, strength = max(((i, measure(points)) for i, points in faces), key=lambda item: item[1])
        wanted.setdefault(index, []).append((reason, strength))
    return wanted


def _mouth_truth(clip: Path, frames: int, observer: FaceObserver) -> list[Observation]:
    """The first `frames` frames of `clip` observed as the driving frames are; it must have that many."""
    seen = [observer.observe(to_eval_size(frame.image)) for frame in islice(VideoReader(clip), frames)]
    if len(seen) != frames:
        raise InputError(f"mouth truth {clip} has {len(seen)} frames, the driving clip {frames}: give the clip the "
                         "driver was made from")
    return seen


def _turns(cross: _CrossSetup, reals: Sequence[Observation], reference_frame: int | None,
           observer: FaceObserver) -> TurnScores | None:
    """Turn scores with the driver's yaw measured from the real frame nearest the reference (None without a face)."""
    rest = reals[reference_frame] if reference_frame is not None else None
    if rest is None or not rest.found:
        return None
    return turn_scores(cross.driven.outputs, reals, cross.seen.landmarks, rest.landmarks, cross.seen.embedding,
                       driver_rest_embedding=rest.embedding, head_only=_head_only(cross, rest.landmarks, observer))


def _head_only(cross: _CrossSetup, rest: np.ndarray, observer: FaceObserver) -> HeadOnly | None:
    """The portrait moved by a driving frame's head pose alone, composed and seen as its outputs are; only the
    landmark engine can render that (None for others). The pose is read from the evaluation's own detections (of the
    reference frame, `rest`, and of the frame), not the tracker's. Called after the clip's outputs: it moves the
    engine."""
    prepared = cross.driven.prepared
    engine = prepared.engine
    if not isinstance(engine, LandmarkEngine):
        return None
    transfer = RelativeTransfer(engine.portrait_landmarks, rest)

    def observe(driving: np.ndarray) -> Observation:
        moved = engine.animate_landmarks(transfer.head_only(driving))
        return observer.observe(cross.driven.view(prepared.compositor.compose(moved)))

    return observe


def evaluate_clip(
    driving: Path,
    presenters: Sequence[Presenter],
    settings: EvalSettings,
    *,
    keep_snapshots: bool = False,
    progress: bool = True,
) -> ClipEvaluation:
    """Evaluate `driving` (see the module docstring); `keep_snapshots` keeps the widest-mouth and strongest-turn
    frames with every presenter's outputs for the contact sheet."""
    reader = VideoReader(driving)
    total = min(filter(None, (reader.frame_count, settings.max_frames)), default=None)

    def frames(desc: str | None = None) -> Iterable[Frame]:
        clip = islice(reader, settings.max_frames)
        return with_progress(clip, total, f"{desc} {driving.name}", leave=False) if desc and progress else clip

    observer = FaceObserver()
    first_rgb: np.ndarray | None = None
    reals: list[Observation] = []
    for frame in frames("observe"):
        first_rgb = frame.image if first_rgb is None else first_rgb
        reals.append(observer.observe(to_eval_size(frame.image)))
    if first_rgb is None:
        raise InputError(f"{driving} has no video frames: give a video with at least one frame")
    no_face = NoFaceError(f"no face in frame 0 of {driving}: self-reconstruction uses it as the source; "
                          "trim the clip so it starts on a frontal face")
    if not reals[0].found:
        raise no_face
    truths = reals if settings.mouth_truth is None else _mouth_truth(settings.mouth_truth, len(reals), observer)
    # The clip's frame 0 as the presenter (prepared as every presenter, which finds its face), and as its own
    # reference (a window of one frame).
    try:
        source = _DrivenPortrait(Presenter(driving.stem, "", first_rgb, driving), settings, 1, to_eval_size)
    except NoFaceError:
        raise no_face from None
    width, height = source.prepared.compositor.size  # even, as every output the product writes
    window = max(1, round(settings.reference_window_s * float(reader.fps)))
    crosses = [_cross_setup(p, settings, observer, window) for p in presenters]
    references = [cross.driven.path.pick_reference(frames()) for cross in crosses]
    wanted = _snapshot_frames(reals) if keep_snapshots and crosses else {}

    first_view = to_eval_size(first_rgb[:height, :width])
    check_frames = min(round(DRIVER_CHECK_S * float(reader.fps)), len(reals)) if settings.driver_checks else 0
    l1: list[float] = []
    static_l1: list[float] = []
    snapshots: list[Snapshot] = []
    for frame in frames("animate"):
        real = to_eval_size(frame.image[:height, :width])
        output = source.step(frame)
        l1.append(l1_distance(output, real))
        static_l1.append(l1_distance(first_view, real))
        source.outputs.append(observer.observe(output))
        views = tuple(cross.driven.step(frame) for cross in crosses)
        for cross, view in zip(crosses, views, strict=True):
            cross.driven.outputs.append(observer.observe(view))
            if frame.index < check_frames:
                cross.originals.append(view)
        snapshots += [Snapshot(frame.index, reason, strength, frame.image, views)
                      for reason, strength in wanted.get(frame.index, [])]

    drivers: list[DriverScores | None] = [None] * len(crosses)
    if check_frames and crosses:
        with tempfile.TemporaryDirectory(prefix="lp-eval-") as tmp:
            def start() -> Iterable[Frame]:
                return islice(frames(), max(check_frames, window))

            clip = ClipDrivers(
                frames=start,
                reencoded=write_clip((f.image for f in start()), Path(tmp) / "reencoded.mp4", reader.fps),
                face_centre=tuple(float(v) for v in source.prepared.face.landmarks.mean(axis=0)),
                window=window,
                fps=reader.fps,
            )
            checked = with_progress(crosses, len(crosses), f"driver checks {driving.name}", enabled=progress,
                                    leave=False)
            drivers = [driver_scores(cross.driven.prepared, cross.seen, cross.originals, reference.index, clip,
                                     observer) if reference is not None else None
                       for cross, reference in zip(checked, references, strict=True)]

    return ClipEvaluation(
        driving=driving,
        engine=source.engine_name,
        reconstruction=reconstruction_scores(l1, source.outputs, reals),
        static=static_scores(static_l1, reals),
        cross=tuple(
            CrossIdentityRun(
                cross.presenter,
                cross_identity_scores(cross.driven.outputs, truths, cross.seen.embedding),
                reference.index if reference else None,
                cross.seen.image,
                scores,
                _turns(cross, reals, reference.index if reference else None, observer),
            )
            for cross, reference, scores in zip(crosses, references, drivers, strict=True)
        ),
        snapshots=tuple(snapshots),
        mouth_truth=settings.mouth_truth,
    )
