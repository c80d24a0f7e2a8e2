"""The offline render as a background job: progress events (frames, fps, ETA), a cancel flag, and an outcome that
is a result or a one-line message, never an exception escaping into the GUI's event loop."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Self

from livepresenter.config import configured_value, resolve_checkpoint
from livepresenter.errors import LivepresenterError
from livepresenter.outputs import oserror_reason
from livepresenter.render import RenderResult, RenderSettings, render_video

__all__ = ["BackgroundJob", "Cancelled", "JobState", "Progress", "RenderJob", "available_engines", "describe_error",
           "output_path"]

log = logging.getLogger(__name__)


def available_engines() -> list[str]:
    """The engines the window offers: landmark always, FOMM only when a checkpoint is configured, remote only when
    a server is (remote.server in config.toml)."""
    checkpoint = resolve_checkpoint(None)
    fomm = ["fomm"] if checkpoint is not None and checkpoint.is_file() else []
    remote = ["remote"] if configured_value("remote", "server") else []
    return ["landmark", *fomm, *remote]


def output_path(folder: Path, presenter: str, driving: Path) -> Path:
    """`PRESENTER-VIDEO.mp4` in `folder`, numbered so that an earlier result is never overwritten."""
    path = folder / f"{presenter}-{driving.stem}.mp4"
    number = 2
    while path.exists():
        path = folder / f"{presenter}-{driving.stem}-{number}.mp4"
        number += 1
    return path


def describe_error(exc: BaseException, path: Path | None = None) -> str:
    """One line for the window: the project's own messages as they are, disk problems in plain words."""
    if isinstance(exc, LivepresenterError):
        return str(exc)
    if isinstance(exc, OSError):
        where = f"cannot write {path}" if path is not None else "a file operation failed"
        return f"{where}: {oserror_reason(exc)}"
    log.exception("unexpected error", exc_info=exc)
    return f"unexpected error ({type(exc).__name__}: {exc}); please report it"


@dataclass(frozen=True)
class Progress:
    """Frames done of total (None: unknown), and the speed and time left measured since the first frame."""

    done: int
    total: int | None
    fps: float
    eta_s: float | None

    def text(self) -> str:
        of = f"/{self.total}" if self.total else ""
        eta = f", {self.eta_s:.0f} s left" if self.eta_s is not None else ""
        return f"{self.done}{of} frames, {self.fps:.1f} fps{eta}"


class JobState(Enum):
    RUNNING = "running"
    DONE = "done"
    CANCELLED = "cancelled"
    FAILED = "failed"


class Cancelled(Exception):
    """Raised from a job's progress hook, inside the work, which then cleans up as at Ctrl-C."""


class BackgroundJob:
    """Work on a daemon thread that the GUI polls: `state`, `progress`, `result` and `error` (one line), never an
    exception escaping into the event loop. `cancel()` takes effect at the work's next progress call.

    Subclasses give `_work()` (returns the result; calls `_check_cancel()` from their progress hook) and say which
    file an OSError is about (`_error_path`).
    """

    thread_name = "studio-job"

    def __init__(self) -> None:
        self.state = JobState.RUNNING
        self.progress: object | None = None
        self.result: object | None = None
        self.error: str | None = None
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)

    def start(self) -> Self:
        self._thread.start()
        return self

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def finished(self) -> bool:
        return self.state is not JobState.RUNNING

    def wait(self, timeout_s: float | None = None) -> bool:
        self._thread.join(timeout_s)
        return self.finished

    def _work(self) -> object:
        raise NotImplementedError

    def _error_path(self) -> Path | None:
        return None

    def _check_cancel(self) -> None:
        if self._cancel.is_set():
            raise Cancelled

    def _run(self) -> None:
        try:
            self.result = self._work()
            state = JobState.DONE
        except Cancelled:
            state = JobState.CANCELLED
        except Exception as exc:  # noqa: BLE001 - the GUI thread shows every failure as a message
            self.error = describe_error(exc, self._error_path())
            state = JobState.FAILED
        self.state = state  # last: `finished` implies result/error are set


class RenderJob(BackgroundJob):
    """`render_video` in the background; `progress` is a `Progress` (frames, fps, time left).

    A cancel takes effect at the next frame; the render then removes its partial file and `state` becomes
    CANCELLED.
    """

    thread_name = "studio-render"

    def __init__(self, presenter: str, driving: Path, output: Path, settings: RenderSettings) -> None:
        self.presenter, self.driving, self.output, self.settings = presenter, driving, output, settings
        self._first_frame: tuple[float, int] | None = None
        super().__init__()

    def _work(self) -> RenderResult:
        return render_video(self.presenter, self.driving, self.output, self.settings, progress=False,
                            on_frame=self._on_frame)

    def _error_path(self) -> Path:
        return self.output

    def _on_frame(self, done: int, total: int | None) -> None:
        self._check_cancel()
        now = time.perf_counter()
        if self._first_frame is None:
            self._first_frame = (now, done)
        started, first = self._first_frame
        fps = (done - first) / (now - started) if now > started else 0.0
        eta = (total - done) / fps if total and fps > 0 else None
        self.progress = Progress(done, total, fps, eta)
