"""Where composed frames go: the virtual camera, the preview window, recordings.

A sink takes composed HxWx3 uint8 RGB frames with the capture time they show
(`send(frame, timestamp)`, timestamp from time.monotonic()) and has an idempotent `close()`.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np


class Sink(Protocol):
    def send(self, frame: np.ndarray, timestamp: float) -> None: ...

    def close(self) -> None: ...
