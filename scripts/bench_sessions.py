"""The FOMM server's compute alone: one batched pass of `SessionAnimator` per batch size, no network, no Triton.

    python scripts/bench_sessions.py [--config vox-256] [--device cuda] [--batches 1,2,4,8,16,32]

Prints, per batch size, the median and p95 time of `animate` for that many sessions' frames, and the frames per second
that makes: the ceiling `bench serve` can approach (BENCHMARKS.md, remote mode).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from livepresenter.fomm.random_weights import random_model, synthetic_frames
from livepresenter.fomm.sessions import SessionAnimator
from livepresenter.remote.server import server_precision


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="vox-256")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batches", default="1,2,4,8,16,32")
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    frames = synthetic_frames(8, 256)
    model = random_model(frames[:4], config=args.config)
    sessions = SessionAnimator(model, precision=server_precision(args.device))
    batches = [int(b) for b in args.batches.split(",")]
    for i in range(max(batches)):
        sessions.set_source(f"s{i}", frames[i % 8])
        sessions.set_reference(f"s{i}", frames[(i + 1) % 8])
    name = torch.cuda.get_device_name() if args.device.startswith("cuda") else "cpu"
    print(f"{args.config}, {sessions.precision} on {name}")
    print("| batch | median ms | p95 ms | frames/s |")
    print("|--:|--:|--:|--:|")
    for batch in batches:
        keys, crops = [f"s{i}" for i in range(batch)], [frames[(i + 2) % 8] for i in range(batch)]
        for _ in range(3):
            sessions.animate(keys, crops)
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            sessions.animate(keys, crops)  # returns numpy: the device has finished
            times.append((time.perf_counter() - start) * 1000)
        median = statistics.median(times)
        print(f"| {batch} | {median:.1f} | {np.percentile(times, 95):.1f} | {batch * 1000 / median:.0f} |", flush=True)


if __name__ == "__main__":
    main()
