"""Memory benchmark of `livepresenter render`: resident memory sampled while a long lecture is rendered.

`render` streams (one decoded frame in, one encoded frame out, audio interleaved by timestamp), so its memory
should stop growing once the first frames are through, however long the lecture. This measures that on a real
render instead of asserting it; BENCHMARKS.md has the numbers for a ten-minute lecture.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from livepresenter.errors import LivepresenterError
from livepresenter.render import RenderSettings, render_video

_STATM = Path("/proc/self/statm")


def resident_mb() -> float:
    """This process's resident memory now (not its peak), in MiB; Linux only (read from /proc)."""
    try:
        resident_pages = int(_STATM.read_text().split()[1])
    except OSError:
        raise LivepresenterError("bench render reads memory from /proc/self/statm: run it on Linux") from None
    return resident_pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def run_benchmark(presenter: str, driving: Path, *, samples: int = 20, warmup_frames: int = 100) -> dict:
    """Render `driving` with the landmark engine into a temporary file, sampling resident memory.

    Returns the samples (frames written, MiB), the first sample after `warmup_frames` (caches, encoder
    lookahead and the allocator's pools are filled by then), the last, and the growth between the two.
    """
    resident_mb()  # fail before rendering, not after
    trace: list[tuple[int, float]] = []

    def sample(done: int, total: int | None) -> None:
        every = max(1, (total or 10 * warmup_frames) // samples)
        if done == 1 or done % every == 0 or done == warmup_frames or done == total:
            trace.append((done, resident_mb()))

    with tempfile.TemporaryDirectory(prefix="livepresenter-bench-") as folder:
        result = render_video(presenter, Path(driving), Path(folder) / "render.mp4",
                              RenderSettings(engine="landmark"), on_frame=sample)
    after_warmup = next(((done, mb) for done, mb in trace if done >= warmup_frames), trace[0])
    last = trace[-1]
    return {
        "driving": str(driving),
        "frames": result.frames,
        "seconds_of_video": result.frames / float(result.fps),
        "elapsed_s": result.elapsed_s,
        "audio": result.has_audio,
        "samples": trace,
        "after_warmup": after_warmup,
        "last": last,
        "growth_mb": last[1] - after_warmup[1],
    }


def format_table(result: dict) -> str:
    """The result as the lines `livepresenter bench render` prints."""
    audio = "kept" if result["audio"] else "none"
    lines = [(f"render memory: {result['driving']}, {result['frames']} frames "
              f"({result['seconds_of_video'] / 60:.1f} min of video, audio {audio}), rendered in {result['elapsed_s']:.0f} s"),
             "frames written   resident MiB"]
    lines += [f"{done:>14d}   {mb:12.1f}" for done, mb in result["samples"]]
    (start, start_mb), (end, end_mb) = result["after_warmup"], result["last"]
    lines.append(f"growth from frame {start} to frame {end}: {result['growth_mb']:+.1f} MiB "
                 f"({start_mb:.1f} -> {end_mb:.1f})")
    return "\n".join(lines)
