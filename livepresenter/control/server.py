"""The daemon's end of the control protocol: a listening socket, a thread per connection, and the commands.

`ControlServer.listen()` takes the single-instance lock and binds before the daemon opens its camera, so a second
daemon fails fast. The orchestrator owns the serving thread: it runs `serve(orchestrator, stop)` on its own thread
and calls `close()` after that thread ended. Each connection is answered on its own thread, so a slow `switch`
never delays `status` from another client. A bad request gets an error answer and the connection stays usable; an
oversized line is answered and the connection closed; a connection closed in the middle of a line is dropped.
Nothing a client sends can stop the stream, except `quit`.

Nothing clients do can exhaust the daemon or hold up its exit: at most MAX_CONNECTIONS are open (a new one hangs up
the one that has waited longest for its client, so `status` and `quit` always get through), a client that leaves
its answers unread is dropped after SEND_TIMEOUT_S, and `close()` hangs up every connection, blocked writers
included, and waits for their threads (daemon threads) at most CLOSE_WAIT_S.
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from livepresenter.control import endpoint
from livepresenter.control.protocol import (
    COMMANDS,
    MAX_REQUEST_BYTES,
    PROTOCOL_VERSION,
    ProtocolError,
    decode,
    encode,
    failure,
)
from livepresenter.errors import LivepresenterError

__all__ = ["ControlServer"]

log = logging.getLogger(__name__)

IDLE_TIMEOUT_S = 60.0
"""A connection that sends nothing for this long is closed (clients open one per request or keep it busy)."""
SEND_TIMEOUT_S = 5.0
"""A client whose answer waits this long to be sent (its socket full of earlier ones it has not read) is dropped."""
MAX_CONNECTIONS = 32
"""Connections open at once, each with its thread: the CLI opens one per request, the tray one or two at a time."""
LISTEN_BACKLOG = 1024
"""Connections the kernel holds until they are accepted: a burst of clients all connect, none is turned away."""
CLOSE_WAIT_S = 1.0
"""How long `close()` waits for connection threads: a command still running (a switch being prepared) must not
hold up the daemon's exit, and they are daemon threads."""
ACCEPT_POLL_S = 0.2
"""How often the accept loop looks at the stop event."""
PREVIEW_WIDTH_PX = 640
PREVIEW_WIDTH_RANGE_PX = (16, 4096)
"""`frame`'s max_width outside this is refused: a wrong width should fail, not come back as a 16 px thumbnail."""
JPEG_QUALITY = 80


class _RequestError(Exception):
    """A request whose arguments are missing or of the wrong type."""


class ControlServer:
    """Listening control endpoint of one daemon. Use `listen()`; `close()` is idempotent."""

    def __init__(self, address: endpoint.Address, lock: endpoint.DaemonLock, listener: socket.socket,
                 token: str | None) -> None:
        self.address = address
        self._lock = lock
        self._listener = listener
        self._token = token
        self._guard = threading.Lock()
        self._connections: set[_Connection] = set()
        self._closing = False
        self._commands: _Commands | None = None

    @classmethod
    def listen(cls, folder: Path | None = None) -> ControlServer:
        """Lock the runtime folder and bind; DaemonRunningError when another daemon holds the lock."""
        folder = folder if folder is not None else endpoint.runtime_dir(create=True)
        address = endpoint.Address(folder)
        lock = endpoint.DaemonLock(folder)
        lock.acquire()
        try:
            token = None
            if endpoint.UNIX_SOCKETS:
                listener = _listen_unix(address.socket_path)
            else:
                listener = socket.create_server(("127.0.0.1", 0), backlog=LISTEN_BACKLOG)
                token = secrets.token_hex(16)
                _write_private(address.tcp_info_path, json.dumps({"port": listener.getsockname()[1], "token": token}))
        except BaseException:
            lock.release()
            raise
        log.debug("control interface at %s", address)
        return cls(address, lock, listener, token)

    def serve(self, orchestrator: Any, stop: threading.Event) -> None:
        """Answer requests with `orchestrator` until `stop` is set; run on the orchestrator's control thread."""
        self._commands = _Commands(orchestrator)
        self._listener.settimeout(ACCEPT_POLL_S)
        while not stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError as exc:  # out of file descriptors, say: the connections open now will end
                log.warning("control: cannot accept a connection: %s", exc)
                stop.wait(ACCEPT_POLL_S)
                continue
            self._admit(_Connection(client, self._answer))

    def close(self) -> None:
        """Stop answering: hang up every connection, wait a moment for their threads, remove the socket, unlock."""
        with self._guard:
            if self._closing:
                return
            self._closing = True
            connections = list(self._connections)
        self._listener.close()
        for connection in connections:
            connection.hang_up()
        deadline = time.monotonic() + CLOSE_WAIT_S
        for connection in connections:
            connection.thread.join(max(0.0, deadline - time.monotonic()))
        if endpoint.UNIX_SOCKETS:
            self.address.socket_path.unlink(missing_ok=True)
        else:
            self.address.tcp_info_path.unlink(missing_ok=True)
        self._lock.release()

    def _admit(self, connection: _Connection) -> None:
        """Serve a new connection on its own thread, or answer why not and close it."""
        with self._guard:
            refusal = self._make_room()
            if refusal is None:
                self._connections.add(connection)
                connection.thread.start()  # under the guard: close() never sees a thread it cannot join
        if refusal is not None:
            connection.refuse(refusal)

    def _make_room(self) -> str | None:
        """Room for one more connection, hanging up the one that has waited longest for its client when all are
        taken; the reason when there is none. Call under the guard."""
        if self._closing:
            return "the daemon is stopping"
        if len(self._connections) < MAX_CONNECTIONS:
            return None
        waiting = [connection for connection in self._connections if connection.waiting_since is not None]
        if not waiting:
            return f"the daemon is busy: {MAX_CONNECTIONS} connections are running commands; try again in a moment"
        oldest = min(waiting, key=lambda connection: connection.waiting_since)
        self._connections.discard(oldest)
        oldest.hang_up()
        return None

    # -- called on connection threads ---------------------------------------------------------------
    def _answer(self, connection: _Connection) -> None:
        """Answer one client's requests in order until it leaves, idles, leaves answers unread or is hung up."""
        try:
            with connection.socket, connection.socket.makefile("rb") as reader:
                while (line := _read_request(connection.socket, reader)) is not None:
                    if line.strip():
                        connection.waiting_since = None
                        answer = self.dispatch(line)
                        connection.waiting_since = time.monotonic()
                        _send(connection.socket, answer)
        except OSError:  # gone, idle too long, not reading its answers, or hung up
            pass
        finally:
            with self._guard:
                self._connections.discard(connection)

    def dispatch(self, line: bytes) -> dict[str, Any]:
        """The answer to one request line (never raises: every failure is an error answer)."""
        try:
            request = decode(line)
        except ProtocolError as exc:
            return failure(str(exc))
        if self._token is not None and not hmac.compare_digest(str(request.get("token", "")).encode(),
                                                               self._token.encode()):
            return failure("missing or wrong token: read it from the daemon's control.json")
        cmd = request.get("cmd")
        if cmd not in COMMANDS:
            return failure(f"unknown command {cmd!r}: use one of {', '.join(COMMANDS)}")
        assert self._commands is not None  # connections are accepted only inside serve()
        try:
            return {"ok": True, **getattr(self._commands, cmd)(_Args(request))}
        except (LivepresenterError, _RequestError, TimeoutError) as exc:
            return failure(str(exc))
        except Exception as exc:  # a failing command must not end the connection, let alone the stream
            log.exception("control command %s failed", cmd)
            return failure(f"{cmd} failed: {exc}")


class _Connection:
    """One client's socket and the thread answering it.

    `waiting_since` is when it began waiting for its client (to send a request or to read an answer), None while
    a command runs: only a waiting connection is hung up to make room for a new one.
    """

    def __init__(self, client: socket.socket, answer: Callable[[_Connection], None]) -> None:
        self.socket = client
        self.waiting_since: float | None = time.monotonic()
        self.thread = threading.Thread(target=answer, args=(self,), name="control-connection", daemon=True)

    def hang_up(self) -> None:
        """End both directions, which wakes its thread whether it is reading or blocked writing."""
        try:
            self.socket.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already closed

    def refuse(self, reason: str) -> None:
        """Say why this connection is not served, without waiting for the client, and close it."""
        with self.socket:
            self.socket.setblocking(False)
            try:
                self.socket.send(encode(failure(reason)))
            except OSError:
                pass


def _read_request(client: socket.socket, reader: BinaryIO) -> bytes | None:
    """The next request line, or None to end the connection: closed (maybe mid-line), or a line longer than
    MAX_REQUEST_BYTES, which is answered first."""
    client.settimeout(IDLE_TIMEOUT_S)
    line = reader.readline(MAX_REQUEST_BYTES + 1)
    if line.endswith(b"\n"):
        return line
    if len(line) > MAX_REQUEST_BYTES:
        _send(client, failure(f"request longer than {MAX_REQUEST_BYTES} bytes: closing the connection"))
    return None


def _send(client: socket.socket, answer: dict[str, Any]) -> None:
    """Write one answer; TimeoutError when the client has not made room for it within SEND_TIMEOUT_S."""
    client.settimeout(SEND_TIMEOUT_S)  # a bound on the whole sendall, not on each chunk
    client.sendall(encode(answer))


def _listen_unix(path: Path) -> socket.socket:
    """A listening Unix socket only its owner may use. A socket file already there was left by a crashed daemon
    (the caller holds the lock), so it is replaced."""
    if path.exists() or path.is_symlink():
        log.info("replacing the stale control socket %s (its daemon is gone)", path)
        path.unlink()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(str(path))
        os.chmod(path, 0o600)
        listener.listen(LISTEN_BACKLOG)
    except BaseException:
        listener.close()
        raise
    return listener


class _Args:
    """Typed access to a request's arguments."""

    def __init__(self, request: dict[str, Any]) -> None:
        self._request = request

    def _get(self, key: str, kind: type, required: bool, what: str) -> Any:
        value = self._request.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise _RequestError(f"{self._request['cmd']} needs \"{key}\": {what}")
        return value

    def text(self, key: str, required: bool = True) -> str | None:
        return self._get(key, str, required, "a string")

    def flag(self, key: str, default: bool | None = None) -> bool:
        """A required true/false, or `default` when absent (given a default)."""
        value = self._get(key, bool, default is None, "true or false")
        return default if value is None else value

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        """`default` when absent; outside low..high is an error, never clamped (a mistake should show)."""
        what = f"an integer from {low} to {high}"
        value = self._get(key, int, False, what)
        if value is None:
            return default
        if not low <= value <= high:
            raise _RequestError(f"{self._request['cmd']} needs \"{key}\": {what}")
        return value

    def choice(self, key: str, choices: tuple[str, ...]) -> str:
        options = " or ".join(f'"{choice}"' for choice in choices)
        value = self._get(key, str, True, options)
        if value not in choices:
            raise _RequestError(f"{self._request['cmd']} needs \"{key}\": {options}")
        return value


class _Commands:
    """What each command does to the orchestrator; each returns the fields of its answer besides `ok`."""

    def __init__(self, orchestrator: Any) -> None:
        self._orchestrator = orchestrator

    def status(self, args: _Args) -> dict[str, Any]:
        return {**self._orchestrator.status(), "pid": os.getpid(), "protocol": PROTOCOL_VERSION}

    def switch(self, args: _Args) -> dict[str, Any]:
        return {"presenter": self._orchestrator.switch_presenter(args.text("presenter"))}

    def record(self, args: _Args) -> dict[str, Any]:
        if args.choice("action", ("start", "stop")) == "start":
            path = args.text("path", required=False)
            overwrite = args.flag("overwrite", default=False)
            started = self._orchestrator.start_recording(Path(path).expanduser() if path else None,
                                                         overwrite=overwrite)
            return {"recording": True, "path": str(started)}
        saved = self._orchestrator.stop_recording()
        return {"recording": False, "path": str(saved) if saved is not None else None}

    def reset(self, args: _Args) -> dict[str, Any]:
        self._orchestrator.reset_reference()
        return {}

    def realface(self, args: _Args) -> dict[str, Any]:
        on = args.flag("on")
        self._orchestrator.set_realface(on)
        return {"realface": on}

    def pause(self, args: _Args) -> dict[str, Any]:
        return self._paused(True)

    def resume(self, args: _Args) -> dict[str, Any]:
        return self._paused(False)

    def _paused(self, on: bool) -> dict[str, Any]:
        self._orchestrator.set_paused(on)
        return {"paused": on}

    def frame(self, args: _Args) -> dict[str, Any]:
        """The last frame sent, as a JPEG: previews work while the daemon itself runs headless."""
        import cv2

        image_rgb = self._orchestrator.latest_frame()
        if image_rgb is None:
            raise _RequestError("no frame has been sent yet: ask again in a moment")
        max_width = args.integer("max_width", PREVIEW_WIDTH_PX, *PREVIEW_WIDTH_RANGE_PX)
        height, width = image_rgb.shape[:2]
        if width > max_width:
            height, width = round(height * max_width / width), max_width
            image_rgb = cv2.resize(image_rgb, (width, height), interpolation=cv2.INTER_AREA)
        ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR),
                                [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:
            raise _RequestError("the frame could not be encoded as JPEG")
        return {"width": width, "height": height, "jpeg": base64.b64encode(jpeg.tobytes()).decode("ascii")}

    def quit(self, args: _Args) -> dict[str, Any]:
        self._orchestrator.stop()  # the same path as SIGTERM: the daemon finishes its frame and closes cleanly
        return {}


def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (it holds the token)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)
