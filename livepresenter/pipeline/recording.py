"""Recordings of the live output: one at a time, started and stopped from any thread.

A recording is a Recorder (which encodes on a thread of its own) fed the composed frames by the live worker and,
when a microphone or an audio file can be opened, sound blocks by an "audio" thread owned here. Frames and sound
blocks carry their capture times (time.monotonic()), so they are muxed by time. The file is checked and created
before `start` returns: every reason it cannot be written is the caller's error, never a later log line. Its tags
name every presenter and engine shown while it ran.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from livepresenter.capture.audio import AudioSource, open_audio_source
from livepresenter.errors import DeviceError, LivepresenterError, OutputError
from livepresenter.outputs import Inputs, check_output, create_output
from livepresenter.sinks.recorder import Recorder, provenance, recording_path

__all__ = ["OVERWRITE_HINT", "Recordings"]

log = logging.getLogger(__name__)

OVERWRITE_HINT = '--force (or "overwrite": true in a control request)'


@dataclass
class _Recording:
    """A recording in progress: the sink, the audio thread feeding it (None: video only), and who was shown
    (presenters and engines in order of appearance, for the file's tags)."""

    recorder: Recorder
    audio_thread: threading.Thread | None
    stop: threading.Event
    started: datetime
    presenters: list[str] = field(default_factory=list)
    engines: list[str] = field(default_factory=list)

    def shown(self, presenter: str, engine: str) -> None:
        for seen, name in ((self.presenters, presenter), (self.engines, engine)):
            if name not in seen:
                seen.append(name)


class Recordings:
    """The live session's recordings.

    size, fps: of the composed frames. audio_source: a microphone (None: the default one) or a file played as if
    live. inputs(): the files the session reads, none of which a recording may replace.
    """

    def __init__(self, size: tuple[int, int], fps: float, audio_source: str | None,
                 inputs: Callable[[], Inputs]) -> None:
        self._size, self._fps = size, fps
        self._audio_source = audio_source
        self._inputs = inputs
        self._lock = threading.Lock()
        self._recording: _Recording | None = None
        self.finished: Recorder | None = None  # the last recording finished: what a caller reports afterwards
        self._said_no_sound = False

    @property
    def recorder(self) -> Recorder | None:
        """The recording in progress, if any (its path, started_at, frames_written, error)."""
        recording = self._recording
        return recording.recorder if recording is not None else None

    @property
    def path(self) -> str | None:
        """The file being written, None when not recording (also once a write failed)."""
        recorder = self.recorder
        return str(recorder.path) if recorder is not None and not recorder.failed else None

    def check(self, path: Path, overwrite: bool) -> None:
        """Refuse `path` now (OutputError) if no recording could ever go there: an input, or an existing file."""
        check_output(path, self._inputs(), overwrite=overwrite, force=OVERWRITE_HINT)

    def start(self, path: Path | None, *, overwrite: bool, presenter: str, engine: str, clock_start: float) -> Path:
        """Record to `path` (None: a fresh timestamped file in the user's Videos folder); returns the file once it
        exists. An audio file plays from `clock_start` (time.monotonic() of the session's start, where a --source
        video file starts too). Raises OutputError or DeviceError (one line) for an input, an existing file without
        `overwrite`, a missing or read-only folder, or a recording already running (naming its file). No PortAudio
        or no microphone only makes the recording silent, said once per session."""
        with self._lock:
            if self._recording is not None:
                if not self._recording.recorder.failed:
                    raise OutputError(f"already recording to {self._recording.recorder.path}: stop that recording "
                                      "first (livepresenter record stop)")
                self._finish()
            named = Path(path).expanduser() if path is not None else None
            existed = named is not None and os.path.lexists(named)
            target = self._created(named, overwrite)
            audio = self._open_audio(clock_start)
            started = datetime.now(UTC)
            try:
                recorder = Recorder(target, self._size, self._fps, audio=audio.audio_format if audio else None,
                                    metadata=provenance([presenter], [engine], started))
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
            self._recording = _Recording(recorder, thread, stop, started, [presenter], [engine])
            log.info("recording to %s (sound: %s)", target, audio.description if audio else "none")
            return target

    def stop(self) -> Path | None:
        """Finish the recording; returns its path (also after a failed write: what was written stays playable), or
        None when not recording."""
        with self._lock:
            return self._finish() if self._recording is not None else None

    def send(self, frame: np.ndarray, timestamp: float, presenter: str, engine: str) -> None:
        """One composed frame, and who is on it (for the tags), from the live worker."""
        recording = self._recording
        if recording is not None:
            recording.shown(presenter, engine)
            recording.recorder.send(frame, timestamp)

    def _created(self, path: Path | None, overwrite: bool) -> Path:
        """The file to record to, created now: an unnamed recording gets a fresh name; a named one is checked
        against the session's inputs and existing files."""
        if path is None:
            return recording_path(None)
        self.check(path, overwrite)
        create_output(path, overwrite=overwrite)
        return path

    def _finish(self) -> Path:
        recording, self._recording = self._recording, None
        assert recording is not None
        recording.stop.set()
        if recording.audio_thread is not None:
            recording.audio_thread.join()
        recorder = self.finished = recording.recorder
        # The tags written at the start name the first presenter and engine: after a switch, name all of them.
        switched = len(recording.presenters) > 1 or len(recording.engines) > 1
        recorder.close(metadata=provenance(recording.presenters, recording.engines, recording.started)
                       if switched else None)
        if not recorder.failed:
            log.info("recording saved: %s (%d frames)", recorder.path, recorder.frames_written)
        return recorder.path

    def _open_audio(self, clock_start: float) -> AudioSource | None:
        try:
            return open_audio_source(self._audio_source, clock_start)
        except DeviceError as exc:
            if not self._said_no_sound:
                log.warning("%s; recording video only", exc)
                self._said_no_sound = True
            return None

    @staticmethod
    def _audio_loop(audio: AudioSource, recorder: Recorder, stop: threading.Event) -> None:
        """Sound blocks into the recorder until the recording stops or fails; then releases the source."""
        try:
            while not (stop.is_set() or recorder.failed):
                block = audio.read(timeout=0.2)
                if block is not None:
                    recorder.send_audio(block.samples, block.timestamp)
        except LivepresenterError as exc:
            log.error("%s; the recording goes on without sound", exc)
        finally:
            audio.close()
