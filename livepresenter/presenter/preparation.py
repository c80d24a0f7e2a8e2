"""Making a presenter ready to animate: portrait → face → engine set up on it → compositor.

The one way a presenter is prepared, for the live pipeline (and its presenter switches), render, the studio and
eval alike, so all fail the same way on a portrait without a face and build the same stage.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from livepresenter.capture import FaceTracker
from livepresenter.compose.stage import Compositor, Layout, create_compositor
from livepresenter.engine.base import AnimationEngine
from livepresenter.engine.registry import create_engine
from livepresenter.errors import NoFaceError
from livepresenter.face import Face, TrackedFace
from livepresenter.face.crop import CROP_SIZE, crop_box_from_landmarks, crop_image, to_crop_coords
from livepresenter.presenter.loading import Presenter, load_presenter


@dataclass(frozen=True)
class PreparedPresenter:
    """A presenter ready for the frame path; `neutral` is the portrait's own face as a driving frame, the reference
    until one is picked from the driver and what idle motion moves around."""

    presenter: Presenter
    face: Face
    engine: AnimationEngine
    compositor: Compositor
    neutral: TrackedFace

    @property
    def name(self) -> str:
        return self.presenter.name

    @property
    def portrait_size(self) -> tuple[int, int]:
        """(width, height) of the portrait the engine animates."""
        height, width = self.presenter.portrait_rgb.shape[:2]
        return width, height


def single_threaded_blas() -> None:
    """Limit numpy's BLAS to one thread for this process.

    The pipelines solve many small systems per frame beside their own capture, tracking and encoder
    threads; a multi-threaded OpenBLAS spin-waits for cores those threads need, which on a 2-core laptop
    made the landmark engine's animate stage many times slower (BENCHMARKS.md).
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


def find_portrait_face(tracker: FaceTracker, presenter: Presenter) -> Face:
    """The presenter's face, or NoFaceError: without it no engine can animate the portrait."""
    face = tracker.detect(presenter.portrait_rgb)
    if face is None:
        raise NoFaceError(
            f"no face found in portrait {presenter.source}: use a frontal photo where the face is at least 128 px wide"
        )
    return face


def neutral_face(portrait_rgb: np.ndarray, face: Face) -> TrackedFace:
    """The portrait's face framed as the tracker frames a driving face."""
    box = crop_box_from_landmarks(face.landmarks)
    return TrackedFace(index=0, face=face, crop_box=box, crop=crop_image(portrait_rgb, box, CROP_SIZE),
                       crop_landmarks=to_crop_coords(face.landmarks, box, CROP_SIZE))


def prepare_presenter(spec: str | Presenter, tracker: FaceTracker, *, engine: str = "auto",
                      checkpoint: str | None = None, fomm_config: str | None = None, layout: Layout = "stage",
                      size: tuple[int, int] = (1280, 720), label: bool = True,
                      precision: str = "auto", server: str | None = None,
                      token_file: str | None = None, live: bool = True) -> PreparedPresenter:
    """Load the presenter (a profile name or image, or one already loaded), find its face, set the engine up on it,
    build the compositor. `live` False: offline work (render, eval), which may wait for a remote server."""
    single_threaded_blas()
    presenter = load_presenter(spec) if isinstance(spec, str) else spec
    face = find_portrait_face(tracker, presenter)
    compositor = create_compositor(layout, presenter.portrait_rgb, size, presenter.label if label else None)
    # A profile may prefer an engine; an explicit --engine wins.
    animation = create_engine((presenter.engine or engine) if engine == "auto" else engine, checkpoint, fomm_config,
                              precision=precision, server=server, token_file=token_file, live=live)
    animation.set_portrait(presenter.portrait_rgb, face)
    return PreparedPresenter(presenter, face, animation, compositor, neutral_face(presenter.portrait_rgb, face))
