"""Where driving frames come from: a webcam, a V4L2 device path, or a video file played as if live.

A source is a plain blocking reader (open in the constructor, `read()` per frame, idempotent
`close()`, usable in `with`); the orchestrator owns the thread that calls it. A video file is
paced at its own frame rate and loops, so demos and tests behave like a camera.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Self

import cv2

from livepresenter.errors import DeviceError, InputError
from livepresenter.media.frame import Frame

log = logging.getLogger(__name__)


class SourceLost(Exception):
    """The camera stopped delivering frames (unplugged, or a file that can no longer be read)."""


def _is_camera(spec: str) -> bool:
    return spec.isdigit() or spec.startswith("/dev/")


class FrameSource:
    """Camera index ("0"), device path ("/dev/video2") or video file; `read()` blocks for the next frame.

    Raises DeviceError when a camera cannot be opened and InputError for an unreadable file.
    `read()` raises SourceLost when frames stop; `reopen()` tries again (the orchestrator retries).
    """

    def __init__(self, spec: str | int = 0, loop: bool = True) -> None:
        self.spec = str(spec)
        self.is_camera = _is_camera(self.spec)
        self.loop = loop
        self._capture: cv2.VideoCapture | None = None
        self._index = 0
        self.open()

    def open(self) -> None:
        if self.is_camera:
            target: int | str = int(self.spec) if self.spec.isdigit() else self.spec
            capture = cv2.VideoCapture(target)
            if not capture.isOpened():
                capture.release()
                raise DeviceError(f"camera {self.spec} is not available: plug in a webcam, close other apps "
                                  "using it, or pass --source VIDEO_FILE to drive from a recording")
        else:
            path = Path(self.spec)
            if not path.is_file():
                raise InputError(f"video {path} does not exist: give a camera index or an existing video file")
            capture = cv2.VideoCapture(str(path))
            if not capture.isOpened() or not capture.grab():
                capture.release()
                raise InputError(f"video {path} cannot be read: give an mp4/mov/avi/webm file OpenCV can decode")
            capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
        self._capture = capture
        fps = capture.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and 1 <= fps <= 240 else 30.0
        self.size = (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        self._start = time.monotonic()
        self._played = 0

    def reopen(self) -> None:
        """Release and open again (camera unplugged and plugged back)."""
        self.close()
        self.open()

    def read(self) -> Frame:
        if self._capture is None:
            raise SourceLost(f"source {self.spec} is closed")
        if not self.is_camera:
            self._pace()
        ok, bgr = self._capture.read()
        if not ok and not self.is_camera and self.loop:
            self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, bgr = self._capture.read()
        if not ok or bgr is None:
            raise SourceLost(f"source {self.spec} stopped delivering frames")
        self._played += 1
        frame = Frame(self._index, time.monotonic(), cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        self._index += 1
        return frame

    def _pace(self) -> None:
        """Hold a file's frame until its due time, as a camera would deliver it."""
        due = self._start + self._played / self.fps
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        elif delay < -1.0:  # far behind (machine stalled): re-anchor instead of bursting
            self._start = time.monotonic() - self._played / self.fps

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
