"""The clients' end of the control protocol (CLI verbs, tray): send a command, get the daemon's answer.

Stdlib only, so `livepresenter status` and the tray start without numpy, torch or the pipeline.
"""

from __future__ import annotations

from typing import Any, Self

from livepresenter.control.endpoint import Address, connect
from livepresenter.control.protocol import MAX_RESPONSE_BYTES, DaemonError, ProtocolError, decode, encode

__all__ = ["ControlClient", "request"]

DEFAULT_TIMEOUT_S = 10.0
SWITCH_TIMEOUT_S = 180.0
"""A switch answers once the new presenter is on air; preparing a FOMM source can take a while on a CPU."""


class ControlClient:
    """One connection to the running daemon. DaemonNotRunningError when none answers.

    `request()` returns the answer's fields (without "ok") and raises DaemonError with the daemon's one-line
    error when it answers `{"ok": false}`.
    """

    def __init__(self, address: Address | None = None, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.address = address if address is not None else Address()
        self._timeout_s = timeout_s
        self._socket, self._token = connect(self.address, timeout_s)
        self._reader = self._socket.makefile("rb")

    def request(self, cmd: str, *, timeout_s: float | None = None, **args: Any) -> dict[str, Any]:
        message = {"cmd": cmd, **args}
        if self._token is not None:
            message["token"] = self._token
        timeout_s = timeout_s or self._timeout_s
        self._socket.settimeout(timeout_s)
        try:
            self._socket.sendall(encode(message))
            line = self._reader.readline(MAX_RESPONSE_BYTES + 1)
        except TimeoutError:
            raise DaemonError(f"the daemon did not answer `{cmd}` within {timeout_s:.0f} s") from None
        except OSError as exc:
            raise DaemonError(f"lost the connection to the daemon during `{cmd}`: {exc}") from None
        if not line.endswith(b"\n"):
            raise DaemonError(f"the daemon closed the connection during `{cmd}` (is it stopping?)")
        try:
            answer = decode(line)
        except ProtocolError as exc:
            raise DaemonError(f"unreadable answer to `{cmd}`: {exc}") from None
        if not answer.pop("ok", False):
            raise DaemonError(str(answer.get("error", f"`{cmd}` failed")))
        return answer

    def close(self) -> None:
        self._reader.close()
        self._socket.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def request(cmd: str, *, timeout_s: float = DEFAULT_TIMEOUT_S, **args: Any) -> dict[str, Any]:
    """Send one command on a connection of its own."""
    with ControlClient(timeout_s=timeout_s) as client:
        return client.request(cmd, **args)
