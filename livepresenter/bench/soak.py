"""Soak benchmark of the live presenter: a long live run from a looping clip, resident memory and speed sampled
every minute.

A lecture-long daemon must not grow: this runs the real live pipeline (capture thread, tracker, engine, compositor,
the virtual camera when one exists) for `minutes` and records, once a minute, the process's resident memory, the
frames sent and the live fps and latency. BENCHMARKS.md keeps the numbers; no test asserts them.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from livepresenter.bench.render import resident_mb

__all__ = ["format_table", "run_benchmark"]


def run_benchmark(presenter: str, driving: Path, *, minutes: float = 20.0, every_s: float = 60.0,
                  engine: str = "landmark") -> dict:
    """Run live for `minutes` with `driving` as the camera (looping); sample memory and speed every `every_s`."""
    from livepresenter.pipeline.orchestrator import LiveSettings, Orchestrator

    resident_mb()  # fail before the run, not after
    settings = LiveSettings(presenter=presenter, source=str(driving), engine=engine, vcam=False,
                            max_seconds=minutes * 60)
    orchestrator = Orchestrator(settings)
    samples: list[dict] = []
    started = time.monotonic()
    done = threading.Event()

    def sample() -> None:
        status = orchestrator.status()
        samples.append({"minute": round((time.monotonic() - started) / 60, 2), "resident_mb": round(resident_mb(), 1),
                        "frames_sent": orchestrator.stats.frames_output, "fps": status["fps"],
                        "latency_ms": status["latency_ms"]})

    def sampler() -> None:
        while not done.wait(every_s):
            sample()

    thread = threading.Thread(target=sampler, name="soak-sampler", daemon=True)
    thread.start()
    try:
        summary = orchestrator.run()
    finally:
        done.set()
        thread.join()
    first = next((s for s in samples if s["minute"] >= 1.0), samples[0] if samples else None)
    last = samples[-1] if samples else None
    return {"presenter": presenter, "driving": str(driving), "minutes": minutes, "engine": summary["engine"],
            "samples": samples, "summary": summary,
            "growth_mb": (last["resident_mb"] - first["resident_mb"]) if first and last else 0.0}


def format_table(result: dict) -> str:
    """The result as the lines `livepresenter bench soak` prints."""
    lines = [f"live soak: {result['presenter']} driven by {result['driving']} (looping), {result['engine']} engine, "
             f"{result['minutes']:g} min",
             "minute   resident MiB   frames sent    fps   latency ms"]
    lines += [f"{s['minute']:6.1f}   {s['resident_mb']:12.1f}   {s['frames_sent']:11d}   {s['fps']:4.1f}   "
              f"{s['latency_ms']:10.0f}" for s in result["samples"]]
    lines.append(f"growth from the first minute to the last: {result['growth_mb']:+.1f} MiB")
    return "\n".join(lines)
