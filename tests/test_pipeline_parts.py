"""Pieces of the live pipeline that need no camera: the latest-wins slot, idle motion, the real-face view,
and the frame source on real files."""

from __future__ import annotations

import subprocess
import threading
from itertools import pairwise

import numpy as np
import pytest

from livepresenter.capture.source import FrameSource, SourceLost
from livepresenter.errors import DeviceError, InputError
from livepresenter.face import CropBox, Face, TrackedFace
from livepresenter.pipeline.idle import IdleMotion
from livepresenter.pipeline.realface import realface_view
from livepresenter.pipeline.slot import LatestSlot


def test_slot_keeps_only_the_newest_and_counts_drops():
    slot: LatestSlot[int] = LatestSlot()
    for i in range(5):
        slot.put(i)
    assert slot.take(timeout=0) == 4 and slot.dropped == 4
    assert slot.take(timeout=0.01) is None


def test_slot_wakes_a_waiting_consumer():
    slot: LatestSlot[str] = LatestSlot()
    threading.Timer(0.05, slot.put, args=("frame",)).start()
    assert slot.take(timeout=5) == "frame"


def reference_face() -> TrackedFace:
    """A synthetic 68-point face filling a 256 crop of a 256 frame: eyes at y=100, mouth at y=180."""
    rng = np.random.default_rng(1)
    points = np.zeros((68, 2), np.float32)
    points[0:17] = np.c_[np.linspace(60, 196, 17), 120 + 60 * np.sin(np.linspace(0, np.pi, 17))]
    points[17:27] = np.c_[np.linspace(80, 176, 10), np.full(10, 80)]
    points[27:36] = np.c_[np.full(9, 128), np.linspace(95, 150, 9)]
    for start, cx in ((36, 100), (42, 156)):
        angles = np.linspace(0, 2 * np.pi, 7)[:6]
        points[start:start + 6] = np.c_[cx + 14 * np.cos(angles + np.pi), 100 - 6 * np.sin(angles + np.pi)]
    angles = np.linspace(0, 2 * np.pi, 13)[:12]
    points[48:60] = np.c_[128 + 28 * np.cos(angles + np.pi), 180 - 10 * np.sin(angles + np.pi)]
    angles = np.linspace(0, 2 * np.pi, 9)[:8]
    points[60:68] = np.c_[128 + 18 * np.cos(angles + np.pi), 180 - 2 * np.sin(angles + np.pi)]
    crop = rng.integers(0, 255, (256, 256, 3), dtype=np.uint8)
    return TrackedFace(0, Face((60, 80, 196, 180), points, 1.0), CropBox(127.5, 127.5, 256), crop, points)


def test_idle_motion_moves_blinks_and_stays_near_the_reference():
    reference = reference_face()
    points = reference.face.landmarks
    idle = IdleMotion(reference)
    poses = [idle.pose(t / 30) for t in range(30 * 8)]
    drift = [np.abs(p - points).mean() for p in poses]
    assert max(drift) < 6.0 and np.mean(drift) > 0.3       # alive, but near the neutral face
    eye_open = [np.linalg.norm(p[37] - p[41]) for p in poses]
    assert min(eye_open) < 0.3 * eye_open[0]                 # at least one blink in 8 s
    steps = [np.abs(a - b).max() for a, b in pairwise(poses)]
    blink_free = [s for s, e0, e1 in zip(steps, eye_open, eye_open[1:]) if min(e0, e1) > 0.95 * eye_open[0]]
    assert max(blink_free) < 1.5                             # smooth between frames


def test_idle_eases_in_from_the_last_live_pose():
    reference = reference_face()
    points = reference.face.landmarks
    idle = IdleMotion(reference)
    shifted = points + (20, 0)
    live = TrackedFace(5, Face((0, 0, 1, 1), shifted, 1.0), reference.crop_box, reference.crop, shifted)
    assert idle.live(live, 0.0) is live
    first = idle.idle(0.01, 6)
    later = idle.idle(3.0, 7)
    assert np.abs(first.face.landmarks - shifted).mean() < 2.0      # starts where the face was
    assert np.abs(later.face.landmarks - points).mean() < 6.0       # ends near neutral
    # The synthetic crop moved with the pose: its landmarks are where the pose is, in crop pixels.
    assert np.abs(first.crop_landmarks - shifted).mean() < 2.0
    back = idle.live(live, 3.05)                                      # face returns: eases back, no jump
    assert np.abs(back.face.landmarks - later.face.landmarks).mean() < 3.0


def test_realface_view_centres_the_face_box():
    frame = np.zeros((480, 640, 3), np.uint8)
    frame[200:260, 300:360] = 255                    # the "face" around (330, 230)
    view = realface_view(frame, CropBox(330, 230, 120), (300, 400))
    assert view.shape == (400, 300, 3)
    ys, xs = np.nonzero(view[..., 0] > 128)
    assert abs(xs.mean() - 150) < 3 and abs(ys.mean() - 200) < 3


def test_file_source_paces_loops_and_converts_to_rgb(driving_dir):
    with FrameSource(str(driving_dir / "grid_bbaf2n_256.mp4")) as source:
        assert source.fps == pytest.approx(25, abs=0.1) and source.size == (256, 256)
        frames = [source.read() for _ in range(80)]      # 75 frames in the file: it loops
    assert [f.index for f in frames] == list(range(80))
    span = frames[-1].time_s - frames[0].time_s
    assert span == pytest.approx(79 / 25, rel=0.15)      # real time, not as fast as decoding
    assert frames[0].image.shape == (256, 256, 3)
    assert np.abs(frames[0].image.astype(int) - frames[75].image).mean() < 2  # the loop restarted


def test_file_source_delivers_rgb_not_opencv_bgr(tmp_path, ffmpeg):
    clip = tmp_path / "red.mp4"
    subprocess.run([ffmpeg, "-v", "error", "-f", "lavfi", "-i", "color=c=0xE01010:s=64x64:r=25:d=0.4",
                    "-c:v", "libx264", "-pix_fmt", "yuv444p", "-crf", "0", str(clip)], check=True)
    with FrameSource(str(clip)) as source:
        red, green, blue = source.read().image[32, 32].astype(int)
    assert red > 200 and green < 40 and blue < 40


def test_source_errors(tmp_path):
    with pytest.raises(DeviceError, match="camera 7 is not available"):
        FrameSource("7")
    with pytest.raises(InputError, match="does not exist"):
        FrameSource(str(tmp_path / "missing.mp4"))
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video" * 100)
    with pytest.raises(InputError, match="cannot be read"):
        FrameSource(str(bad))


def test_closed_source_reports_lost(driving_dir):
    source = FrameSource(str(driving_dir / "grid_bbaf2n_256.mp4"))
    source.close()
    source.close()
    with pytest.raises(SourceLost):
        source.read()


def test_a_portrait_without_a_face_fails_before_the_camera_is_opened(tmp_path):
    """The presenter is prepared first: with a face-less portrait and no camera, the error is the portrait's (the
    camera was never opened, so it cannot be left open)."""
    import cv2

    from livepresenter.errors import NoFaceError
    from livepresenter.pipeline.orchestrator import LiveSettings, Orchestrator

    wallpaper = tmp_path / "wallpaper.png"
    cv2.imwrite(str(wallpaper), np.random.default_rng(0).integers(0, 255, (300, 240, 3), dtype=np.uint8))
    with pytest.raises(NoFaceError, match="wallpaper.png"):
        Orchestrator(LiveSettings(presenter=str(wallpaper), source="9", engine="landmark", vcam=False))
