"""The daemon's end of the control protocol: a listening socket, one thread per connection, and the commands.

`ControlServer.listen()` takes the single-instance lock and binds before the daemon opens its camera, so a second
daemon fails fast. The orchestrator owns the serving thread: it runs `serve(orchestrator, stop)` on its own thread
and calls `close()` after that thread ended. Each connection is answered on its own thread (socketserver's
ThreadingMixIn), so a slow `switch` never delays `status` from another client. A bad request gets an error answer
and the connection stays usable; an oversized line is answered and the connection closed; a connection closed in
the middle of a line is dropped. Nothing a client sends can stop the stream, except `quit`.
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
import os
import secrets
import socket
import socketserver
import threading
from pathlib import Path
from typing import Any

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
ACCEPT_POLL_S = 0.2
"""How often the accept loop looks at the stop event."""
PREVIEW_WIDTH_PX = 640
JPEG_QUALITY = 80


class _RequestError(Exception):
    """A request whose arguments are missing or of the wrong type."""


class ControlServer:
    """Listening control endpoint of one daemon. Use `listen()`; `close()` is idempotent."""

    def __init__(self, address: endpoint.Address, lock: endpoint.DaemonLock, server: _UnixServer | _TcpServer,
                 token: str | None) -> None:
        self.address = address
        self._lock = lock
        self._server = server
        self._token = token
        self._guard = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._closing = False
        self._commands: _Commands | None = None
        server.owner = self

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
                if address.socket_path.exists() or address.socket_path.is_symlink():
                    log.info("replacing the stale control socket %s (its daemon is gone)", address.socket_path)
                    address.socket_path.unlink()
                server: _UnixServer | _TcpServer = _UnixServer(str(address.socket_path))
                os.chmod(address.socket_path, 0o600)
            else:
                server = _TcpServer(("127.0.0.1", 0))
                token = secrets.token_hex(16)
                _write_private(address.tcp_info_path, json.dumps({"port": server.server_address[1], "token": token}))
        except BaseException:
            lock.release()
            raise
        log.debug("control interface at %s", address)
        return cls(address, lock, server, token)

    def serve(self, orchestrator: Any, stop: threading.Event) -> None:
        """Answer requests with `orchestrator` until `stop` is set; run on the orchestrator's control thread."""
        self._commands = _Commands(orchestrator)
        self._server.timeout = ACCEPT_POLL_S
        while not stop.is_set():
            self._server.handle_request()

    def close(self) -> None:
        """Stop answering: wake every connection, wait for their threads, remove the socket, drop the lock."""
        with self._guard:
            if self._closing:
                return
            self._closing = True
            for connection in self._connections:
                try:
                    connection.shutdown(socket.SHUT_RD)  # its reader sees EOF; an answer being written still goes
                except OSError:
                    pass
        self._server.server_close()  # joins the connection threads
        if endpoint.UNIX_SOCKETS:
            self.address.socket_path.unlink(missing_ok=True)
        else:
            self.address.tcp_info_path.unlink(missing_ok=True)
        self._lock.release()

    # -- called on connection threads ---------------------------------------------------------------
    def _track(self, connection: socket.socket) -> bool:
        with self._guard:
            if self._closing:
                return False
            self._connections.add(connection)
            return True

    def _untrack(self, connection: socket.socket) -> None:
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


class _Connection(socketserver.StreamRequestHandler):
    """One client: read request lines, answer each in order."""

    timeout = IDLE_TIMEOUT_S
    server: _UnixServer | _TcpServer

    def handle(self) -> None:
        owner = self.server.owner
        if not owner._track(self.connection):
            return
        try:
            while True:
                line = self.rfile.readline(MAX_REQUEST_BYTES + 1)
                if not line.endswith(b"\n"):
                    if len(line) > MAX_REQUEST_BYTES:
                        self.wfile.write(encode(failure(f"request longer than {MAX_REQUEST_BYTES} bytes: "
                                                        "closing the connection")))
                    return  # closed, possibly in the middle of a line: nothing to answer
                if line.strip():
                    self.wfile.write(encode(owner.dispatch(line)))
        except OSError:  # the client went away or stayed idle too long
            return
        finally:
            owner._untrack(self.connection)


class _UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    block_on_close = True  # server_close() joins the connection threads
    owner: ControlServer

    def __init__(self, path: str) -> None:
        super().__init__(path, _Connection)


class _TcpServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    block_on_close = True
    owner: ControlServer

    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__(address, _Connection)


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

    def flag(self, key: str) -> bool:
        return self._get(key, bool, True, "true or false")

    def integer(self, key: str) -> int | None:
        return self._get(key, int, False, "an integer")

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
            overwrite = args._get("overwrite", bool, False, "true or false") or False  # optional, unlike flag()
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
        max_width = max(16, args.integer("max_width") or PREVIEW_WIDTH_PX)
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
