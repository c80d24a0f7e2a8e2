"""The live pipeline's one owner of threads: capture → track → animate → compose → sinks.

Two threads. The capture thread reads the source and hands over only the newest frame
(`LatestSlot`: stale frames are dropped and counted, never queued, so latency stays bounded when the
engine is slower than the camera). The worker thread tracks, animates, composes and sends. When no
camera frame arrives (no camera, unplugged, face lost), the worker keeps streaming the idle
presenter at the output rate. Controls (`set_realface`, `set_paused`, `reset_reference`) may be
called from any thread; they take effect on the next frame.

Recording (`start_recording`/`stop_recording`, any thread) adds an "audio" thread reading the microphone or
an audio file into the Recorder, which encodes on a thread of its own; frames and sound blocks carry their
capture times (time.monotonic()), and a video file source and an audio file start on the same instant.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np

from livepresenter.capture import FaceTracker, ReferencePicker
from livepresenter.capture.audio import AudioSource, check_audio_source, open_audio_source
from livepresenter.capture.source import FrameSource, SourceLost
from livepresenter.compose.stage import Compositor
from livepresenter.engine.base import AnimationEngine
from livepresenter.engine.registry import engine_files
from livepresenter.errors import DeviceError, InputError, LivepresenterError, OutputError, SwitchInProgressError
from livepresenter.face import TrackedFace
from livepresenter.face.crop import crop_box_from_landmarks, crop_image, to_crop_coords
from livepresenter.media import Frame
from livepresenter.outputs import Inputs, check_output, create_output
from livepresenter.pipeline.idle import IdleMotion, smoothstep
from livepresenter.pipeline.realface import realface_view
from livepresenter.pipeline.slot import LatestSlot
from livepresenter.pipeline.stats import LiveStats
from livepresenter.presenter.preparation import prepare_presenter
from livepresenter.sinks import Sink
from livepresenter.sinks.recorder import Recorder, provenance, recording_path

log = logging.getLogger(__name__)

CROP_SIZE = 256
CAMERA_LOST_AFTER_S = 0.5   # no frame for this long: stream idle frames
RETRY_CAMERA_EVERY_S = 1.0
LOG_EVERY_S = 5.0
FADE_S = 0.4
OVERWRITE_HINT = '--force (or "overwrite": true in a control request)'


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
    size: tuple[int, int] = (1280, 720)
    fps: float | None = None
    vcam: bool = True
    label: bool = True
    max_seconds: float | None = None
    reference_window_s: float = 3.0
    record: Path | None = None  # record from the start to this MP4
    overwrite: bool = False  # --force: `record` may replace an existing file (never one of the session's inputs)
    audio_source: str | None = None  # recording sound: a microphone (None: the default) or a file played as if live


@dataclass
class _Recording:
    """A recording in progress: the sink, the audio thread feeding it (None: video only), and who was shown
    (presenters and engines in order of appearance, for the file's tags)."""

    recorder: Recorder
    audio_thread: threading.Thread | None
    stop: threading.Event
    started: datetime
    presenters: list[str]
    engines: list[str]

    def shown(self, presenter: str, engine: str) -> None:
        for seen, name in ((self.presenters, presenter), (self.engines, engine)):
            if name not in seen:
                seen.append(name)

    def tags(self) -> dict[str, str]:
        return provenance(self.presenters, self.engines, self.started)


@dataclass
class _Presenter:
    """A presenter made ready for the hot path: engine prepared, compositor built."""

    name: str
    portrait: Path
    engine: AnimationEngine
    compositor: Compositor
    portrait_size: tuple[int, int]
    neutral: TrackedFace  # the portrait's own face as a driving frame: the reference until a live one is picked


class Orchestrator:
    def __init__(self, settings: LiveSettings) -> None:
        check_audio_source(settings.audio_source)  # a bad audio file fails before going live
        self.settings = settings
        self.stats = LiveStats()
        self.tracker = FaceTracker()
        self._portrait_tracker = FaceTracker()  # presenters are prepared off the worker thread
        self.source: FrameSource | None = None
        if settings.source is not None:
            self.source = FrameSource(settings.source)
        source_fps = self.source.fps if self.source else 30.0
        self.output_fps = min(source_fps, settings.fps) if settings.fps else source_fps
        self.presenter = self._prepare_presenter(settings.presenter)
        self._portraits = [self.presenter.portrait]  # every presenter shown: a recording may replace none of them
        if settings.record is not None:  # a file that must not be replaced fails before going live
            check_output(Path(settings.record).expanduser(), self.input_files(), overwrite=settings.overwrite,
                         force=OVERWRITE_HINT)
        self.idle = IdleMotion(self.presenter.neutral)
        self.presenter.engine.set_reference(self.presenter.neutral)
        self.picker = ReferencePicker(self.presenter.neutral.face.landmarks,
                                      window_frames=max(1, round(settings.reference_window_s * self.output_fps)))
        self.sinks: list[Sink] = []
        self.vcam_active = False
        if settings.vcam:
            self._open_vcam()
        self.realface = False
        self.paused = False
        self.preview_slot: LatestSlot[np.ndarray] = LatestSlot()
        self._slot: LatestSlot[Frame] = LatestSlot()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._reset_requested = False
        self._reference: TrackedFace | None = None
        self._last_composed: np.ndarray | None = None
        self._fade: tuple[np.ndarray, float] | None = None
        self._pending: tuple[_Presenter, threading.Event] | None = None
        self._switch_lock = threading.Lock()
        self._switching: str | None = None  # the presenter being prepared (guarded by _switch_lock)
        self._index = 0
        self._started = 0.0
        self._recording: _Recording | None = None
        self._recording_lock = threading.Lock()
        self._said_no_sound = False
        self.control = None  # a ControlServer, served on the "control" thread (serve_control)

    # -- setup -------------------------------------------------------------------------------
    def _prepare_presenter(self, spec: str) -> _Presenter:
        prepared = prepare_presenter(spec, self._portrait_tracker, engine=self.settings.engine,
                                     checkpoint=self.settings.checkpoint, fomm_config=self.settings.fomm_config,
                                     size=self.settings.size, label=self.settings.label,
                                     precision=self.settings.precision)
        portrait = prepared.presenter.portrait_rgb
        box = crop_box_from_landmarks(prepared.face.landmarks)
        height, width = portrait.shape[:2]
        neutral = TrackedFace(index=0, face=prepared.face, crop_box=box, crop=crop_image(portrait, box, CROP_SIZE),
                              crop_landmarks=to_crop_coords(prepared.face.landmarks, box, CROP_SIZE))
        return _Presenter(prepared.presenter.name, prepared.presenter.source, prepared.engine, prepared.compositor,
                          (width, height), neutral)

    def _open_vcam(self) -> None:
        from livepresenter.sinks.vcam import VirtualCamera

        width, height = self.settings.size
        try:
            self.sinks.append(VirtualCamera(width, height, self.output_fps))
            self.vcam_active = True
        except DeviceError as exc:
            log.warning("%s; streaming to the other outputs only", exc)

    def add_sink(self, sink: Sink) -> None:
        """Another output (e.g. a recording); call before `start()`. Closed by `close()`."""
        self.sinks.append(sink)

    def serve_control(self, server) -> None:
        """Answer the control interface (livepresenter.control) while running; call before `start()`.
        The server is closed by `close()`."""
        self.control = server

    # -- controls (any thread) -----------------------------------------------------------------
    def set_realface(self, on: bool) -> None:
        self.realface = bool(on)

    def set_paused(self, on: bool) -> None:
        self.paused = bool(on)

    def switch_presenter(self, spec: str, timeout: float = 120.0) -> str:
        """Switch to another presenter without stalling the stream; returns its name once it is on air.

        The new presenter is prepared on the calling thread (portrait decode, face, engine caches) while
        the old one keeps streaming; the worker swaps it in at its next frame and cross-fades. Another switch
        asked for meanwhile is refused (SwitchInProgressError), not queued.
        """
        self._claim_switch(spec)
        try:
            prepared = self._prepare_presenter(spec)
            swapped = threading.Event()
            self._pending = (prepared, swapped)
            deadline = time.monotonic() + timeout
            while not swapped.wait(0.05):
                if self._stop.is_set() or not any(t.is_alive() for t in self._threads):
                    self._swap_in(*self._pending)  # not streaming: nothing to keep in step with
                elif time.monotonic() > deadline:
                    raise TimeoutError(f"presenter {spec} was prepared but not swapped in within {timeout:.0f} s")
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

    def _swap_in(self, prepared: _Presenter, swapped: threading.Event) -> None:
        self._pending = None
        reference = self._reference if self._reference is not None else prepared.neutral
        prepared.engine.set_reference(reference)
        if self._reference is None:
            self.idle.set_reference(prepared.neutral)
        self.picker = ReferencePicker(prepared.neutral.face.landmarks, window_frames=self.picker.window_frames)
        if self._reference is not None:
            self.picker.offer(self._reference)
        self._start_fade(time.monotonic())
        self.presenter = prepared
        self._portraits.append(prepared.portrait)
        if (recording := self._recording) is not None:
            recording.shown(prepared.name, prepared.engine.name)
        log.info("presenter: %s", prepared.name)
        swapped.set()

    def reset_reference(self) -> None:
        """Pick the reference driving frame again from the next seconds (e.g. after sitting down)."""
        self._reset_requested = True

    def stop(self) -> None:
        self._stop.set()

    def latest_frame(self) -> np.ndarray | None:
        """The last frame sent (HxWx3 uint8 RGB, never modified afterwards), or None before the first."""
        return self._last_composed

    @property
    def engine_name(self) -> str:
        return self.presenter.engine.name

    def status(self) -> dict:
        return {"presenter": self.presenter.name, "engine": self.engine_name,
                "fps": round(self.stats.current_fps(), 2), "latency_ms": round(self.stats.current_latency_ms(), 1),
                "vcam": self.vcam_active, "realface": self.realface, "paused": self.paused,
                "recording": self._recording_path()}

    # -- recording (any thread) ------------------------------------------------------------------
    @property
    def recorder(self) -> Recorder | None:
        """The recording in progress, if any (its path, started_at, frames_written, error)."""
        recording = self._recording
        return recording.recorder if recording is not None else None

    def _recording_path(self) -> str | None:
        """status()["recording"]: the file's path while recording, else None (also once a write failed)."""
        recorder = self.recorder
        return str(recorder.path) if recorder is not None and not recorder.failed else None

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
        """Record the output, with sound, to `path` (None: a fresh timestamped file in the user's Videos folder).

        Returns the file's path once it is created: every reason it cannot be written is raised before that
        (OutputError or DeviceError, one line): one of this session's inputs, an existing file without `overwrite`,
        a folder that is missing or read-only, a recording already running (naming its file). Needs a running
        pipeline. No PortAudio or no microphone only makes the recording silent, said once per session.
        """
        with self._recording_lock:
            if not self._started or self._stop.is_set():
                raise RuntimeError("start_recording() needs a running pipeline: call start() first")
            if self._recording is not None:
                if not self._recording.recorder.failed:
                    raise OutputError(f"already recording to {self._recording.recorder.path}: stop that recording "
                                      "first (livepresenter record stop)")
                self._finish_recording()
            named = Path(path).expanduser() if path is not None else None
            existed = named is not None and os.path.lexists(named)
            target = self._recording_file(named, overwrite)
            audio = self._open_audio()
            started, presenters, engines = datetime.now(UTC), [self.presenter.name], [self.engine_name]
            try:
                recorder = Recorder(target, self.settings.size, self.output_fps,
                                    audio=audio.audio_format if audio else None,
                                    metadata=provenance(presenters, engines, started))
            except BaseException:
                if audio is not None:
                    audio.close()
                if not existed:
                    target.unlink(missing_ok=True)
                raise
            stop = threading.Event()
            thread = None
            if audio is not None:
                thread = threading.Thread(target=self._audio_loop, args=(audio, recorder, stop), name="audio",
                                          daemon=True)
                thread.start()
            self._recording = _Recording(recorder, thread, stop, started, presenters, engines)
            log.info("recording to %s (sound: %s)", target, audio.description if audio else "none")
            return target

    def _recording_file(self, path: Path | None, overwrite: bool) -> Path:
        """The file to record to, created now: an unnamed recording gets a fresh name; a named one is checked
        against the session's inputs and existing files."""
        if path is None:
            return recording_path(None)
        check_output(path, self.input_files(), overwrite=overwrite, force=OVERWRITE_HINT)
        create_output(path, overwrite=overwrite)
        return path

    def stop_recording(self) -> Path | None:
        """Finish the recording; returns its path (also after a failed write: what was written stays
        playable), or None when not recording."""
        with self._recording_lock:
            return self._finish_recording() if self._recording is not None else None

    def _finish_recording(self) -> Path:
        recording, self._recording = self._recording, None
        recording.stop.set()
        if recording.audio_thread is not None:
            recording.audio_thread.join()
        recorder = recording.recorder
        # The tags written at the start name the first presenter and engine: after a switch, name all of them.
        switched = len(recording.presenters) > 1 or len(recording.engines) > 1
        recorder.close(metadata=recording.tags() if switched else None)
        if not recorder.failed:
            log.info("recording saved: %s (%d frames)", recorder.path, recorder.frames_written)
        return recorder.path

    def _open_audio(self) -> AudioSource | None:
        try:
            return open_audio_source(self.settings.audio_source, self._started)
        except DeviceError as exc:
            if not self._said_no_sound:
                log.warning("%s; recording video only", exc)
                self._said_no_sound = True
            return None

    def _audio_loop(self, audio: AudioSource, recorder: Recorder, stop: threading.Event) -> None:
        """Sound blocks into the recorder until the recording stops or fails; then releases the source."""
        try:
            while not (stop.is_set() or self._stop.is_set() or recorder.failed):
                block = audio.read(timeout=0.2)
                if block is not None:
                    recorder.send_audio(block.samples, block.timestamp)
        except LivepresenterError as exc:
            log.error("%s; the recording goes on without sound", exc)
        finally:
            audio.close()

    def summary(self) -> dict:
        """The --stats-json object."""
        return {**self.stats.summary(self._slot.dropped), "engine": self.engine_name,
                "presenter": self.presenter.name, "vcam": self.vcam_active}

    # -- threads -------------------------------------------------------------------------------
    def start(self) -> None:
        if self.source is not None and not self.source.is_camera:
            self.source.reopen()  # the clip starts now, when an --audio-source file does (both anchored here)
        self._started = time.monotonic()
        if self.source is not None:
            self._threads.append(threading.Thread(target=self._capture_loop, name="capture", daemon=True))
        self._threads.append(threading.Thread(target=self._work_loop, name="worker", daemon=True))
        if self.control is not None:
            self._threads.append(threading.Thread(target=self.control.serve, args=(self, self._stop), name="control",
                                                  daemon=True))
        for thread in self._threads:
            thread.start()
        if self.settings.record is not None:
            try:
                self.start_recording(self.settings.record, overwrite=self.settings.overwrite)
            except (DeviceError, InputError) as exc:
                log.error("%s; streaming without recording", exc)

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
        if self.control is not None:
            self.control.close()
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
                    self._process(frame)
                elif now - last_frame_at >= CAMERA_LOST_AFTER_S or self.source is None:
                    if now < next_due:
                        self._stop.wait(next_due - now)
                        continue
                    self._process(None)
                else:
                    continue
                next_due = max(next_due + period, time.monotonic() - period)
                if time.monotonic() >= next_log:
                    next_log += LOG_EVERY_S
                    s = self.status()
                    log.info("live: %.1f fps, latency %.0f ms, %d dropped", s["fps"], s["latency_ms"], self._slot.dropped)
        except Exception:
            log.exception("live pipeline failed")
            self.stop()
            raise

    # -- one frame -------------------------------------------------------------------------------
    def _timed(self, stage: str, fn, *args):
        t0 = time.perf_counter()
        result = fn(*args)
        self.stats.stage(stage, time.perf_counter() - t0)
        return result

    def _drive(self, tracked: TrackedFace | None, now: float) -> TrackedFace:
        """The face to animate: the tracked one, or idle motion when there is none (or paused)."""
        if self._reset_requested:
            self._reset_requested = False
            self.picker.reset()
            self._reference = None
        if tracked is not None and tracked.found and not self.paused:
            self.picker.offer(tracked)
            # The first face becomes the reference at once; the best of the window replaces it once, at its end.
            if self._reference is None or (self.picker.done and self.picker.best is not self._reference):
                self._set_reference(self.picker.best, now)
            return self.idle.live(tracked, now)
        return self.idle.idle(now, self._index)

    def _set_reference(self, reference: TrackedFace, now: float) -> None:
        """Switch the reference pose; the jump in the output is cross-faded."""
        self._start_fade(now)
        self._reference = reference
        self.presenter.engine.set_reference(reference)
        self.idle.set_reference(reference)
        log.debug("reference driving frame %d", reference.index)

    def _start_fade(self, now: float) -> None:
        """Cross-fade from the last frame sent, over FADE_S: reference and presenter switches never jump."""
        if self._last_composed is not None:
            self._fade = (self._last_composed, now)

    def _faded(self, composed: np.ndarray, now: float) -> np.ndarray:
        if self._fade is not None:
            start_image, start = self._fade
            w = smoothstep((now - start) / FADE_S)
            if w >= 1:
                self._fade = None
            else:
                composed = cv2.addWeighted(start_image, 1 - w, composed, w, 0)
        self._last_composed = composed
        return composed

    def _process(self, frame: Frame | None) -> None:
        now = time.monotonic()
        if self._pending is not None:
            self._swap_in(*self._pending)
        tracked = self._timed("track", self.tracker.track, frame.image, frame.time_s) if frame is not None else None
        if self.realface and frame is not None and tracked is not None:
            animated = realface_view(frame.image, tracked.crop_box, self.presenter.portrait_size)
        else:
            animated = self._timed("animate", self.presenter.engine.animate, self._drive(tracked, now))
        composed = self._faded(self._timed("compose", self.presenter.compositor.compose, animated), now)
        t0 = time.perf_counter()
        timestamp = frame.time_s if frame is not None else now
        for sink in self.sinks:
            sink.send(composed, timestamp)
        recording = self._recording
        if recording is not None:
            recording.recorder.send(composed, timestamp)
        self.stats.stage("send", time.perf_counter() - t0)
        self.preview_slot.put(composed)
        self.stats.sent(frame.time_s if frame is not None else None)
        self._index += 1
