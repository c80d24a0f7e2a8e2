"""Helpers for tests that run a real daemon: short runtime folders, user profiles, waiting, `livepresenter run`."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest

from livepresenter.control.client import request
from livepresenter.control.protocol import DaemonError, DaemonNotRunningError

T = TypeVar("T")
CONNECT_PATIENCE_S = 30.0


def short_runtime_dir() -> Path:
    """A fresh runtime folder with a short path (AF_UNIX socket paths are limited to 108 bytes)."""
    return Path(tempfile.mkdtemp(prefix="lp-"))


def write_profile(data_dir: Path, name: str, display_name: str, image: Path) -> None:
    """A user profile written directly (test_profiles covers `profiles add` and its checks)."""
    folder = data_dir / "profiles" / name
    folder.mkdir(parents=True)
    shutil.copyfile(image, folder / f"portrait{image.suffix}")
    (folder / "profile.toml").write_text(f'name = "{display_name}"\nrights = "Public domain"\n')


def wait_for(condition: Callable[[], T], what: str, timeout_s: float = 90.0,
             process: subprocess.Popen | None = None) -> T:
    """Poll `condition` until it returns neither None nor False, and return that (a generous bound: the machine
    is shared). Fails at once when `process` exits meanwhile."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            pytest.fail(f"{process.args[2:4]} exited ({process.returncode}) while waiting for {what}")
        result = condition()
        if result is not None and result is not False:
            return result
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def proc_status(pid: int, field: str) -> int:
    """A number from /proc/PID/status, such as Threads or VmRSS (kB): what a daemon holds, seen from outside."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name == field:
            return int(value.split()[0])
    raise KeyError(f"no {field} in /proc/{pid}/status")


def open_connection(socket_path: Path, patient: bool = True) -> socket.socket:
    """A connection to the control socket with a timeout, as the CLI makes, so a connect fails at once (EAGAIN)
    while the daemon's listen backlog is full; `patient` tries again meanwhile, as the CLI does."""
    deadline = time.monotonic() + CONNECT_PATIENCE_S
    while True:
        connection = socket.socket(socket.AF_UNIX)
        connection.settimeout(CONNECT_PATIENCE_S)
        try:
            connection.connect(str(socket_path))
            return connection
        except BlockingIOError:
            connection.close()
            if not patient or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


@contextmanager
def held_connections(socket_path: Path, count: int, patient: bool = True) -> Iterator[list[socket.socket]]:
    """`count` connections opened at once and left idle, as a careless or hostile client would; closed on exit."""
    connections: list[socket.socket] = []
    try:
        for _ in range(count):
            connections.append(open_connection(socket_path, patient))
        yield connections
    finally:
        for connection in connections:
            connection.close()


def status_or_none() -> dict | None:
    """The daemon's status, or None while none answers (not started yet, or gone)."""
    try:
        return request("status", timeout_s=5)
    except (DaemonNotRunningError, DaemonError):
        return None


@dataclass
class Daemon:
    process: subprocess.Popen
    runtime: Path
    log: Path


@contextmanager
def running_daemon(source: Path, log: Path, *run_args: str) -> Iterator[Daemon]:
    """`livepresenter run` (landmark engine, no virtual camera, 10 fps) as a separate process, with this process's
    environment (set the runtime and data folders first); stopped on exit if it still runs."""
    runtime = Path(os.environ["LIVEPRESENTER_RUNTIME_DIR"])
    with open(log, "wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "livepresenter", "run", "--engine", "landmark", "--no-vcam", "--fps", "10",
             "--source", str(source), *run_args], stdout=log_file, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: (status_or_none() or {}).get("fps", 0) > 0, "the daemon to stream", process=process)
        yield Daemon(process, runtime, log)
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=60)
