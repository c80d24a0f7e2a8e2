"""Recording sink: composed frames and microphone blocks into an MP4 (H.264 + AAC) on its own thread, so encoding
never stalls the live stream. Frames and sound blocks are placed by their capture timestamps, not by counting.

The file is fragmented MP4 flushed per packet: a crash or kill -9 leaves a playable file that lacks about its last
second. The encoder thread runs at a lower priority (Linux), so on a small machine the animation keeps the CPU and
the recording drops frames first; at most `max_backlog_s` of frames wait for it, which bounds what a crash loses.
A write that fails (disk full, file size limit) stops the recording with one logged line, keeps what was written
playable and leaves the live stream alone.
"""

from __future__ import annotations

import logging
import os
import queue
import sys
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path

import av
import numpy as np

from livepresenter import __version__
from livepresenter.errors import DeviceError
from livepresenter.media.mp4_writer import AudioFormat, Mp4Writer, retag
from livepresenter.outputs import create_fresh, oserror_reason

log = logging.getLogger(__name__)

ENCODER_NICE_INCREMENT = 5  # below the animation, which keeps the process's priority
_STOP = object()
_VIDEO, _AUDIO = "video", "audio"


class Recorder:
    """A Sink writing `path` at `size` (width, height) and nominal `fps`; `close()` finishes the file.

    audio: the format of the blocks given to `send_audio` (None: video only).
    metadata: container tags, e.g. `provenance(...)`.
    """

    def __init__(self, path: Path, size: tuple[int, int], fps: float, *, audio: AudioFormat | None = None,
                 metadata: Mapping[str, str] | None = None, max_backlog_s: float = 0.5) -> None:
        self.path = Path(path)
        self._writer = Mp4Writer(self.path, size, fps, live_audio=audio, metadata=metadata, fragmented=True,
                                 preset="ultrafast")
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._frame_slots = threading.Semaphore(max(2, round(fps * max_backlog_s)))
        self._early_audio: list[tuple[np.ndarray, float]] = []  # blocks that came before the first frame
        self.started_at: float | None = None  # capture time (time.monotonic()) of the file's time 0
        self.dropped = 0
        self.error: str | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._write_loop, name="recorder", daemon=True)
        self._thread.start()

    @property
    def frames_written(self) -> int:
        return self._writer.frames_written

    @property
    def failed(self) -> bool:
        return self.error is not None

    def send(self, frame: np.ndarray, timestamp: float) -> None:
        """Queue a frame; dropped (and counted) when the encoder is `max_backlog_s` behind."""
        if self._closed or self.failed:
            return
        if not self._frame_slots.acquire(blocking=False):
            self.dropped += 1
            return
        self._queue.put((_VIDEO, frame, timestamp))

    def send_audio(self, samples: np.ndarray, timestamp: float) -> None:
        """Queue a (samples, channels) block whose first sample was captured at `timestamp`."""
        if not (self._closed or self.failed):
            self._queue.put((_AUDIO, samples, timestamp))

    def _write_loop(self) -> None:
        _lower_priority()
        try:
            while (item := self._queue.get()) is not _STOP:
                kind, data, timestamp = item
                if kind == _VIDEO:
                    self._frame_slots.release()
                    self._write_frame(data, timestamp)
                elif self.started_at is None:
                    self._early_audio.append((data, timestamp))
                else:
                    self._writer.write_audio(data, timestamp - self.started_at)
        except (OSError, av.FFmpegError) as exc:
            self._fail(exc)

    def _write_frame(self, frame: np.ndarray, timestamp: float) -> None:
        if self.started_at is None:
            self.started_at = timestamp
            for samples, block_time in self._early_audio:
                self._writer.write_audio(samples, block_time - timestamp)
            self._early_audio.clear()
        self._writer.write(frame, timestamp - self.started_at)

    def _fail(self, exc: BaseException) -> None:
        self.error = f"recording {self.path} stopped: {oserror_reason(exc, self.path)}; the live stream goes on"
        log.error("%s", self.error)
        try:
            self._writer.close()
        except (OSError, av.FFmpegError) as close_exc:
            log.debug("closing the failed recording: %s", close_exc)

    def close(self, metadata: Mapping[str, str] | None = None) -> None:
        """Finish the file (idempotent); frames still queued are written first.

        metadata: tags to replace those given at the start (they sit in the file's header, so the finished file
        is copied once; when that fails, the file keeps its first tags and one line says so).
        """
        if self._closed:
            return
        self._closed = True
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()
        if not self.failed:
            try:
                self._writer.close()
            except (OSError, av.FFmpegError) as exc:
                self._fail(exc)
        if metadata is not None and not self.failed:
            try:
                retag(self.path, metadata)
            except (OSError, av.FFmpegError) as exc:
                log.warning("recording %s keeps the tags it started with: rewriting them failed (%s)", self.path,
                            oserror_reason(exc))
        if self.dropped:
            log.warning("recording %s: %d frames dropped (encoder too slow)", self.path, self.dropped)


def _lower_priority() -> None:
    """Let the animation win the CPU: on Linux niceness is per thread, and x264's threads inherit this one's."""
    if sys.platform.startswith("linux"):
        thread_id = threading.get_native_id()
        try:
            nice = os.getpriority(os.PRIO_PROCESS, thread_id)
            os.setpriority(os.PRIO_PROCESS, thread_id, min(19, nice + ENCODER_NICE_INCREMENT))
        except OSError as exc:
            log.debug("recorder keeps its priority: %s", exc)


def provenance(presenters: Sequence[str], engines: Sequence[str], started: datetime) -> dict[str, str]:
    """MP4 tags saying that a recording is synthetic: who is shown (in order of appearance), made by what, when."""
    who = presenters[0] if len(presenters) == 1 else f"{', '.join(presenters[:-1])} and {presenters[-1]}"
    made_by = f"{', '.join(engines)} engine{'s' if len(engines) > 1 else ''}"
    return {
        "title": f"{who} (synthetic video)",
        "comment": f"Synthetic video: an AI re-enactment of {who} made live with livepresenter {__version__} "
                   f"({made_by}) on {started:%Y-%m-%d}. {who} did not record it.",
        "description": f"synthetic=yes; presenter={'; presenter='.join(presenters)}; engine={','.join(engines)}; "
                       f"generator=livepresenter {__version__}; date={started.isoformat(timespec='seconds')}",
        "date": started.date().isoformat(),
        "creation_time": started.isoformat(),
    }


def is_synthetic_recording(path: Path) -> bool:
    """Whether `path` is a video livepresenter wrote (its provenance tags say so): the demo may replace its own last
    output, never a file of the user's."""
    import av

    try:
        with av.open(str(path)) as container:
            description = container.metadata.get("description", "")
    except (OSError, av.FFmpegError):
        return False
    return description.startswith("synthetic=yes;") and "generator=livepresenter" in description


def recording_path(path: Path | str | None) -> Path:
    """Where to record: `path`, its folder created; or, without one, a timestamped file in the user's Videos folder,
    created at once under a name no file has (NAME-2.mp4 when two recordings start within a second).

    Raises DeviceError (one line) when the folder cannot be created.
    """
    if path is None:
        import platformdirs

        path = Path(platformdirs.user_videos_dir()) / "livepresenter" / f"livepresenter-{datetime.now():%Y%m%d-%H%M%S}.mp4"
        return create_fresh(_with_folder(path))
    return _with_folder(Path(path).expanduser())


def _with_folder(path: Path) -> Path:
    """`path`, once its folder exists: the Videos folder (or the studio's output folder) may be new."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DeviceError(f"cannot record to {path}: folder {path.parent} cannot be created ({exc.strerror}); "
                          "choose a writable folder") from None
    return path
