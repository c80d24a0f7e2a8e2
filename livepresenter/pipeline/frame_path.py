"""The one frame path of live, render, demo, the studio and eval: a driving frame (or none) in, a composed frame out.

`FramePath.step` tracks the driving face, keeps the reference pose that motion is measured from, drives the engine,
cross-fades every jump (a new reference, a presenter switch) and composes. What differs between live and offline is
two settings, not two implementations:
- the reference: live, the first face becomes the reference at once and the neutral estimate of the first window
  (the faces that best match the portrait, see `capture.reference`) replaces it once, when the window ends; offline,
  `pick_reference` reads that window ahead, so the output starts on the final reference;
- a lost face: live, the presenter eases into idle motion (`IdleMotion`); offline ("hold"), the engine holds its
  last pose, and the still portrait is shown until a first face is seen.
`now` is the clock the fades and idle motion run on: the wall clock live, the stream's time offline.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from itertools import islice
from typing import Literal, TypeVar

import cv2
import numpy as np

from livepresenter.capture import FaceTracker, ReferencePicker
from livepresenter.face import TrackedFace
from livepresenter.media import Frame
from livepresenter.pipeline.idle import IdleMotion, smoothstep
from livepresenter.pipeline.realface import realface_view
from livepresenter.presenter.preparation import PreparedPresenter

__all__ = ["FADE_S", "FramePath", "WhenLost"]

FADE_S = 0.4
"""Reference changes and presenter switches cross-fade from the last frame shown over this long."""

WhenLost = Literal["idle", "hold"]
T = TypeVar("T")


class FramePath:
    """Per-frame work on a prepared presenter (see the module docstring).

    reference_window: frames the reference is picked from. on_stage(name, seconds) receives the time of each stage
    ("track", "animate", "compose") for live statistics. `swap`, `reset_reference`, `realface` and `paused` may be
    set from any thread; they take effect at the next step.
    """

    def __init__(self, presenter: PreparedPresenter, tracker: FaceTracker, *, reference_window: int,
                 when_lost: WhenLost = "idle", on_stage: Callable[[str, float], None] | None = None) -> None:
        self.tracker = tracker
        self.when_lost = when_lost
        self.realface = False
        self.paused = False
        self.frames = 0
        self.frames_without_face = 0
        self.reference: TrackedFace | None = None
        self.last_composed: np.ndarray | None = None
        self._on_stage = on_stage
        self._fade: tuple[np.ndarray, float] | None = None
        self._reset_requested = False
        self._pending: tuple[PreparedPresenter, threading.Event] | None = None
        self.presenter = presenter
        presenter.engine.set_reference(presenter.neutral)
        self.idle = IdleMotion(presenter.neutral)
        self.picker = ReferencePicker(presenter.neutral.face.landmarks, window_frames=max(1, reference_window))

    # -- controls (any thread) ---------------------------------------------------------------------------------------
    def swap(self, presenter: PreparedPresenter) -> threading.Event:
        """Put `presenter` on at the next step, cross-faded; the event is set once it is on."""
        on_air = threading.Event()
        self._pending = (presenter, on_air)
        return on_air

    def swap_now(self) -> None:
        """Swap in a pending presenter at once (nothing is streaming, so nothing to keep in step with)."""
        if self._pending is not None:
            self._swap_in(*self._pending, time.monotonic())

    def reset_reference(self) -> None:
        """Pick the reference again from the next window of frames (e.g. after sitting down)."""
        self._reset_requested = True

    # -- offline ------------------------------------------------------------------------------------------------------
    def pick_reference(self, frames: Iterable[Frame]) -> TrackedFace | None:
        """Read the first window of `frames` ahead and make its neutral estimate the reference; the tracker then starts
        afresh, so `step` follows the stream from its first frame. Returns the reference, None without a face."""
        for frame in islice(frames, self.picker.window_frames):
            self.picker.offer(self.tracker.track(frame.image, frame.time_s))
        self.tracker.reset()
        if self.picker.best is not None:
            self._use_reference(self.picker.best, None)
        return self.picker.best

    # -- one frame ----------------------------------------------------------------------------------------------------
    def step(self, frame: Frame | None, now: float) -> np.ndarray:
        """One driving frame (None: no camera frame, idle) in, one composed output frame (HxWx3 uint8 RGB) out."""
        if self._pending is not None:
            self._swap_in(*self._pending, now)
        tracked = self._timed("track", self.tracker.track, frame.image, frame.time_s) if frame is not None else None
        if tracked is not None and not tracked.found:
            self.frames_without_face += 1
        if self.realface and frame is not None and tracked is not None:
            animated = realface_view(frame.image, tracked.crop_box, self.presenter.portrait_size)
        else:
            driving = self._drive(tracked, now)
            animated = (self.presenter.presenter.portrait_rgb if driving is None
                        else self._timed("animate", self.presenter.engine.animate, driving))
        composed = self._faded(self._timed("compose", self.presenter.compositor.compose, animated), now)
        self.frames += 1
        return composed

    def _drive(self, tracked: TrackedFace | None, now: float) -> TrackedFace | None:
        """The face to animate; None for the still portrait (holding, before any face)."""
        if self._reset_requested:
            self._reset_requested = False
            self.picker.reset()
            self.reference = None
        if tracked is not None and tracked.found and not self.paused:
            self.picker.offer(tracked)
            if self.reference is None or (self.picker.done and self.picker.best is not self.reference):
                self._use_reference(self.picker.best, now)
            return self.idle.live(tracked, now) if self.when_lost == "idle" else tracked
        if self.when_lost == "hold":
            return tracked if self.reference is not None else None  # the engine holds its last pose
        return self.idle.idle(now, self.frames)

    def _use_reference(self, reference: TrackedFace, now: float | None) -> None:
        """Measure motion from `reference` from now on; the jump in the output is cross-faded (unless `now` is None:
        nothing shown yet)."""
        if now is not None:
            self._start_fade(now)
        self.reference = reference
        self.presenter.engine.set_reference(reference)
        self.idle.set_reference(reference)

    def _swap_in(self, presenter: PreparedPresenter, on_air: threading.Event, now: float) -> None:
        """The new presenter keeps the driver's reference (or its own neutral face before one) and fades in."""
        self._pending = None
        presenter.engine.set_reference(self.reference if self.reference is not None else presenter.neutral)
        if self.reference is None:
            self.idle.set_reference(presenter.neutral)
        self.picker = ReferencePicker(presenter.neutral.face.landmarks, window_frames=self.picker.window_frames)
        if self.reference is not None:
            self.picker.offer(self.reference)
        self._start_fade(now)
        self.presenter = presenter
        on_air.set()

    def _start_fade(self, now: float) -> None:
        if self.last_composed is not None:
            self._fade = (self.last_composed, now)

    def _faded(self, composed: np.ndarray, now: float) -> np.ndarray:
        if self._fade is not None:
            start_image, start = self._fade
            weight = smoothstep((now - start) / FADE_S)
            if weight >= 1:
                self._fade = None
            else:
                composed = cv2.addWeighted(start_image, 1 - weight, composed, weight, 0)
        self.last_composed = composed
        return composed

    def _timed(self, stage: str, fn: Callable[..., T], *args: object) -> T:
        if self._on_stage is None:
            return fn(*args)
        started = time.perf_counter()
        result = fn(*args)
        self._on_stage(stage, time.perf_counter() - started)
        return result
