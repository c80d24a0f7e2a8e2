"""The tray's line to the daemon: requests on worker threads, answers delivered on the GUI thread.

A switch can take seconds (the daemon prepares the new presenter before answering); it must never freeze the
menu, so every request runs on a small thread pool, each on a connection of its own, and comes back as a Qt
signal (queued onto the GUI thread).
"""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from livepresenter.control.client import DEFAULT_TIMEOUT_S, SWITCH_TIMEOUT_S, request
from livepresenter.errors import LivepresenterError

__all__ = ["DaemonLink", "start_daemon"]

DAEMON_LOG = "daemon.log"


class DaemonLink(QObject):
    """`send(cmd, **args)` returns at once; `answered(cmd, answer)` or `failed(cmd, error)` follows."""

    answered = Signal(str, object)
    failed = Signal(str, object)

    def __init__(self) -> None:
        super().__init__()
        self._pool = ThreadPoolExecutor(max_workers=3, thread_name_prefix="tray-link")
        self._closed = False

    def send(self, cmd: str, **args: Any) -> None:
        self._pool.submit(self._request, cmd, args)

    def _request(self, cmd: str, args: dict[str, Any]) -> None:
        timeout_s = SWITCH_TIMEOUT_S if cmd == "switch" else DEFAULT_TIMEOUT_S
        try:
            answer = request(cmd, timeout_s=timeout_s, **args)
        except LivepresenterError as exc:
            if not self._closed:
                self.failed.emit(cmd, exc)
            return
        if not self._closed:  # once the tray is gone (or going) there is nobody to tell
            self.answered.emit(cmd, answer)

    def close(self) -> None:
        """Drop pending requests; answers to those already sent are not delivered."""
        self._closed = True
        self._pool.shutdown(wait=False, cancel_futures=True)


def start_daemon(run_args: list[str], log_folder: Path) -> tuple[subprocess.Popen, Path]:
    """`livepresenter run RUN_ARGS` in a session of its own (it outlives the tray's terminal); its output goes to
    `daemon.log` in `log_folder`. Returns the process and the log path."""
    log_path = log_folder / DAEMON_LOG
    with open(log_path, "ab") as log_file:
        process = subprocess.Popen([sys.executable, "-m", "livepresenter", "run", *run_args],
                                   stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    return process, log_path
