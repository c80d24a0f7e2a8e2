"""Output files (`render --output`, `run --record`, the daemon's `record start`): the one place that decides whether
a file may be written.

An output is never one of the run's inputs (the portrait, the driving or --source video, the --audio-source file,
the checkpoint, the FOMM config), whatever name reaches it (`..`, a symlink, a hard link), not even with --force;
it replaces an existing file only when the user asked (--force, `"overwrite": true`); and it is created before any
work starts or any "ok" is answered, so that a folder that is missing, read-only or not a folder is said at once,
in one line, with its real cause.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable
from pathlib import Path

from livepresenter.errors import OutputError

__all__ = ["Inputs", "check_output", "create_fresh", "create_output", "oserror_reason", "same_file"]

Inputs = Iterable[tuple[str, Path | str | None]]
"""The files a run reads, each with its role ("the driving video"); None where the run has no such file."""


def same_file(a: Path | str, b: Path | str) -> bool:
    """Whether `a` and `b` name one file: by device and inode where both exist (so `..`, symlinks and hard links
    are caught), else by their resolved paths."""
    try:
        return os.path.samestat(os.stat(a), os.stat(b))
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def check_output(path: Path, inputs: Inputs, *, overwrite: bool, force: str = "--force") -> None:
    """Refuse `path` as an output (OutputError): always when it is one of `inputs`, and when something is there
    already unless `overwrite`; `force` is how the user asks to overwrite."""
    for role, source in inputs:
        if source is not None and same_file(path, source):
            alias = f" ({source})" if str(source) != str(path) else ""
            raise OutputError(f"{path} is {role}{alias}: choose another output file (an input is never "
                              "overwritten, whatever the options)")
    if path.is_dir():
        raise OutputError(f"{path} is a folder: give a file name such as {path / 'lecture.mp4'}")
    if os.path.lexists(path):
        if not path.is_file():
            raise OutputError(f"{path} is not a regular file: choose another output file")
        if not overwrite:
            raise OutputError(f"{path} exists: pass {force} to replace it, or choose another file")


def create_output(path: Path, *, overwrite: bool = False, shown_as: Path | None = None) -> None:
    """Create `path` now, empty (with `overwrite`: open the existing file, untouched), so that the first frame
    cannot be the first to find out that it cannot be written. `shown_as` is the name the user gave, when `path` is
    a temporary file beside it. Raises OutputError with the real cause."""
    flags = os.O_WRONLY | os.O_CREAT | (0 if overwrite else os.O_EXCL)
    try:
        os.close(os.open(path, flags, 0o666))
    except OSError as exc:
        raise OutputError(f"cannot write {shown_as or path}: {oserror_reason(exc, path)}") from None


def create_fresh(path: Path) -> Path:
    """Create and return `path`, or the first of NAME-2.mp4, NAME-3.mp4, ... that does not exist yet: a name the
    program chose never replaces a file (created exclusively, so two at once cannot get the same one)."""
    candidate, number = path, 2
    while True:
        try:
            os.close(os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return candidate
        except FileExistsError:
            candidate = path.with_name(f"{path.stem}-{number}{path.suffix}")
            number += 1
        except OSError as exc:
            raise OutputError(f"cannot write {candidate}: {oserror_reason(exc, candidate)}") from None


def oserror_reason(exc: BaseException, path: Path | None = None) -> str:
    """Why a file could not be created or written, in words a user acts on (`path` names its folder)."""
    code = getattr(exc, "errno", None)
    folder = f"folder {path.parent}" if path is not None else "the folder"
    if code == errno.ENOSPC:
        return "the disk is full"
    if code == errno.EDQUOT:
        return "your disk quota is used up"
    if code == errno.EFBIG:
        return "the file reached the size limit for files"
    if code == errno.EROFS:
        return f"{folder} is on a read-only file system"
    if code in (errno.EACCES, errno.EPERM):
        return f"{folder} is not writable (no permission)"
    if code == errno.ENOTDIR:
        return f"{folder} is not a folder (a file stands in its path)"
    if code == errno.EISDIR:
        return "it is a folder"
    if code == errno.ENOENT and path is not None:
        if path.parent.is_dir():  # /proc and the like: the folder is there, files cannot be made in it
            return f"{folder} does not allow new files"
        return f"{folder} does not exist: create it, or choose another folder"
    return getattr(exc, "strerror", None) or str(exc)
