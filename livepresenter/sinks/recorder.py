"""Recording sink: composed frames into an MP4 on its own thread, so encoding never stalls the
live stream. Frames are placed by their capture timestamps, not by counting.

The file is fragmented MP4 flushed per packet, so a crash leaves a playable file.
"""

from __future__ import annotations

import logging
import queue
import threading
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

_STOP = object()


class Recorder:
    """A Sink writing `path` at `size` (width, height) and nominal `fps`; `close()` finishes the file."""

    def __init__(self, path: Path, size: tuple[int, int], fps: float, max_backlog_s: float = 2.0) -> None:
        from livepresenter.media.mp4_writer import Mp4Writer

        self.path = Path(path)
        self._writer = Mp4Writer(self.path, size, fps, fragmented=True, preset="ultrafast")
        self._queue: queue.Queue = queue.Queue(maxsize=max(2, round(fps * max_backlog_s)))
        self._t0: float | None = None
        self.dropped = 0
        self._thread = threading.Thread(target=self._write_loop, name="recorder", daemon=True)
        self._thread.start()

    @property
    def frames_written(self) -> int:
        return self._writer.frames_written

    def send(self, frame: np.ndarray, timestamp: float) -> None:
        if self._t0 is None:
            self._t0 = timestamp
        try:
            self._queue.put_nowait((frame, timestamp - self._t0))
        except queue.Full:
            self.dropped += 1

    def _write_loop(self) -> None:
        while (item := self._queue.get()) is not _STOP:
            frame, time_s = item
            self._writer.write(frame, time_s)

    def close(self) -> None:
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()
        self._writer.close()
        if self.dropped:
            log.warning("recording %s: %d frames dropped (encoder too slow)", self.path, self.dropped)
