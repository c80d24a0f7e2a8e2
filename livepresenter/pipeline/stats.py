"""Live counters: fps, capture-to-send latency and per-stage times, for logs, the preview and --stats-json.

Written by the live worker thread, read from any thread. Memory is constant however long the daemon runs: the
whole-session percentiles come from fixed log-spaced histograms (2 % resolution), the live ones from short windows.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque

import numpy as np

WINDOW = 300  # frames kept for the rolling percentiles shown live


def _percentile(values, q: float) -> float:
    return float(np.percentile(np.fromiter(values, float), q)) if values else 0.0


class Histogram:
    """Counts of values (milliseconds) in log-spaced bins from LOW_MS to HIGH_MS, each BIN_RATIO wide: percentiles
    of a session of any length in a few kilobytes, within half a bin (1 %) of the exact ones."""

    LOW_MS, HIGH_MS, BIN_RATIO = 0.01, 600_000.0, 1.02

    def __init__(self) -> None:
        self._log_ratio = np.log(self.BIN_RATIO)
        bins = int(np.ceil(np.log(self.HIGH_MS / self.LOW_MS) / self._log_ratio)) + 1
        self._counts = np.zeros(bins, np.int64)

    def add(self, value_ms: float) -> None:
        index = int(np.log(max(value_ms, self.LOW_MS) / self.LOW_MS) / self._log_ratio)
        self._counts[min(index, len(self._counts) - 1)] += 1

    def percentile(self, q: float) -> float:
        """The q-th percentile (0..100): the geometric middle of the bin it falls in; 0 with no values."""
        total = int(self._counts.sum())
        if total == 0:
            return 0.0
        index = int(np.searchsorted(np.cumsum(self._counts), max(1, np.ceil(q / 100 * total))))
        return float(self.LOW_MS * self.BIN_RATIO ** (index + 0.5))


class LiveStats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.frames_captured = 0
        self.frames_output = 0
        self.first_sent: float | None = None
        self.last_sent: float | None = None
        self._latency_all = Histogram()
        self._latency_recent: deque[float] = deque(maxlen=WINDOW)
        self._sent_recent: deque[float] = deque(maxlen=WINDOW)
        self._stages: dict[str, Histogram] = defaultdict(Histogram)

    def captured(self) -> None:
        with self._lock:
            self.frames_captured += 1

    def stage(self, name: str, seconds: float) -> None:
        with self._lock:
            self._stages[name].add(seconds * 1e3)

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
                self._latency_all.add(latency)
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
                "latency_ms": {"p50": self._latency_all.percentile(50), "p95": self._latency_all.percentile(95)},
                "stages_ms": {name: histogram.percentile(50) for name, histogram in self._stages.items()},
            }
