"""Making a presenter ready to animate: portrait → face → prepared engine → compositor.

Shared by the live orchestrator (and its presenter switches) and the offline render, so both
fail the same way on a portrait without a face and build the same stage.
"""

from __future__ import annotations

from dataclasses import dataclass

from livepresenter.capture import FaceTracker
from livepresenter.compose.stage import Compositor, Layout, create_compositor
from livepresenter.engine.base import AnimationEngine
from livepresenter.engine.registry import create_engine
from livepresenter.errors import NoFaceError
from livepresenter.face import Face
from livepresenter.presenter.loading import Presenter, load_presenter


@dataclass(frozen=True)
class PreparedPresenter:
    presenter: Presenter
    face: Face
    engine: AnimationEngine
    compositor: Compositor


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


def prepare_presenter(spec: str, tracker: FaceTracker, *, engine: str = "auto", checkpoint: str | None = None,
                      fomm_config: str | None = None, layout: Layout = "stage", size: tuple[int, int] = (1280, 720),
                      label: bool = True, precision: str = "auto") -> PreparedPresenter:
    """Load the presenter, find its face, build and prepare the engine, build the compositor."""
    single_threaded_blas()
    presenter = load_presenter(spec)
    face = find_portrait_face(tracker, presenter)
    compositor = create_compositor(layout, presenter.portrait_rgb, size, presenter.label if label else None)
    # A profile may prefer an engine; an explicit --engine wins.
    animation = create_engine((presenter.engine or engine) if engine == "auto" else engine, checkpoint, fomm_config,
                              precision=precision)
    animation.set_portrait(presenter.portrait_rgb, face)
    return PreparedPresenter(presenter, face, animation, compositor)
