"""`livepresenter bench serve`: how many lecturers one FOMM server holds.

Starts a server on loopback (its own environment, with a token), then N clients, each a real `RemoteAnimator` paced
at F frames per second as a camera would be: a frame is sent at each tick unless the previous one is still out (the
live pipeline drops frames the same way). Per client: achieved fps (frames answered per second), latency p50/p95 from
sending the crop to having the animated crop decoded. The server's mean batch comes from Triton's own statistics.
Clients run in worker processes, at most CLIENTS_PER_PROCESS each, so one Python's GIL does not become the limit.
`--sweep` measures several client counts against one server.
"""

from __future__ import annotations

import math
import multiprocessing
import threading
import time
from pathlib import Path

import numpy as np

from livepresenter.fomm.random_weights import synthetic_frames
from livepresenter.remote.client import RemoteAnimator
from livepresenter.remote.process import ServerProcess
from livepresenter.remote.protocol import ANIMATE_MODEL, TOKEN_HEADER

WARM_UP_S = 60.0         # the most a client waits for its first frame (the presenter reaching the server)
CLIENTS_PER_PROCESS = 8


class PacedClient:
    """One lecturer: a session on the server, then frames at a camera's pace."""

    def __init__(self, address: str, token: str | None, frames: list[np.ndarray], index: int) -> None:
        shift = index % len(frames)
        self.frames = frames[shift:] + frames[:shift]
        self.animator = RemoteAnimator(address, token, deadline_s=1.0, offline=True)
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
            return {"fps": 0.0, "latency_p50_ms": math.nan, "latency_p95_ms": math.nan}
        return {"fps": len(latencies) / seconds, "latency_p50_ms": float(np.percentile(latencies, 50)),
                "latency_p95_ms": float(np.percentile(latencies, 95))}


def client_group(address: str, token: str | None, indices: list[int], start: float, seconds: float,
                 fps: float) -> list[dict]:
    """Several clients on threads of one process (a worker of `measure`); the clock is the system's monotonic one,
    the same in every process."""
    frames = synthetic_frames(8, 256)
    clients = [PacedClient(address, token, frames, i) for i in indices]
    for client in clients:
        client.warm_up()
    if time.monotonic() > start:
        raise RuntimeError("the clients were not ready when the measurement began: measure fewer at once")
    results: list[dict] = [{} for _ in clients]

    def paced(i: int) -> None:
        results[i] = clients[i].run(start, seconds, fps)

    threads = [threading.Thread(target=paced, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


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


def measure(server: ServerProcess, clients: int, fps: float, seconds: float) -> dict:
    """N paced clients against a running server, in ceil(N / CLIENTS_PER_PROCESS) worker processes."""
    groups = [list(range(clients))[i::math.ceil(clients / CLIENTS_PER_PROCESS)]
              for i in range(math.ceil(clients / CLIENTS_PER_PROCESS))]
    start = time.monotonic() + 15.0 + 0.5 * clients  # process start, imports and each client's first frame
    with multiprocessing.get_context("spawn").Pool(len(groups)) as pool:
        pending = [pool.apply_async(client_group, (server.address, server.token, group, start, seconds, fps))
                   for group in groups]
        time.sleep(max(0.0, start - 0.05 - time.monotonic()))
        before = _batches(server)
        by_group = [p.get(timeout=WARM_UP_S + 60 + seconds + 0.5 * clients) for p in pending]
    results: list[dict] = [{} for _ in range(clients)]
    for group, group_results in zip(groups, by_group):
        for index, result in zip(group, group_results):
            results[index] = result
    frames_done, passes = (after - first for after, first in zip(_batches(server), before))
    return {"clients": results, "mean_batch": frames_done / passes if passes else 0.0,
            "device": server.facts["device"], "model": server.facts["model"], "precision": server.facts["precision"],
            "fps_target": fps, "seconds": seconds}


def run_benchmark(clients: int | list[int] = 2, fps: float = 30.0, seconds: float = 10.0,
                  checkpoint: Path | None = None, fomm_config: str | None = None, max_batch: int = 16) -> list[dict]:
    """One result per client count, all against one server started here."""
    counts = clients if isinstance(clients, list) else [clients]
    with ServerProcess(checkpoint, fomm_config, max_batch=max_batch) as server:
        return [measure(server, count, fps, seconds) for count in counts]


def format_table(result: dict) -> str:
    lines = [f"bench serve: {len(result['clients'])} clients at {result['fps_target']:g} fps for "
             f"{result['seconds']:g} s; {result['model']}, {result['precision']} on {result['device']}; "
             f"mean batch {result['mean_batch']:.2f}",
             "| client | fps | latency p50 ms | latency p95 ms |", "|--:|--:|--:|--:|"]
    lines += [f"| {i} | {c['fps']:.1f} | {c['latency_p50_ms']:.1f} | {c['latency_p95_ms']:.1f} |"
              for i, c in enumerate(result["clients"])]
    return "\n".join(lines)
