"""The studio window offscreen (pytest-qt) against the real render on a short real clip: generate, watch, save; cancel; errors as messages; settings kept between runs."""

from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before Qt starts

from PySide6.QtCore import Qt

from livepresenter.media import Mp4Writer, VideoReader
from livepresenter.studio import jobs
from livepresenter.studio.jobs import Progress
from livepresenter.studio.settings import (
    StudioSettings,
    load_settings,
    save_settings,
    settings_path,
)
from livepresenter.studio.window import AddPresenterDialog, StudioWindow
from tests.conftest import DRIVING

GRID_CLIP = DRIVING / "grid_bbaf2n_256.mp4"
RENDER_TIMEOUT_MS = 180_000


def make_clip(ffmpeg: str, target: Path, frames: int) -> Path:
    """`frames` frames (25 fps) with their audio, cut from the GRID clip."""
    subprocess.run([ffmpeg, "-loglevel", "error", "-y", "-i", str(GRID_CLIP), "-frames:v", str(frames), "-t", f"{frames / 25}",
                    "-r", "25", "-c:v", "libx264", "-c:a", "aac", str(target)], check=True)
    return target


@pytest.fixture(scope="module")
def clip(tmp_path_factory, ffmpeg) -> Path:
    return make_clip(ffmpeg, tmp_path_factory.mktemp("clips") / "lecture.mp4", 25)


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory, ffmpeg) -> Path:
    return make_clip(ffmpeg, tmp_path_factory.mktemp("clips") / "long.mp4", 75)


@pytest.fixture
def studio(qtbot, tmp_path, monkeypatch) -> StudioWindow:
    monkeypatch.setenv("LIVEPRESENTER_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("LIVEPRESENTER_DATA_DIR", str(tmp_path / "data"))
    save_settings(StudioSettings(presenter="grace_hopper", output_dir=str(tmp_path / "out")))
    window = StudioWindow()
    qtbot.addWidget(window)
    window.show()
    return window


def outputs(window: StudioWindow) -> list[Path]:
    folder = window.settings.output_folder
    return sorted(folder.iterdir()) if folder.is_dir() else []


def wait_for_job(qtbot, window: StudioWindow) -> None:
    qtbot.waitUntil(lambda: window.job is None, timeout=RENDER_TIMEOUT_MS)


def test_generate_watch_and_save(qtbot, studio, clip, tmp_path, monkeypatch):
    assert studio.presenter == "grace_hopper" and studio.engine.currentText() == "landmark"
    assert studio.set_video(clip)
    qtbot.mouseClick(studio.generate_button, Qt.MouseButton.LeftButton)
    assert studio.job is not None and not studio.generate_button.isEnabled()
    wait_for_job(qtbot, studio)

    assert studio.message.text().startswith("wrote "), studio.message.text()
    (output,) = outputs(studio)
    assert output.name == "grace_hopper-lecture.mp4" and studio.result == output
    reader = VideoReader(output)
    assert sum(1 for _ in reader) == 25
    assert reader.has_audio and VideoReader(clip).has_audio
    assert "25 frames" in studio.progress_label.text()

    shown = studio.player.frames_shown
    studio.player.play()
    assert "playing without sound" in studio.message.text()  # no audio output on a test machine
    qtbot.waitUntil(lambda: studio.player.frames_shown > shown + 3, timeout=30_000)
    studio.player.pause()
    assert not studio.player.playing

    copy = tmp_path / "copy.mp4"
    monkeypatch.setattr("livepresenter.studio.window.QFileDialog.getSaveFileName", lambda *a, **k: (str(copy), ""))
    studio.save_as()
    assert copy.read_bytes() == output.read_bytes() and studio.message.text() == f"saved {copy}"


def test_cancel_leaves_no_file(qtbot, studio, long_clip):
    studio.set_video(long_clip)
    studio.generate()
    job = studio.job
    qtbot.waitUntil(lambda: job.progress is not None and job.progress.done >= 2, timeout=RENDER_TIMEOUT_MS)
    studio.cancel()
    wait_for_job(qtbot, studio)
    assert job.state is jobs.JobState.CANCELLED
    assert studio.progress_label.text() == "cancelled: no file was written"
    assert outputs(studio) == []  # neither the video nor its hidden partial file
    assert studio.generate_button.isEnabled()


def test_a_full_disk_is_a_message_and_leaves_no_file(qtbot, studio, clip, monkeypatch):
    def disk_full(self, *args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Mp4Writer, "write", disk_full)
    studio.set_video(clip)
    studio.generate()
    wait_for_job(qtbot, studio)
    assert "the disk is full" in studio.message.text() and "cannot write" in studio.message.text()
    assert outputs(studio) == []


def test_a_truncated_video_is_rendered_as_far_as_it_goes_and_said(qtbot, studio, tmp_path):
    data = GRID_CLIP.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[:len(data) * 30 // 100])  # its index is at the front: frames decode up to the cut
    assert studio.set_video(cut)
    studio.generate()
    wait_for_job(qtbot, studio)
    (output,) = outputs(studio)
    frames = sum(1 for _ in VideoReader(output))
    assert 0 < frames < 75 and studio.result == output
    assert studio.message.text().startswith(f"{cut} ended early: only {frames} of the 75 frames its container claims")


def test_an_unreadable_video_is_a_message(studio, clip, tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video" * 100)
    assert studio.set_video(clip)
    assert not studio.set_video(broken)
    assert str(broken) in studio.message.text() and studio.video == clip  # the previous video stays


def test_no_camera_is_a_message(studio):
    studio.camera = "9"  # no such camera on any test machine
    studio.toggle_recording()
    assert studio.recording is None
    assert studio.message.text().startswith("camera 9 is not available")


def test_recording_from_a_camera(qtbot, studio, clip):
    """A video file stands in for the webcam; there is no microphone here, so the recording is video only."""
    studio.camera = str(clip)
    studio.toggle_recording()
    recording = studio.recording
    assert recording is not None and studio.record_button.text() == "Stop recording"
    qtbot.waitUntil(lambda: recording._recorder.frames_written >= 5, timeout=30_000)
    studio.toggle_recording()
    assert studio.recording is None and studio.video == recording.path
    assert studio.message.text() == f"recorded {recording.path.name}"
    assert sum(1 for _ in VideoReader(recording.path)) >= 5


def test_add_presenter_checks_like_the_cli(qtbot, studio, tmp_path, portraits_dir):
    blank = tmp_path / "blank.png"
    import cv2

    cv2.imwrite(str(blank), np.full((300, 300, 3), 200, np.uint8))
    dialog = AddPresenterDialog(studio)
    qtbot.addWidget(dialog)
    dialog.name.setText("nobody")
    dialog.image.setText(str(blank))
    dialog.accept()
    assert "a profile needs --rights" in dialog.error.text() and dialog.profile is None
    dialog.rights.setText("CC0")
    dialog.accept()
    assert dialog.error.text().startswith(f"no face found in {blank}")
    dialog.living.setChecked(True)
    dialog.accept()
    assert "--consent is empty" in dialog.error.text()

    dialog.name.setText("einstein")
    dialog.image.setText(str(portraits_dir / "einstein_1947_orren_jack_turner.jpg"))
    dialog.historical.setChecked(True)
    dialog.died.setValue(1955)
    dialog.accept()
    assert dialog.profile is not None and dialog.profile.name == "einstein" and dialog.result()
    studio.fill_presenters("einstein")
    assert studio.presenter == "einstein"


def test_settings_persist_between_runs(qtbot, studio, tmp_path):
    studio.select_presenter("grace_hopper")
    studio.layout_choice.setCurrentIndex(studio.layout_choice.findData("portrait"))
    assert load_settings() == StudioSettings("grace_hopper", "landmark", "portrait", str(tmp_path / "out"))
    again = StudioWindow()
    qtbot.addWidget(again)
    assert again.presenter == "grace_hopper" and again.layout_choice.currentData() == "portrait"
    assert again.output_label.text() == str(tmp_path / "out")

    settings_path().write_text("{broken", encoding="utf-8")
    assert load_settings() == StudioSettings()


def test_progress_text():
    assert Progress(10, 40, 5.0, 6.0).text() == "10/40 frames, 5.0 fps, 6 s left"
    assert Progress(10, None, 5.0, None).text() == "10 frames, 5.0 fps"
