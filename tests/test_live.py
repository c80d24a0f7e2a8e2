"""The live pipeline end to end: a real clip as the camera, the real pyvirtualcam.Camera into a
recording backend, the real tracker and the landmark (or a small FOMM) engine."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from livepresenter.cli.main import main
from livepresenter.errors import ExitStatus

CLIP = "grid_bbaf2n_256.mp4"  # 25 fps, 3 s, a talking head


@pytest.fixture(scope="module")
def clip(driving_dir) -> Path:
    return driving_dir / CLIP


@pytest.fixture(scope="module")
def face_then_nothing(tmp_path_factory, driving_dir, ffmpeg) -> Path:
    """1.2 s of a talking head, then 2.5 s of an empty room (grey), at 25 fps."""
    out = tmp_path_factory.mktemp("clips") / "leaves.mp4"
    subprocess.run([ffmpeg, "-v", "error", "-i", str(driving_dir / CLIP), "-f", "lavfi", "-i",
                    "color=c=gray:s=256x256:r=25:d=2.5", "-filter_complex",
                    "[0:v]trim=0:1.2,setpts=PTS-STARTPTS[a];[a][1:v]concat=n=2:v=1[v]", "-map", "[v]",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", str(out)], check=True)
    return out


def live(args: list[str], tmp_path: Path) -> tuple[int, dict]:
    stats = tmp_path / "stats.json"
    code = main(["run", "--engine", "landmark", "--stats-json", str(stats), *args])
    return code, json.loads(stats.read_text()) if stats.exists() else {}


def test_frames_reach_the_virtual_camera(vcam, clip, tmp_path):
    code, stats = live(["--source", str(clip), "--max-seconds", "3"], tmp_path)
    assert code == 0
    (camera,) = vcam.instances
    assert camera.closed == 1
    assert (camera.width, camera.height) == (1280, 720)
    assert len(camera.frames) == stats["frames_output"] > 0
    assert all(f.shape == (720, 1280, 3) and f.dtype == np.uint8 for f in camera.frames)
    # Consistent with a 25 fps source over 3 s: never more than the source delivered (+ idle at start).
    assert stats["frames_output"] <= 25 * 3 * 1.1
    assert stats["frames_captured"] >= stats["frames_output"] - 5
    assert stats["frames_dropped"] <= stats["frames_captured"]
    assert stats["vcam"] is True and stats["engine"] == "landmark" and stats["presenter"] == "Grace Hopper"
    assert set(stats["latency_ms"]) == {"p50", "p95"} and stats["latency_ms"]["p95"] >= stats["latency_ms"]["p50"] > 0
    assert {"track", "animate", "compose", "send"} <= set(stats["stages_ms"])


def test_label_is_drawn_unless_no_label(vcam, clip, tmp_path):
    live(["--source", str(clip), "--max-seconds", "1.5"], tmp_path)
    live(["--source", str(clip), "--max-seconds", "1.5", "--no-label"], tmp_path)
    labelled, plain = (np.stack(cam.frames[:5]).astype(float).mean(0) for cam in vcam.instances)
    diff = np.abs(labelled - plain).mean(axis=2)
    corner = diff[-80:, -480:]      # the label's corner (bottom right)
    background = diff[:80, :300]    # static stage background, top left
    assert corner.mean() > 5 and background.mean() < 1


def test_presenter_moves_with_the_driving_face(vcam, clip, tmp_path, ffmpeg):
    still = tmp_path / "still.mp4"
    subprocess.run([ffmpeg, "-v", "error", "-i", str(clip), "-vf", "trim=end_frame=1,loop=loop=75:size=1,setpts=N/25/TB",
                    "-r", "25", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(still)], check=True)
    live(["--source", str(clip), "--max-seconds", "2.5"], tmp_path)
    live(["--source", str(still), "--max-seconds", "2.5"], tmp_path)
    moving, steady = ([f[150:600, 400:880].astype(float) for f in cam.frames[5:]] for cam in vcam.instances)
    motion = lambda frames: np.mean([np.abs(a - b).mean() for a, b in pairwise(frames)])
    assert motion(moving) > 3 * motion(steady)


def test_face_lost_eases_to_idle_motion(vcam, face_then_nothing, tmp_path):
    code, _ = live(["--source", str(face_then_nothing), "--max-seconds", "3.6"], tmp_path)
    assert code == 0
    frames = [f[150:600, 400:880].astype(float) for f in vcam.instances[0].frames]
    steps = [np.abs(a - b).mean() for a, b in pairwise(frames)]
    # The face is there for the first third (1.2 of 3.6 s), then gone: the presenter keeps moving (idle) and
    # the hand-over is no bigger a change between frames than talking was (steps grow when a loaded machine
    # animates fewer frames, so they are compared with each other, not with a constant).
    live_steps, idle_steps = steps[2:len(steps) // 3 - 1], steps[len(steps) // 3 - 1:]
    assert np.mean(idle_steps[len(idle_steps) // 2:]) > 0.05, "presenter froze when the face was lost"
    assert max(idle_steps) <= 1.2 * max(live_steps), "a jump when the face was lost"


def test_missing_camera_is_one_clear_line():
    """Read at the file descriptor, where OpenCV's own C++ log lines would land too."""
    command = [sys.executable, "-m", "livepresenter", "run", "--source", "9", "--no-vcam", "--max-seconds", "1"]
    quiet = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert quiet.returncode == ExitStatus.DEVICE_UNAVAILABLE
    assert quiet.stderr.strip().splitlines() == ["livepresenter: error: camera 9 is not available: plug in a webcam, "
                                                 "close other apps using it, or pass --source VIDEO_FILE to drive "
                                                 "from a recording"]
    debug = subprocess.run([*command[:3], "--debug", *command[3:]], capture_output=True, text=True, timeout=120)
    assert "can't open camera by index" in debug.stderr  # --debug lets OpenCV speak


class _NoLoopbackDevice:
    """What pyvirtualcam's v4l2loopback backend does where the kernel module is not loaded."""

    def __init__(self, **kw) -> None:
        raise RuntimeError("'v4l2loopback' backend: No v4l2 loopback device found at /dev/video[0-99]. "
                           "Did you run 'modprobe v4l2loopback'? See also pyvirtualcam's documentation.")


def test_missing_virtual_camera_keeps_running(clip, tmp_path, caplog, monkeypatch):
    from pyvirtualcam import camera

    monkeypatch.setattr(camera, "BACKENDS", {"v4l2loopback": _NoLoopbackDevice})  # missing even where one is loaded
    code, stats = live(["--source", str(clip), "--max-seconds", "1.5"], tmp_path)
    assert code == 0 and stats["vcam"] is False and stats["frames_output"] > 0
    messages = [record.getMessage() for record in caplog.records]
    assert any("modprobe v4l2loopback" in message and "exclusive_caps=1" in message for message in messages)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signals_stop_cleanly(clip, tmp_path, sig):
    stats = tmp_path / "stats.json"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "livepresenter", "run", "--engine", "landmark", "--no-vcam",
                             "--source", str(clip), "--stats-json", str(stats)],
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 60
        for line in proc.stderr:  # wait until the pipeline is up
            if "engine: landmark" in line or time.monotonic() > deadline:
                break
        time.sleep(1.5)
        proc.send_signal(sig)
        rest = proc.communicate(timeout=30)[1]
    finally:
        proc.kill()
    assert proc.returncode == 0, rest
    assert "Traceback" not in rest
    assert json.loads(stats.read_text())["frames_output"] > 0


def test_camera_unplugged_keeps_streaming_idle_and_recovers(clip, monkeypatch, caplog):
    """The camera stops delivering for a while (unplugged): idle frames keep flowing, the camera is retried
    and picked up again. The outage is injected at FrameSource.read, the boundary to the device."""
    from livepresenter.capture.source import FrameSource, SourceLost
    from livepresenter.pipeline.orchestrator import LiveSettings, Orchestrator

    real_read = FrameSource.read
    outage: dict[str, float] = {}

    def read(self):
        now = time.monotonic()
        if "start" not in outage and self._index >= 15:
            outage["start"] = now
        if "start" in outage and now - outage["start"] < 1.5:
            raise SourceLost(f"source {self.spec} stopped delivering frames")
        return real_read(self)

    monkeypatch.setattr(FrameSource, "read", read)

    class Collect:
        def __init__(self) -> None:
            self.sent: list[float] = []

        def send(self, frame, timestamp) -> None:
            self.sent.append(time.monotonic())

        def close(self) -> None:
            pass

    sink = Collect()
    orchestrator = Orchestrator(LiveSettings(source=str(clip), engine="landmark", vcam=False, max_seconds=4.5))
    orchestrator.add_sink(sink)
    caplog.set_level("INFO")
    summary = orchestrator.run()
    start = outage["start"]
    during = [t for t in sink.sent if start + 0.6 < t < start + 1.5]
    assert len(during) >= 3, "no idle frames while the camera was gone"
    assert any(t > start + 2.0 for t in sink.sent), "the stream did not continue after the camera returned"
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "retrying the camera" in messages and "is back" in messages
    assert summary["frames_captured"] > 15


def test_fomm_engine_animates_the_virtual_camera(vcam, clip, fomm_fixtures, tmp_path):
    """The FOMM engine behind the same live loop (the small vox-256-shaped fixture, random weights, on the CPU):
    frames reach the camera and the portrait's face region changes as the driving face moves."""
    stats = tmp_path / "stats.json"
    code = main(["run", "--engine", "fomm", "--checkpoint", str(fomm_fixtures / "dev-vox256-narrow-cpk.pth.tar"),
                 "--fomm-config", str(fomm_fixtures / "dev-vox256-narrow.yaml"), "--source", str(clip),
                 "--max-seconds", "3", "--stats-json", str(stats)])
    assert code == 0
    summary = json.loads(stats.read_text())
    assert summary["engine"] == "fomm" and summary["frames_output"] > 10
    (camera,) = vcam.instances
    frames = np.stack(camera.frames).astype(np.float32)
    change = np.abs(np.diff(frames.mean(axis=3), axis=0))  # grey levels, frame to frame
    assert change[:, 200:520, 480:800].mean() > 0.5  # the face (measured: 3.4)
    assert change[:, :80, :300].max() == 0.0  # the stage background stays put
