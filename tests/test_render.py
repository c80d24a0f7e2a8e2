"""`livepresenter render` end to end: real clips, real portraits, the landmark engine, files decoded back."""

from __future__ import annotations

import logging
import re
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from livepresenter.bench.render import run_benchmark
from livepresenter.cli.main import main
from livepresenter.config import CHECKPOINT_ENV, CONFIG_DIR_ENV
from livepresenter.errors import ExitStatus
from livepresenter.media.image import load_image_rgb
from livepresenter.render import PresenterPipeline

GRID = "grid_bbaf2n_256.mp4"
PEXELS = "pexels_wolfganglanger_expressions_360.mp4"
TESLA = "nikola_tesla_c1890_napoleon_sarony.jpg"  # 447x599: odd width and height
NEWTON = "isaac_newton_1689_godfrey_kneller.jpg"  # the smallest portrait: fastest to animate


@dataclass
class Decoded:
    frames: list[np.ndarray]
    fps: Fraction
    audio_codec: str | None
    audio_s: float


def _decode(path: Path) -> Decoded:
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        fps = video.average_rate
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video)]
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return Decoded(frames, fps, None, 0.0)
        audio = container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(audio))
        return Decoded(frames, fps, audio.codec_context.name, samples / audio.codec_context.sample_rate)


def _ffmpeg_clip(ffmpeg: str, out: Path, *args: str) -> Path:
    subprocess.run([ffmpeg, "-v", "error", "-y", *args, "-c:v", "libx264", "-pix_fmt", "yuv420p", str(out)],
                   check=True)
    return out


def _render(*args: str) -> int:
    return main(["render", *args])


@pytest.fixture(autouse=True)
def no_user_config(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No checkpoint from the environment or the user's config.toml: --engine auto means landmark here."""
    monkeypatch.setenv(CONFIG_DIR_ENV, str(tmp_path_factory.mktemp("config")))
    monkeypatch.delenv(CHECKPOINT_ENV, raising=False)


def test_stage_render_keeps_frames_rate_and_audio(driving_dir: Path, portraits_dir: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "lecture.mp4"
    status = _render("--presenter", str(portraits_dir / TESLA), "--driving", str(driving_dir / GRID),
                     "--output", str(out))
    assert status == 0
    assert [p.name for p in tmp_path.iterdir()] == ["lecture.mp4"]  # no temporary file left behind
    assert "75/75" in capsys.readouterr().err  # the progress bar counted every frame

    result = _decode(out)
    assert len(result.frames) == 75 and result.fps == 25
    assert result.frames[0].shape == (720, 1280, 3)
    assert result.audio_codec == "aac" and result.audio_s == pytest.approx(3.0, abs=0.1)
    # The presenter moves with the speaker: the face region changes between frames.
    face = (slice(100, 400), slice(500, 780))
    motion = np.abs(result.frames[40][face].astype(int) - result.frames[0][face]).mean()
    assert motion > 0.5
    # The disclosure label is drawn by default: white text in the dark bottom-right corner.
    assert result.frames[10][680:712, 1080:1270].max() > 200


def test_portrait_layout_without_label_and_without_audio(driving_dir: Path, portraits_dir: Path, tmp_path: Path,
                                                         ffmpeg: str) -> None:
    driving = _ffmpeg_clip(ffmpeg, tmp_path / "pexels30.mp4", "-i", str(driving_dir / PEXELS),
                           "-frames:v", "30", "-an")
    out = tmp_path / "tesla.mp4"
    status = _render("--presenter", str(portraits_dir / TESLA), "--driving", str(driving), "--output", str(out),
                     "--layout", "portrait", "--no-label", "--engine", "landmark")
    assert status == 0
    result = _decode(out)
    assert len(result.frames) == 30 and result.fps == Fraction(24000, 1001)
    assert result.frames[0].shape == (598, 446, 3)  # 447x599 less one column and one row
    assert result.audio_codec is None
    # No label: the bottom-right corner, far from the face, is the portrait's own.
    portrait = load_image_rgb(portraits_dir / TESLA)
    corner = np.abs(result.frames[15][-40:, -200:].astype(int) - portrait[558:598, 246:446]).mean()
    assert corner < 4


def test_frames_without_a_face_are_held_and_counted(driving_dir: Path, portraits_dir: Path, tmp_path: Path,
                                                    ffmpeg: str, caplog: pytest.LogCaptureFixture) -> None:
    # 20 frames of the speaker, 15 black frames, 15 more of the speaker.
    driving = _ffmpeg_clip(
        ffmpeg, tmp_path / "gap.mp4", "-i", str(driving_dir / GRID), "-filter_complex",
        "[0:v]trim=start_frame=0:end_frame=20,setpts=PTS-STARTPTS[a];color=black:s=256x256:r=25:d=0.6[b];"
        "[0:v]trim=start_frame=20:end_frame=35,setpts=PTS-STARTPTS[c];[a][b][c]concat=n=3:v=1:a=0[v]",
        "-map", "[v]",
    )
    out = tmp_path / "gap-out.mp4"
    with caplog.at_level(logging.INFO):
        status = _render("--presenter", str(portraits_dir / NEWTON), "--driving", str(driving),
                         "--output", str(out), "--layout", "portrait")
    assert status == 0
    assert "15 of 50 driving frames had no face" in caplog.text
    frames = _decode(out).frames
    assert len(frames) == 50
    # During the gap the last good pose (frame 19) is held, while with a face the pose does move.
    def change(a: int, b: int) -> float:
        return float(np.abs(frames[a].astype(int) - frames[b]).mean())

    assert change(0, 19) > 2
    assert max(change(index, 19) for index in range(20, 35)) < 1


def test_interrupted_render_leaves_the_old_output_untouched(driving_dir: Path, portraits_dir: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "lecture.mp4"
    out.write_bytes(b"previous render")
    real_step = PresenterPipeline.step
    calls = []

    def step_then_ctrl_c(self, frame_rgb, time_s=None):
        calls.append(time_s)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return real_step(self, frame_rgb, time_s)

    monkeypatch.setattr(PresenterPipeline, "step", step_then_ctrl_c)
    status = _render("--presenter", str(portraits_dir / NEWTON), "--driving", str(driving_dir / GRID),
                     "--output", str(out), "--layout", "portrait")
    assert status == ExitStatus.INTERRUPTED
    assert out.read_bytes() == b"previous render"
    assert [p.name for p in tmp_path.iterdir()] == ["lecture.mp4"]


def _no_face_portrait(folder: Path) -> Path:
    path = folder / "wallpaper.png"
    cv2.imwrite(str(path), np.random.default_rng(0).integers(0, 255, (300, 240, 3), dtype=np.uint8))
    return path


def _unreadable_video(folder: Path) -> Path:
    path = folder / "talk.mp4"
    path.write_text("not a video\n")
    return path


@pytest.mark.parametrize(
    "case, expected",
    [
        ("no-face", "no face found in portrait .*wallpaper.png"),
        ("bad-video", "talk.mp4"),
        ("unknown-engine", "unknown engine 'deepfake': choose one of auto, landmark, fomm"),
        ("fomm-no-checkpoint", "fomm engine needs a checkpoint: pass --checkpoint"),
    ],
)
def test_errors_are_one_line_and_leave_no_output(case: str, expected: str, driving_dir: Path, portraits_dir: Path,
                                                 tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    presenter = _no_face_portrait(inputs) if case == "no-face" else portraits_dir / NEWTON
    driving = _unreadable_video(inputs) if case == "bad-video" else driving_dir / GRID
    engine = {"unknown-engine": "deepfake", "fomm-no-checkpoint": "fomm"}.get(case, "landmark")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    status = _render("--presenter", str(presenter), "--driving", str(driving), "--output", str(out_dir / "o.mp4"),
                     "--engine", engine)
    assert status != 0
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("livepresenter: error: ")
    assert re.search(expected, lines[0])
    assert list(out_dir.iterdir()) == []


def test_auto_engine_uses_a_configured_checkpoint(driving_dir: Path, portraits_dir: Path, fomm_fixtures: Path,
                                                  tmp_path: Path, ffmpeg: str, monkeypatch: pytest.MonkeyPatch,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    driving = _ffmpeg_clip(ffmpeg, tmp_path / "short.mp4", "-i", str(driving_dir / GRID), "-frames:v", "8")
    monkeypatch.setenv(CHECKPOINT_ENV, str(fomm_fixtures / "dev-small-cpk.pth.tar"))
    out = tmp_path / "fomm.mp4"
    with caplog.at_level(logging.INFO):
        status = _render("--presenter", str(portraits_dir / NEWTON), "--driving", str(driving), "--output", str(out),
                         "--layout", "portrait", "--fomm-config", str(fomm_fixtures / "dev-small.yaml"))
    assert status == 0
    assert "fomm engine" in caplog.text
    result = _decode(out)
    assert len(result.frames) == 8 and result.audio_codec == "aac"


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="resident memory is read from /proc (Linux only)")
def test_memory_stays_flat_over_a_long_render(driving_dir: Path, portraits_dir: Path, tmp_path: Path,
                                              ffmpeg: str) -> None:
    # The GRID clip looped 8 times: 600 frames (24 s) with its audio. Keeping every 1280x720 stage frame would add
    # 2.6 MiB a frame, every decoded driving frame 0.19 MiB: 1.3 GiB or 94 MiB over the 500 frames after warm-up.
    driving = tmp_path / "long.mp4"
    subprocess.run([ffmpeg, "-v", "error", "-stream_loop", "7", "-i", str(driving_dir / GRID), "-c", "copy",
                    str(driving)], check=True)
    result = run_benchmark(str(portraits_dir / NEWTON), driving)
    assert result["frames"] == 600 and result["audio"]
    assert (result["after_warmup"][0], result["last"][0]) == (100, 600)
    assert result["growth_mb"] < 30


def test_bench_render_names_what_it_needs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "render", "--driving", "lecture.mp4"]) == ExitStatus.USAGE
    assert capsys.readouterr().err.strip() == (
        "livepresenter: error: bench render needs --presenter IMAGE_OR_PROFILE and --driving VIDEO")
