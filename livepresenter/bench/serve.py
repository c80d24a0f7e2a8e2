"""`livepresenter bench serve`: how many lecturers one FOMM server holds.

Starts a server on loopback (its own environment, a token), then N clients, each a real `RemoteAnimator` paced at F
frames per second as a camera would be: a frame is sent at each tick unless the previous one is still out (the live
pipeline drops frames the same way). Per client: achieved fps (frames answered per second), latency p50/p95 from
sending the crop to having the animated crop decoded. The server's mean batch comes from Triton's own statistics.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np

from livepresenter.fomm.random_weights import synthetic_frames
from livepresenter.remote.client import RemoteAnimator
from livepresenter.remote.process import ServerProcess
from livepresenter.remote.protocol import ANIMATE_MODEL, TOKEN_HEADER

WARM_UP_S = 60.0  # first frames: the server builds its kernels and caches


class PacedClient:
    """One lecturer: a session on the server, then frames at a camera's pace."""

    def __init__(self, server: ServerProcess, frames: list[np.ndarray], index: int) -> None:
        self.frames = frames[index % len(frames):] + frames[:index % len(frames)]
        self.animator = RemoteAnimator(server.address, server.token, deadline_s=1.0)
        self.animator.set_source(self.frames[0])
        self.animator.set_reference(self.frames[1])
        self.index = index

    def warm_up(self) -> None:
        """Until the presenter is on the server and a frame has come back."""
        deadline = time.monotonic() + WARM_UP_S
        while self.animator.animate(self.frames[2]) is None:
            if time.monotonic() > deadline:
                raise RuntimeError(f"client {self.index}: no answer from the server ({self.animator.reason})")
            time.sleep(0.05)

    def run(self, start: float, seconds: float, fps: float) -> dict:
        latencies: list[float] = []
        period, tick = 1.0 / fps, start
        while tick < start + seconds:
            now = time.monotonic()
            if now < tick:
                time.sleep(tick - now)
            if self.animator.animate(self.frames[len(latencies) % len(self.frames)]) is not None:
                latencies.append(self.animator.rtt_ms)
            tick += period
            while tick < time.monotonic():  # the camera's frames while this one was out: dropped
                tick += period
        self.animator.close()
        if not latencies:
            return {"fps": 0.0, "latency_p50_ms": float("nan"), "latency_p95_ms": float("nan")}
        return {"fps": len(latencies) / seconds, "latency_p50_ms": float(np.percentile(latencies, 50)),
                "latency_p95_ms": float(np.percentile(latencies, 95))}


def _batches(server: ServerProcess) -> tuple[int, int]:
    """(frames animated, forward passes) so far, from Triton's statistics."""
    import tritonclient.grpc as grpc

    client = grpc.InferenceServerClient(server.address)
    try:
        stats = client.get_inference_statistics(ANIMATE_MODEL, headers={TOKEN_HEADER: server.token})
    finally:
        client.close()
    model = stats.model_stats[0]
    return model.inference_count, model.execution_count


def run_benchmark(clients: int = 2, fps: float = 30.0, seconds: float = 10.0, checkpoint: Path | None = None,
                  fomm_config: str | None = None, max_batch: int = 16) -> dict:
    frames = synthetic_frames(8, 256)
    with ServerProcess(checkpoint, fomm_config, max_batch=max_batch) as server:
        clients_ = [PacedClient(server, frames, i) for i in range(clients)]
        for client in clients_:
            client.warm_up()
        before = _batches(server)
        start = time.monotonic() + 0.2
        results: list[dict] = [{} for _ in clients_]

        def paced(index: int) -> None:
            results[index] = clients_[index].run(start, seconds, fps)

        threads = [threading.Thread(target=paced, args=(i,), name=f"bench-client-{i}") for i in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        frames_done, passes = (after - first for after, first in zip(_batches(server), before))
        return {"clients": results, "mean_batch": frames_done / passes if passes else 0.0,
                "device": server.facts["device"], "model": server.facts["model"],
                "precision": server.facts["precision"], "fps_target": fps, "seconds": seconds}


def format_table(result: dict) -> str:
    lines = [f"bench serve: {len(result['clients'])} clients at {result['fps_target']:g} fps for "
             f"{result['seconds']:g} s; {result['model']}, {result['precision']} on {result['device']}; "
             f"mean batch {result['mean_batch']:.2f}",
             "| client | fps | latency p50 ms | latency p95 ms |", "|--:|--:|--:|--:|"]
    lines += [f"| {i} | {c['fps']:.1f} | {c['latency_p50_ms']:.1f} | {c['latency_p95_ms']:.1f} |"
              for i, c in enumerate(result["clients"])]
    return "\n".join(lines)
