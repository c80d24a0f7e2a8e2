"""Where the daemon listens: a private runtime folder holding the control socket and the daemon lock.

The folder is `$LIVEPRESENTER_RUNTIME_DIR` when set (tests), else `$XDG_RUNTIME_DIR/livepresenter`, else a
private (0700, checked to be ours) `livepresenter-<user>` folder in the temp dir (root in CI has no
XDG_RUNTIME_DIR). The socket is `control.sock`, mode 0600. Where Python has no AF_UNIX (Windows), the daemon
listens on 127.0.0.1 on a random port instead and writes the port and a random token to `control.json` (0600);
clients send the token with every request.

`daemon.lock` is held (flock) for the daemon's lifetime: a second daemon fails to take it and refuses to start,
and a socket file found while taking it can only be left over from a crashed daemon, so it is replaced.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import stat
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

from livepresenter.control.protocol import DaemonNotRunningError, DaemonRunningError
from livepresenter.errors import ConfigError

__all__ = ["RUNTIME_DIR_ENV", "Address", "DaemonLock", "connect", "runtime_dir"]

RUNTIME_DIR_ENV = "LIVEPRESENTER_RUNTIME_DIR"
SOCKET_NAME = "control.sock"
TCP_INFO_NAME = "control.json"
LOCK_NAME = "daemon.lock"
UNIX_SOCKETS = hasattr(socket, "AF_UNIX")
_SUN_PATH_BYTES = 104 if sys.platform == "darwin" else 108  # sockaddr_un.sun_path, the final NUL included
CONNECT_RETRY_S = 0.01
"""A Unix socket whose backlog is full refuses a connect at once (EAGAIN) instead of queueing it: try again after
this, until the timeout, as the daemon is accepting a burst."""


def runtime_dir(create: bool = False) -> Path:
    """The runtime folder; with `create`, made (0700) and checked to be private, as the daemon needs it."""
    override = os.environ.get(RUNTIME_DIR_ENV)
    if override:
        path = Path(override).expanduser()
    elif os.environ.get("XDG_RUNTIME_DIR"):
        path = Path(os.environ["XDG_RUNTIME_DIR"]) / "livepresenter"
    else:
        user = os.getuid() if hasattr(os, "getuid") else getpass.getuser()
        path = Path(tempfile.gettempdir()) / f"livepresenter-{user}"
    if create:
        _make_private(path)
    return path


def _make_private(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not hasattr(os, "getuid"):
        return  # Windows: the folder is in the user's own profile
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise ConfigError(f"runtime folder {path} is not a folder of yours: remove it, or set {RUNTIME_DIR_ENV} "
                          "to a private folder")
    if info.st_mode & 0o077:
        os.chmod(path, 0o700)


class Address:
    """The control endpoint inside a runtime folder: a socket path, or (no AF_UNIX) a port-and-token file."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder if folder is not None else runtime_dir()
        self.socket_path = self.folder / SOCKET_NAME
        self.tcp_info_path = self.folder / TCP_INFO_NAME
        if UNIX_SOCKETS and len(os.fsencode(self.socket_path)) >= _SUN_PATH_BYTES:
            raise ConfigError(f"control socket path {self.socket_path} is longer than AF_UNIX allows "
                              f"({_SUN_PATH_BYTES - 1} bytes): set {RUNTIME_DIR_ENV} to a shorter folder")

    def __str__(self) -> str:
        return str(self.socket_path if UNIX_SOCKETS else self.tcp_info_path)


def connect(address: Address, timeout_s: float) -> tuple[socket.socket, str | None]:
    """A socket connected to the daemon and the token to send (None over a Unix socket).

    DaemonNotRunningError when nothing answers: no socket file, or a stale one nobody listens on.
    """
    not_running = DaemonNotRunningError(f"no livepresenter daemon is running (nothing answers at {address}): "
                                        "start one with `livepresenter run` or `livepresenter tray`")
    token = None
    if UNIX_SOCKETS:
        sock, target = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM), str(address.socket_path)
    else:
        try:
            info = json.loads(address.tcp_info_path.read_text(encoding="utf-8"))
            target, token = ("127.0.0.1", int(info["port"])), str(info["token"])
        except (OSError, ValueError, KeyError, TypeError):
            raise not_running from None
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout_s)
    try:
        _connect_patiently(sock, target, time.monotonic() + timeout_s)
    except (FileNotFoundError, ConnectionRefusedError):
        sock.close()
        raise not_running from None
    except OSError as exc:
        sock.close()
        raise DaemonNotRunningError(f"cannot reach the livepresenter daemon at {address}: {exc}") from None
    return sock, token


def _connect_patiently(sock: socket.socket, target: str | tuple[str, int], deadline: float) -> None:
    """Connect, trying again while the listen backlog is full (BlockingIOError) until `deadline`."""
    while True:
        try:
            sock.connect(target)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(CONNECT_RETRY_S)


class DaemonLock:
    """The single-instance lock, held from `acquire` until `release` (or the process ends, even by a crash)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / LOCK_NAME
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        file = open(self.path, "a+", encoding="ascii")  # noqa: SIM115 - held open until release()
        file.seek(0)  # Windows locks bytes from the current position
        try:
            _lock(file)
        except OSError:
            file.close()
            raise DaemonRunningError(f"a livepresenter daemon is already running (lock {self.path} is held): "
                                     "use `livepresenter status`, or stop it with `livepresenter quit`") from None
        file.truncate(0)
        file.write(f"{os.getpid()}\n")
        file.flush()
        self._file = file

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing drops the lock; the file stays (unlinking a lock file races)
            self._file = None


def _lock(file: IO[str]) -> None:
    """Take an exclusive lock without waiting; OSError when another process holds it."""
    if sys.platform == "win32":
        import msvcrt

        msvcrt.locking(file.fileno(), msvcrt.LK_NBLCK, 1)
    else:
        import fcntl

        fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
