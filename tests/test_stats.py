"""Live counters: whole-session percentiles from constant memory."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from livepresenter.pipeline.stats import Histogram, LiveStats


def test_histogram_percentiles_are_within_two_percent_of_exact() -> None:
    values = np.random.default_rng(3).lognormal(mean=3.0, sigma=0.8, size=20_000)  # latencies around 20 ms
    histogram = Histogram()
    for value in values:
        histogram.add(float(value))
    for q in (5, 50, 95, 99):
        assert histogram.percentile(q) == pytest.approx(np.percentile(values, q), rel=0.02)
    assert Histogram().percentile(50) == 0.0


def test_histogram_clamps_values_outside_its_range() -> None:
    histogram = Histogram()
    histogram.add(0.0)
    histogram.add(1e9)
    assert histogram.percentile(0) <= 0.011 and histogram.percentile(100) >= 590_000


def test_stats_memory_does_not_grow_with_frames() -> None:
    """A lecture-long daemon: 100 000 frames cost no more memory than the first thousand."""
    stats = LiveStats()

    def frames(count: int) -> None:
        for i in range(count):
            stats.captured()
            for stage in ("track", "animate", "compose", "send"):
                stats.stage(stage, 0.001 * (1 + i % 7))
            stats.sent(capture_time=0.0)

    frames(1000)
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    frames(100_000)
    grown = sum(stat.size_diff for stat in tracemalloc.take_snapshot().compare_to(before, "filename")
                if stat.traceback[0].filename.endswith("stats.py"))
    tracemalloc.stop()
    assert grown < 64 * 1024, f"stats grew by {grown} bytes over 100 000 frames"
    summary = stats.summary(dropped=0)
    assert summary["frames_output"] == 101_000
    assert summary["stages_ms"]["animate"] == pytest.approx(4.0, rel=0.03)  # median of 1..7 ms
