"""Progress bars for long work (render, eval, caching training frames): frames done, speed and time left, on stderr."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

__all__ = ["with_progress"]

T = TypeVar("T")


def with_progress(items: Iterable[T], total: int | None, desc: str, *, enabled: bool = True,
                  leave: bool = True) -> Iterator[T]:
    """`items`, counted as frames on a progress bar (none when not `enabled`); `leave`: keep the finished bar."""
    from tqdm import tqdm

    with tqdm(items, total=total, unit="frame", desc=desc, file=sys.stderr, disable=not enabled,
              dynamic_ncols=True, leave=leave) as bar:
        yield from bar
