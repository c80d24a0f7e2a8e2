"""Errors the user can act on.

Every exception that reaches the CLI as a `LivepresenterError` is printed as one line
("livepresenter: error: ...") with the exit status of its class; anything else is a bug and shows a
traceback only with --debug.
"""

from __future__ import annotations

import enum


class ExitStatus(enum.IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2
    BAD_INPUT = 3
    DEVICE_UNAVAILABLE = 4
    DAEMON_NOT_RUNNING = 5
    PARTIAL_INPUT = 6
    INTERRUPTED = 130
    BROKEN_PIPE = 141
    """stdout was closed before everything was printed (`livepresenter status | head -1`): 128 + SIGPIPE, the
    status a shell shows for a program that SIGPIPE ended."""


class LivepresenterError(Exception):
    """Base class: the message is one line that names the thing and says what to do."""

    exit_status: ExitStatus = ExitStatus.ERROR


class ConfigError(LivepresenterError):
    """A bad option, config file or engine name."""

    exit_status = ExitStatus.USAGE


class InputError(LivepresenterError):
    """A file the user gave cannot be used (no face, unreadable video, bad checkpoint)."""

    exit_status = ExitStatus.BAD_INPUT


class OutputError(InputError):
    """An output file that must not or cannot be written: an input of the run, an existing file without --force,
    a folder that is missing or read-only, a second recording while one is being written."""


class PartialInputError(InputError):
    """The driving video ended early (truncated or damaged): what could be read was rendered and kept."""

    exit_status = ExitStatus.PARTIAL_INPUT


class CheckpointError(InputError):
    """A FOMM checkpoint or config that cannot be loaded."""


class NoFaceError(InputError):
    """An image (usually the portrait) in which no face was found."""


class DeviceError(LivepresenterError):
    """A camera, virtual camera, microphone or disk that is missing or failed."""

    exit_status = ExitStatus.DEVICE_UNAVAILABLE


class SwitchInProgressError(LivepresenterError):
    """A switch asked for while another presenter is being prepared: refused at once rather than queued, since
    every waiting switch would then prepare a presenter of its own (a portrait and engine caches in memory)."""
