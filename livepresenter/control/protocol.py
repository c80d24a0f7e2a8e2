"""The control protocol of the running daemon: newline-delimited JSON over a local stream socket.

A request is one JSON object on one line, `{"cmd": NAME, ...args}`; the answer is one line,
`{"ok": true, ...}` or `{"ok": false, "error": "one line"}`. Requests are answered in order on a
connection; a client may send several on one connection or open one per request. Unknown extra
arguments are ignored, so newer clients can talk to older daemons. The commands and their
arguments are in docs/control.md (`COMMANDS` below is the list the daemon accepts).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from itertools import accumulate
from typing import Any

from livepresenter.errors import ExitStatus, LivepresenterError

__all__ = [
    "COMMANDS",
    "MAX_NESTING",
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
MAX_NESTING = 32
"""Arrays and objects nested deeper are refused before parsing: Python's parser recurses once per level and a
64 KiB line can nest far deeper than its recursion limit (commands nest one level)."""

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"?', re.DOTALL)
"""A JSON string, or an unterminated one up to the end: always matches, so a scan stays linear."""
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))

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
    if (depth := _nesting(line)) > MAX_NESTING:
        raise ProtocolError(f"message nested {depth} levels deep: at most {MAX_NESTING} levels of arrays and objects")
    try:
        message = json.loads(line, object_pairs_hook=_unique_keys)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"malformed message ({exc}): send one JSON object per line") from None
    if not isinstance(message, dict):
        raise ProtocolError(f"expected a JSON object, got {type(message).__name__}: send {{\"cmd\": NAME, ...}}")
    return message


def _nesting(line: bytes) -> int:
    """How deeply arrays and objects nest on this line (brackets inside strings do not count)."""
    brackets = _STRING.sub(b"", line).translate(None, _NOT_BRACKETS)
    return max(accumulate(1 if bracket in b"[{" else -1 for bracket in brackets), default=0)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object whose keys are all different: with a key given twice, which one was meant is anybody's guess."""
    message = dict(pairs)
    if len(message) < len(pairs):
        duplicate = next(key for key, count in Counter(key for key, _ in pairs).items() if count > 1)
        raise ProtocolError(f"duplicate key {json.dumps(duplicate)}: send each key once")
    return message


def failure(message: str) -> dict[str, Any]:
    """An error answer; the text is kept to one line."""
    return {"ok": False, "error": " ".join(str(message).split())}
