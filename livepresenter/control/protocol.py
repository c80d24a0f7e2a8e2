"""The control protocol of the running daemon: newline-delimited JSON over a local stream socket.

A request is one JSON object on one line, `{"cmd": NAME, ...args}`; the answer is one line,
`{"ok": true, ...}` or `{"ok": false, "error": "one line"}`. Requests are answered in order on a
connection; a client may send several on one connection or open one per request. Unknown extra
arguments are ignored, so newer clients can talk to older daemons. The commands and their
arguments are in docs/control.md (`COMMANDS` below is the list the daemon accepts).
"""

from __future__ import annotations

import json
from typing import Any

from livepresenter.errors import ExitStatus, LivepresenterError

__all__ = [
    "COMMANDS",
    "MAX_REQUEST_BYTES",
    "MAX_RESPONSE_BYTES",
    "PROTOCOL_VERSION",
    "DaemonError",
    "DaemonNotRunningError",
    "DaemonRunningError",
    "ProtocolError",
    "decode",
    "encode",
    "failure",
]

PROTOCOL_VERSION = 1
MAX_REQUEST_BYTES = 64 * 1024
"""A longer request line is refused (and its connection closed): commands are a few words."""
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
"""The largest answer is a preview frame (a JPEG in base64)."""

COMMANDS = ("status", "switch", "record", "reset", "realface", "pause", "resume", "frame", "quit")


class ProtocolError(ValueError):
    """A line that is not one JSON object."""


class DaemonNotRunningError(LivepresenterError):
    """No daemon answers on the control socket."""

    exit_status = ExitStatus.DAEMON_NOT_RUNNING


class DaemonRunningError(LivepresenterError):
    """A second daemon was started while one runs."""


class DaemonError(LivepresenterError):
    """The daemon answered `{"ok": false}` (or stopped answering)."""


def encode(message: dict[str, Any]) -> bytes:
    """One line of ASCII JSON (newlines inside strings are escaped by JSON itself)."""
    return json.dumps(message, separators=(",", ":")).encode("ascii") + b"\n"


def decode(line: bytes) -> dict[str, Any]:
    """The JSON object on this line, or ProtocolError saying what is wrong with it."""
    try:
        message = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"malformed message ({exc}): send one JSON object per line") from None
    if not isinstance(message, dict):
        raise ProtocolError(f"expected a JSON object, got {type(message).__name__}: send {{\"cmd\": NAME, ...}}")
    return message


def failure(message: str) -> dict[str, Any]:
    """An error answer; the text is kept to one line."""
    return {"ok": False, "error": " ".join(str(message).split())}
