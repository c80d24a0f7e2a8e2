"""Recording a lecture in the studio: webcam frames and microphone sound into an MP4 through the live mode's
Recorder (its own encoder thread, frames and sound placed by capture time). Without a microphone the recording
is video only and `note` says why; without a camera the constructor raises the one-line DeviceError."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import numpy as np

from livepresenter.capture.audio import AudioSource, open_audio_source
from livepresenter.capture.source import FrameSource, SourceLost
from livepresenter.errors import DeviceError, LivepresenterError
from livepresenter.sinks.recorder import Recorder

__all__ = ["WebcamRecording"]

log = logging.getLogger(__name__)


class WebcamRecording:
    """Starts recording `camera` (an index, a device path, or a video file for tests) into `path` at once.

    The GUI reads `preview` (the last frame, RGB), `level` (the last sound block's peak, 0..1) and `elapsed_s`;
    `stop()` finishes the file and returns its path, or raises DeviceError when the capture or the disk failed.
    """

    def __init__(self, path: Path, camera: str = "0", microphone: str | None = None) -> None:
        self.path = path
        self.preview: np.ndarray | None = None
        self.level = 0.0
        self.note: str | None = None
        self.error: str | None = None
        self._source = FrameSource(camera, loop=False)
        width, height = self._source.size
        self._audio: AudioSource | None = None
        try:
            self._audio = open_audio_source(microphone, time.monotonic())
        except DeviceError as exc:
            self.note = f"{exc}; recording video only"
        try:
            self._recorder = Recorder(path, (width // 2 * 2, height // 2 * 2), self._source.fps,
                                      audio=self._audio.audio_format if self._audio else None)
        except BaseException:
            self._release()
            raise
        self._started = time.monotonic()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._video_loop, name="studio-camera", daemon=True)]
        if self._audio is not None:
            self._threads.append(threading.Thread(target=self._audio_loop, name="studio-mic", daemon=True))
        for thread in self._threads:
            thread.start()

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self._started

    def stop(self) -> Path:
        self._stop.set()
        for thread in self._threads:
            thread.join()
        self._release()
        self._recorder.close()
        error = self.error or self._recorder.error
        if error is not None or self._recorder.frames_written == 0:
            self.path.unlink(missing_ok=True)
            raise DeviceError(error or f"the camera gave no frames: nothing was recorded to {self.path}")
        return self.path

    def _release(self) -> None:
        self._source.close()
        if self._audio is not None:
            self._audio.close()

    def _video_loop(self) -> None:
        while not self._stop.is_set():
            try:
                frame = self._source.read()
            except SourceLost as exc:
                self.error = f"{exc}: the recording stopped"
                return
            height, width = (self._source.size[1] // 2 * 2, self._source.size[0] // 2 * 2)
            self.preview = frame.image[:height, :width]
            self._recorder.send(self.preview, frame.time_s)

    def _audio_loop(self) -> None:
        assert self._audio is not None
        try:
            while not self._stop.is_set():
                block = self._audio.read(timeout=0.2)
                if block is not None:
                    self.level = float(np.abs(block.samples).max(initial=0.0))
                    self._recorder.send_audio(block.samples, block.timestamp)
        except LivepresenterError as exc:
            self.note = f"{exc}; the recording goes on without sound"
