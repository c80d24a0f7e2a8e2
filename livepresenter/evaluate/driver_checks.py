"""Issue 20's derived-driver checks: does the portrait answer the *motion* of the driver, and nothing else?

Each portrait, already driven by the clip, is driven again (a fresh `FramePath` on the same prepared presenter, the
offline reference policy, as `render`) by drivers made from the clip, over its first DRIVER_CHECK_S seconds:
- neutral driver: the clip's frame nearest the portrait's reference (a face at rest), re-captured with camera noise
  for a whole reference window (`derived.recaptured`). The portrait must stay as it is: its landmarks within a pixel
  of its own, its identity distance near 0.
- re-encoded driver: the clip re-encoded with x264 at CRF 12. Same motion, so the same outputs.
- face shape: the clip stretched about the face centre into a longer and a wider face (`derived.FACE_SHAPES`).
  Another face shape making the same motion must move the portrait alike: the portrait keeps its own shape.
Outputs are compared in the 256-px face view: how far their landmarks are apart is the optical flow from one to the
other at the landmarks (see `FaceObserver.displacement`; the first output's landmarks are read in the portrait's face
box, and only place the samples).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import islice
from pathlib import Path

import numpy as np

from livepresenter.capture import FaceTracker
from livepresenter.evaluate.derived import FACE_SHAPES, recaptured, stretched
from livepresenter.evaluate.metrics import DriverScores
from livepresenter.evaluate.observe import FaceObserver
from livepresenter.face import Face
from livepresenter.media import Frame, VideoReader
from livepresenter.pipeline.frame_path import FramePath
from livepresenter.presenter.preparation import PreparedPresenter

__all__ = ["DRIVER_CHECK_S", "ClipDrivers", "PortraitView", "driver_scores"]

DRIVER_CHECK_S = 3.0
"""How much of the clip's start the derived drivers replay (a GRID sentence; the reference window is 2 s of it)."""
_IDENTITY_EVERY = 5
"""The neutral driver's identity distance is taken on every this-many-th output (an embedding costs 70 ms)."""


@dataclass(frozen=True)
class ClipDrivers:
    """What the derived drivers are made from, once per clip.

    frames: the clip's first frames (at least a reference window and DRIVER_CHECK_S); reencoded: those frames
    re-encoded (`derived.write_clip`); face_centre: where the clip's face is, in frame pixels (stretch centre);
    window: the reference window in frames; fps: the clip's rate.
    """

    frames: Callable[[], Iterable[Frame]]
    reencoded: Path
    face_centre: tuple[float, float]
    window: int
    fps: Fraction


@dataclass(frozen=True)
class PortraitView:
    """How a portrait's outputs are seen: `view` turns an output into the 256-px face view; `image` is the portrait in
    it, its face in `box` with `landmarks` (read in that box) and `embedding`."""

    view: Callable[[np.ndarray], np.ndarray]
    image: np.ndarray
    box: tuple[float, float, float, float]
    landmarks: np.ndarray
    embedding: np.ndarray


def driver_scores(prepared: PreparedPresenter, seen: PortraitView, originals: Sequence[np.ndarray],
                  reference_index: int, clip: ClipDrivers, observer: FaceObserver) -> DriverScores:
    """Drive `prepared` by each derived driver and compare (see the module docstring). `originals`: the face views
    of its outputs under the clip itself, from frame 0; `reference_index`: the clip frame nearest its reference."""

    def landmarks(image: np.ndarray) -> np.ndarray:
        return observer.landmarks_in(image, seen.box)

    def moved(before: np.ndarray, after: np.ndarray, points: np.ndarray) -> float:
        return float(np.linalg.norm(observer.displacement(before, after, points), axis=1).mean())

    def driven(frames: Callable[[], Iterable[Frame]]) -> list[np.ndarray]:
        path = FramePath(prepared, FaceTracker(), reference_window=clip.window, when_lost="hold")
        path.pick_reference(frames())
        return [seen.view(path.step(frame, frame.time_s)) for frame in islice(frames(), len(originals))]

    def apart(outputs: Sequence[np.ndarray]) -> float:
        """How far the originals' landmarks are in these outputs, frame by frame."""
        return float(np.mean([moved(original, output, landmarks(original))
                              for output, original in zip(outputs, originals, strict=True)]))

    still = next(islice(clip.frames(), reference_index, None)).image
    rng = np.random.default_rng(0)
    neutral = [Frame(i, float(i / clip.fps), recaptured(still, rng)) for i in range(clip.window)]
    resting = driven(lambda: neutral)
    neutral_px = float(np.mean([moved(seen.image, out, seen.landmarks) for out in resting]))
    identity = [np.linalg.norm(observer.embedding(out, Face(seen.box, landmarks(out).astype(np.float32), 1.0))
                               - seen.embedding) for out in resting[::_IDENTITY_EVERY]]

    reencoded = driven(lambda: VideoReader(clip.reencoded).frames())
    pixel_diff = float(np.mean([np.abs(a.astype(np.int16) - b).mean() for a, b in zip(reencoded, originals,
                                                                                       strict=True)]))
    shapes = {
        name: apart(driven(lambda scale=scale: (Frame(f.index, f.time_s, stretched(f.image, clip.face_centre, scale))
                                                for f in clip.frames())))
        for name, scale in FACE_SHAPES.items()
    }
    return DriverScores(neutral_px=neutral_px, neutral_id_dist=float(np.mean(identity)), reencoded_px=apart(reencoded),
                        reencoded_pixel_diff=pixel_diff, face_shape_px=shapes)
