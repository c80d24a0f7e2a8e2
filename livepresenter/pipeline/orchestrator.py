"""The live pipeline's host: threads, pacing, sinks and presenter swaps around the one frame path.

Two threads. The capture thread reads the source and hands over only the newest frame (`LatestSlot`: stale frames
are dropped and counted, never queued, so latency stays bounded when the engine is slower than the camera). The
worker thread runs each frame through the `FramePath` (track, animate, compose) and sends the result to the sinks
and the recording. When no camera frame arrives (no camera, unplugged), the worker keeps streaming the idle presenter
at the output rate. Controls (`set_realface`, `set_paused`, `reset_reference`, `switch_presenter`, recordings) may be
called from any thread; they take effect on the next frame. The daemon (`livepresenter.daemon`) hosts the control
socket around this; the orchestrator knows nothing of it.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from livepresenter.capture import FaceTracker
from livepresenter.capture.audio import check_audio_source
from livepresenter.capture.source import FrameSource, SourceLost
from livepresenter.engine.registry import engine_files
from livepresenter.errors import DeviceError, InputError, SwitchInProgressError
from livepresenter.media import Frame
from livepresenter.outputs import Inputs
from livepresenter.pipeline.frame_path import FramePath
from livepresenter.pipeline.recording import Recordings
from livepresenter.pipeline.slot import LatestSlot
from livepresenter.pipeline.stats import LiveStats
from livepresenter.presenter.preparation import PreparedPresenter, prepare_presenter
from livepresenter.sinks import Sink
from livepresenter.sinks.recorder import Recorder

__all__ = ["LiveSettings", "Orchestrator"]

log = logging.getLogger(__name__)

CAMERA_LOST_AFTER_S = 0.5   # no frame for this long: stream idle frames
RETRY_CAMERA_EVERY_S = 1.0
LOG_EVERY_S = 5.0


@dataclass
class LiveSettings:
    """What `livepresenter run` and `demo` configure.

    source: camera index, device path or video file; None streams the idle presenter only.
    fps: cap on the output rate (None: follow the source, 30 without one).
    """

    presenter: str = "grace_hopper"
    source: str | None = "0"
    engine: str = "auto"
    checkpoint: str | None = None
    fomm_config: str | None = None
    precision: str = "auto"
    server: str | None = None      # the remote engine's FOMM server, HOST:PORT
    token_file: str | None = None  # and the file holding its token
    size: tuple[int, int] = (1280, 720)
    fps: float | None = None
    vcam: bool = True
    label: bool = True
    max_seconds: float | None = None
    reference_window_s: float = 3.0
    record: Path | None = None  # record from the start to this MP4
    overwrite: bool = False  # --force: `record` may replace an existing file (never one of the session's inputs)
    audio_source: str | None = None  # recording sound: a microphone (None: the default) or a file played as if live


class Orchestrator:
    """The live presenter: `start()`, `wait()`, `close()` (or `run()` for all three), controls from any thread."""

    def __init__(self, settings: LiveSettings) -> None:
        check_audio_source(settings.audio_source)  # a bad audio file fails before going live
        self.settings = settings
        self.stats = LiveStats()
        self._portrait_tracker = FaceTracker()  # presenters are prepared off the worker thread
        # The presenter first: a portrait without a face fails before the camera is opened.
        presenter = self._prepare(settings.presenter)
        self._portraits = [presenter.presenter.source]  # every presenter shown: no recording may replace one
        self.source = FrameSource(settings.source) if settings.source is not None else None
        source_fps = self.source.fps if self.source else 30.0
        self.output_fps = min(source_fps, settings.fps) if settings.fps else source_fps
        self.path = FramePath(presenter, FaceTracker(), when_lost="idle", on_stage=self.stats.stage,
                              reference_window=round(settings.reference_window_s * self.output_fps))
        self.recordings = Recordings(settings.size, self.output_fps, settings.audio_source, self.input_files)
        if settings.record is not None:  # a file that must not be replaced fails before going live
            self.recordings.check(Path(settings.record).expanduser(), settings.overwrite)
        self.sinks: list[Sink] = []
        self.vcam_active = False
        if settings.vcam:
            self._open_vcam()
        self.preview_slot: LatestSlot[np.ndarray] = LatestSlot()
        self._slot: LatestSlot[Frame] = LatestSlot()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._switch_lock = threading.Lock()
        self._switching: str | None = None  # the presenter being prepared (guarded by _switch_lock)
        self._started = 0.0

    def _prepare(self, spec: str) -> PreparedPresenter:
        settings = self.settings
        return prepare_presenter(spec, self._portrait_tracker, engine=settings.engine, checkpoint=settings.checkpoint,
                                 fomm_config=settings.fomm_config, size=settings.size, label=settings.label,
                                 precision=settings.precision, server=settings.server,
                                 token_file=settings.token_file)

    def _open_vcam(self) -> None:
        from livepresenter.sinks.vcam import VirtualCamera

        width, height = self.settings.size
        try:
            self.sinks.append(VirtualCamera(width, height, self.output_fps))
            self.vcam_active = True
        except DeviceError as exc:
            log.warning("%s; streaming to the other outputs only", exc)

    def add_sink(self, sink: Sink) -> None:
        """Another output; call before `start()`. Closed by `close()`."""
        self.sinks.append(sink)

    # -- state and controls (any thread) -------------------------------------------------------------------------------
    @property
    def presenter(self) -> PreparedPresenter:
        return self.path.presenter

    @property
    def engine_name(self) -> str:
        return self.presenter.engine.name

    @property
    def realface(self) -> bool:
        return self.path.realface

    @property
    def paused(self) -> bool:
        return self.path.paused

    @property
    def stopping(self) -> threading.Event:
        """Set once the pipeline is stopping (by `stop()`, --max-seconds or a failure): hosts watch it."""
        return self._stop

    def set_realface(self, on: bool) -> None:
        self.path.realface = bool(on)

    def set_paused(self, on: bool) -> None:
        self.path.paused = bool(on)

    def reset_reference(self) -> None:
        """Pick the reference driving frame again from the next seconds (e.g. after sitting down)."""
        self.path.reset_reference()

    def stop(self) -> None:
        self._stop.set()

    def latest_frame(self) -> np.ndarray | None:
        """The last frame sent (HxWx3 uint8 RGB, never modified afterwards), or None before the first."""
        return self.path.last_composed

    def switch_presenter(self, spec: str, timeout: float = 120.0) -> str:
        """Switch to another presenter without stalling the stream; returns its name once it is on air.

        The new presenter is prepared on the calling thread (portrait decode, face, engine caches) while the old
        one keeps streaming; the worker swaps it in at its next frame and cross-fades. Another switch asked for
        meanwhile is refused (SwitchInProgressError), not queued.
        """
        self._claim_switch(spec)
        try:
            prepared = self._prepare(spec)
            on_air = self.path.swap(prepared)
            self._portraits.append(prepared.presenter.source)
            deadline = time.monotonic() + timeout
            while not on_air.wait(0.05):
                if self._stop.is_set() or not any(t.is_alive() for t in self._threads):
                    self.path.swap_now()  # not streaming: nothing to keep in step with
                elif time.monotonic() > deadline:
                    raise TimeoutError(f"presenter {spec} was prepared but not swapped in within {timeout:.0f} s")
            log.info("presenter: %s", prepared.name)
            return prepared.name
        finally:
            self._switching = None

    def _claim_switch(self, spec: str) -> None:
        """One switch at a time: SwitchInProgressError at once, naming the presenter, while another is prepared."""
        with self._switch_lock:
            if self._switching is not None:
                raise SwitchInProgressError(f"a switch to {self._switching} is in progress: try again when it is "
                                            "on air")
            self._switching = spec

    def status(self) -> dict:
        """The `status` answer; an engine with a `status()` of its own (the remote engine: server, round trip,
        fallback) adds it under "engine_detail"."""
        engine = self.presenter.engine
        detail = {"engine_detail": engine.status()} if hasattr(engine, "status") else {}
        return {"presenter": self.presenter.name, "engine": self.engine_name,
                "fps": round(self.stats.current_fps(), 2), "latency_ms": round(self.stats.current_latency_ms(), 1),
                "vcam": self.vcam_active, "realface": self.realface, "paused": self.paused,
                "recording": self.recordings.path, **detail}

    def summary(self) -> dict:
        """The --stats-json object."""
        return {**self.stats.summary(self._slot.dropped), "engine": self.engine_name,
                "presenter": self.presenter.name, "vcam": self.vcam_active}

    # -- recording (any thread) ----------------------------------------------------------------------------------------
    @property
    def recorder(self) -> Recorder | None:
        """The recording in progress, if any (its path, started_at, frames_written, error)."""
        return self.recordings.recorder

    def input_files(self) -> Inputs:
        """The files this session reads, by role: no recording may replace one of them, not even when asked to."""
        settings = self.settings
        video = self.source is not None and not self.source.is_camera
        audio = settings.audio_source is not None and Path(settings.audio_source).is_file()
        return [*(("a presenter's portrait", portrait) for portrait in self._portraits),
                ("the --source video", Path(settings.source) if video else None),
                ("the --audio-source file", Path(settings.audio_source) if audio else None),
                *engine_files(settings.checkpoint, settings.fomm_config)]

    def start_recording(self, path: Path | str | None = None, *, overwrite: bool = False) -> Path:
        """Record the output, with sound, to `path` (see `Recordings.start`); needs a running pipeline."""
        if not self._started or self._stop.is_set():
            raise RuntimeError("start_recording() needs a running pipeline: call start() first")
        return self.recordings.start(Path(path) if path is not None else None, overwrite=overwrite,
                                     presenter=self.presenter.name, engine=self.engine_name, clock_start=self._started)

    def stop_recording(self) -> Path | None:
        """Finish the recording; its path, or None when not recording."""
        return self.recordings.stop()

    # -- threads -------------------------------------------------------------------------------------------------------
    def start(self) -> None:
        if self.source is not None and not self.source.is_camera:
            self.source.reopen()  # the clip starts now, when an --audio-source file does (both anchored here)
        self._started = time.monotonic()
        if self.settings.record is not None:  # before the first frame, so the file has every frame sent
            try:
                self.start_recording(self.settings.record, overwrite=self.settings.overwrite)
            except (DeviceError, InputError) as exc:
                log.error("%s; streaming without recording", exc)
        if self.source is not None:
            self._threads.append(threading.Thread(target=self._capture_loop, name="capture", daemon=True))
        self._threads.append(threading.Thread(target=self._work_loop, name="worker", daemon=True))
        for thread in self._threads:
            thread.start()

    def wait(self) -> None:
        """Block until stopped (by `stop()`, --max-seconds or a fatal error in a thread)."""
        limit = self.settings.max_seconds
        while not self._stop.wait(0.1):
            if limit is not None and time.monotonic() - self._started >= limit:
                self.stop()

    def close(self) -> None:
        """Stop the threads, then release the camera and close every sink (idempotent)."""
        self.stop()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()
        self.stop_recording()
        if self.source is not None:
            self.source.close()
        for sink in self.sinks:
            sink.close()

    def run(self) -> dict:
        """start + wait + close; returns the summary."""
        self.start()
        try:
            self.wait()
        finally:
            self.close()
        return self.summary()

    def _capture_loop(self) -> None:
        assert self.source is not None
        lost = False
        while not self._stop.is_set():
            try:
                frame = self.source.read()
            except SourceLost as exc:
                if not lost:
                    log.warning("%s; streaming the idle presenter and retrying the camera", exc)
                    lost = True
                if self._stop.wait(RETRY_CAMERA_EVERY_S):
                    break
                try:
                    self.source.reopen()
                except DeviceError:
                    continue
                continue
            if lost:
                log.info("camera %s is back", self.source.spec)
                lost = False
            self.stats.captured()
            self._slot.put(frame)

    def _work_loop(self) -> None:
        period = 1.0 / self.output_fps
        last_frame_at = time.monotonic()
        next_due = time.monotonic()
        next_log = time.monotonic() + LOG_EVERY_S
        try:
            while not self._stop.is_set():
                frame = self._slot.take(timeout=period) if self.source is not None else None
                now = time.monotonic()
                if frame is not None:
                    last_frame_at = now
                    if self.settings.fps and now < next_due - 0.25 * period:
                        continue  # over the --fps cap: this captured frame is never animated
                    self._send(frame)
                elif now - last_frame_at >= CAMERA_LOST_AFTER_S or self.source is None:
                    if now < next_due:
                        self._stop.wait(next_due - now)
                        continue
                    self._send(None)
                else:
                    continue
                next_due = max(next_due + period, time.monotonic() - period)
                if time.monotonic() >= next_log:
                    next_log += LOG_EVERY_S
                    s = self.status()
                    log.info("live: %.1f fps, latency %.0f ms, %d dropped", s["fps"], s["latency_ms"],
                             self._slot.dropped)
        except Exception:
            log.exception("live pipeline failed")
            self.stop()
            raise

    def _send(self, frame: Frame | None) -> None:
        """One frame through the frame path, then to every sink and the recording."""
        now = time.monotonic()
        composed = self.path.step(frame, now)
        started = time.perf_counter()
        timestamp = frame.time_s if frame is not None else now
        for sink in self.sinks:
            sink.send(composed, timestamp)
        self.recordings.send(composed, timestamp, self.presenter.name, self.engine_name)
        self.stats.stage("send", time.perf_counter() - started)
        self.preview_slot.put(composed)
        self.stats.sent(frame.time_s if frame is not None else None)
