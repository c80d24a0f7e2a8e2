"""Live counters: fps, capture-to-send latency and per-stage times, for logs, the preview and --stats-json.

Written by the orchestrator's worker thread only; readers take a `snapshot()`.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque

import numpy as np

WINDOW = 300  # frames kept for the rolling percentiles shown live


def _percentile(values, q: float) -> float:
    return float(np.percentile(np.fromiter(values, float), q)) if values else 0.0


class LiveStats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.frames_captured = 0
        self.frames_output = 0
        self.first_sent: float | None = None
        self.last_sent: float | None = None
        self._latency_all: list[float] = []
        self._latency_recent: deque[float] = deque(maxlen=WINDOW)
        self._sent_recent: deque[float] = deque(maxlen=WINDOW)
        self._stages: dict[str, list[float]] = defaultdict(list)

    def captured(self) -> None:
        with self._lock:
            self.frames_captured += 1

    def stage(self, name: str, seconds: float) -> None:
        with self._lock:
            self._stages[name].append(seconds * 1e3)

    def sent(self, capture_time: float | None) -> None:
        """One frame reached the sinks; `capture_time` is None for frames made with no camera frame (idle)."""
        now = time.monotonic()
        with self._lock:
            self.frames_output += 1
            self.first_sent = self.first_sent if self.first_sent is not None else now
            self.last_sent = now
            self._sent_recent.append(now)
            if capture_time is not None:
                latency = (now - capture_time) * 1e3
                self._latency_all.append(latency)
                self._latency_recent.append(latency)

    def current_fps(self) -> float:
        with self._lock:
            sent = list(self._sent_recent)
        recent = [t for t in sent if t >= sent[-1] - 2.0] if sent else []
        return (len(recent) - 1) / (recent[-1] - recent[0]) if len(recent) > 1 and recent[-1] > recent[0] else 0.0

    def current_latency_ms(self) -> float:
        with self._lock:
            return _percentile(list(self._latency_recent)[-60:], 50)

    def summary(self, dropped: int) -> dict:
        """The --stats-json fields owned by the counters (the caller adds engine, presenter, vcam)."""
        with self._lock:
            span = (self.last_sent - self.first_sent) if self.first_sent is not None and self.last_sent else 0.0
            return {
                "frames_captured": self.frames_captured,
                "frames_output": self.frames_output,
                "frames_dropped": dropped,
                "fps_output": self.frames_output / span if span > 0 else 0.0,  # as --stats-json defines it
                "latency_ms": {"p50": _percentile(self._latency_all, 50), "p95": _percentile(self._latency_all, 95)},
                "stages_ms": {name: _percentile(values, 50) for name, values in self._stages.items()},
            }
