"""The one frame type: what a camera, a video file and the frame path pass along."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Frame"]


@dataclass(frozen=True)
class Frame:
    """One picture of a stream.

    index: 0-based position in the stream; time_s: when it was taken, in seconds on the stream's clock (a camera's
    frames: time.monotonic() at capture; a file's: its presentation time from the first frame); image: HxWx3 uint8 RGB.
    """

    index: int
    time_s: float
    image: np.ndarray
