"""`livepresenter render` end to end: real clips, real portraits, the landmark engine, files decoded back."""

from __future__ import annotations

import errno
import logging
import os
import re
import shutil
import subprocess
import sys
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
from livepresenter.media import Mp4Writer
from livepresenter.media.image import load_image_rgb
from livepresenter.pipeline.frame_path import FramePath

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
    real_step = FramePath.step
    calls = []

    def step_then_ctrl_c(self, frame, now):
        calls.append(now)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return real_step(self, frame, now)

    monkeypatch.setattr(FramePath, "step", step_then_ctrl_c)
    status = _render("--presenter", str(portraits_dir / NEWTON), "--driving", str(driving_dir / GRID),
                     "--output", str(out), "--layout", "portrait", "--force")
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


# -- outputs: never an input, never an existing file unless asked, an unwritable folder said in one line -----------

def _error_line(capsys: pytest.CaptureFixture[str]) -> str:
    """The one line on stderr, an error."""
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("livepresenter: error: "), lines
    return lines[0]


@pytest.mark.parametrize("force", [False, True])
@pytest.mark.parametrize("alias", ["same path", "symlink", "hard link", ".."])
def test_an_output_that_is_the_portrait_is_refused_even_with_force(alias: str, force: bool, driving_dir: Path,
                                                                   portraits_dir: Path, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    portrait = tmp_path / "newton.jpg"
    shutil.copy(portraits_dir / NEWTON, portrait)
    (tmp_path / "sub").mkdir()
    output = {"same path": portrait, "..": tmp_path / "sub" / ".." / "newton.jpg", "symlink": tmp_path / "link.mp4",
              "hard link": tmp_path / "hard.mp4"}[alias]
    if alias == "symlink":
        output.symlink_to(portrait)
    elif alias == "hard link":
        os.link(portrait, output)
    before = sorted(tmp_path.iterdir())
    status = _render("--presenter", str(portrait), "--driving", str(driving_dir / GRID), "--output", str(output),
                     *(["--force"] if force else []))
    assert status == ExitStatus.BAD_INPUT
    assert f"{output} is the presenter's portrait" in _error_line(capsys)
    assert portrait.read_bytes() == output.read_bytes() == (portraits_dir / NEWTON).read_bytes()
    assert output.is_symlink() == (alias == "symlink")  # a symlink is not replaced by a video either
    assert sorted(tmp_path.iterdir()) == before  # and no partial file is left


@pytest.mark.parametrize("role", ["driving video", "FOMM checkpoint", "FOMM config"])
def test_an_output_that_is_any_other_input_is_refused_even_with_force(role: str, driving_dir: Path,
                                                                      portraits_dir: Path, fomm_fixtures: Path,
                                                                      tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    driving, checkpoint, config = tmp_path / "talk.mp4", tmp_path / "cpk.pth.tar", tmp_path / "fomm.yaml"
    shutil.copy(driving_dir / GRID, driving)
    shutil.copy(fomm_fixtures / "dev-small-cpk.pth.tar", checkpoint)
    shutil.copy(fomm_fixtures / "dev-small.yaml", config)
    output = {"driving video": driving, "FOMM checkpoint": checkpoint, "FOMM config": config}[role]
    before = output.read_bytes()
    status = _render("--presenter", str(portraits_dir / NEWTON), "--driving", str(driving), "--output", str(output),
                     "--checkpoint", str(checkpoint), "--fomm-config", str(config), "--force")
    assert status == ExitStatus.BAD_INPUT
    assert f"{output} is the {role}" in _error_line(capsys)
    assert output.read_bytes() == before


def test_an_existing_output_is_replaced_only_with_force(driving_dir: Path, portraits_dir: Path, tmp_path: Path,
                                                       ffmpeg: str, capsys: pytest.CaptureFixture[str]) -> None:
    driving = _ffmpeg_clip(ffmpeg, tmp_path / "short.mp4", "-i", str(driving_dir / GRID), "-frames:v", "8")
    out = tmp_path / "lecture.mp4"
    out.write_bytes(b"last week's lecture")
    args = ("--presenter", str(portraits_dir / NEWTON), "--driving", str(driving), "--output", str(out),
            "--layout", "portrait")
    assert _render(*args) == ExitStatus.BAD_INPUT
    assert _error_line(capsys) == f"livepresenter: error: {out} exists: pass --force to replace it, or choose another file"
    assert out.read_bytes() == b"last week's lecture"
    assert _render(*args, "--force") == 0
    assert len(_decode(out).frames) == 8


@pytest.mark.parametrize("where", ["under /proc", "below a file", "read-only folder"])
def test_an_unwritable_output_is_one_line_before_any_work(where: str, driving_dir: Path, portraits_dir: Path,
                                                          tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """Run as a separate process, to see all of stderr. Tests run as root here, where permissions do not stop
    writes: the read-only folder is a read-only bind mount (skipped where mounting is not allowed), /proc takes no
    new files, and a file's child cannot be created."""
    if where == "under /proc" and not Path("/proc/self").is_dir():
        pytest.skip("no /proc here")
    if where == "below a file":
        (tmp_path / "notes.txt").write_text("a file, not a folder\n")
    folder = {"under /proc": Path("/proc"), "below a file": tmp_path / "notes.txt",
              "read-only folder": None}[where] or request.getfixturevalue("read_only_folder")
    out = folder / "lecture.mp4"
    proc = subprocess.run([sys.executable, "-m", "livepresenter", "render", "--presenter", str(portraits_dir / NEWTON),
                           "--driving", str(driving_dir / GRID), "--output", str(out)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == ExitStatus.BAD_INPUT and "Traceback" not in proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    cause = {"under /proc": "folder /proc does not allow new files",
             "below a file": f"folder {folder} is not a folder (a file stands in its path)",
             "read-only folder": f"folder {folder} is "}[where]
    assert line.startswith(f"livepresenter: error: cannot write {out}: {cause}"), line
    if where == "read-only folder":
        assert line.endswith(("is on a read-only file system", "is not writable (no permission)")), line


def test_a_failing_clean_up_does_not_hide_the_error(driving_dir: Path, portraits_dir: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                                   caplog: pytest.LogCaptureFixture) -> None:
    """Simulated: the disk fills up mid-render (a write fails with ENOSPC), then deleting the unfinished file fails
    too (EIO). The disk-full error is the one said, with its status; the leftover gets a line of its own."""
    real_write, real_unlink = Mp4Writer.write, Path.unlink

    def fill_up(self: Mp4Writer, frame_rgb: np.ndarray, time_s: float | None = None) -> None:
        if self.frames_written == 5:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(self, frame_rgb, time_s)

    def failing_unlink(self: Path, missing_ok: bool = False) -> None:
        if self.name.endswith(".partial"):
            raise OSError(errno.EIO, "Input/output error")
        real_unlink(self, missing_ok)

    monkeypatch.setattr(Mp4Writer, "write", fill_up)
    monkeypatch.setattr(Path, "unlink", failing_unlink)
    out = tmp_path / "lecture.mp4"
    status = _render("--presenter", str(portraits_dir / NEWTON), "--driving", str(driving_dir / GRID),
                     "--output", str(out), "--layout", "portrait")
    assert status == ExitStatus.BAD_INPUT
    err = capsys.readouterr().err
    (error,) = [line for line in err.splitlines() if line.startswith("livepresenter:")]
    assert "Traceback" not in err and error == f"livepresenter: error: cannot write {out}: the disk is full"
    (leftover,) = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert leftover.startswith(f"could not remove the unfinished {tmp_path}/.lecture.mp4.")
    assert leftover.endswith(".partial: Input/output error")
    assert not out.exists()


@pytest.mark.parametrize("damage", ["cut short", "zeroed frame"])
def test_a_damaged_driving_video_is_rendered_as_far_as_it_goes_and_said(damage: str, driving_dir: Path,
                                                                       portraits_dir: Path, tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """A real clip cut at 30 % of its bytes (its index is at the front, so the frames decode cleanly up to the cut),
    or with the data of its 31st video frame zeroed (decoding fails there): the output keeps what was read (sound
    included), and says so."""
    data = (driving_dir / GRID).read_bytes()
    driving = tmp_path / "damaged.mp4"
    if damage == "cut short":
        driving.write_bytes(data[:len(data) * 30 // 100])
    else:
        with av.open(str(driving_dir / GRID)) as container:
            packet = [p for p in container.demux(video=0) if p.size][30]
            start, end = packet.pos, packet.pos + packet.size
        driving.write_bytes(data[:start] + bytes(end - start) + data[end:])
    out = tmp_path / "out.mp4"
    status = _render("--presenter", str(portraits_dir / NEWTON), "--driving", str(driving), "--output", str(out),
                     "--layout", "portrait")
    assert status == ExitStatus.PARTIAL_INPUT
    (error,) = [line for line in capsys.readouterr().err.splitlines() if line.startswith("livepresenter: error:")]
    result = _decode(out)  # kept, and playable
    frames = len(result.frames)
    assert 0 < frames < 75 and result.audio_codec == "aac"
    assert f"{driving} ended early: only {frames} of the 75 frames its container claims could be read" in error
    assert ("the file is cut short" if damage == "cut short" else "a frame cannot be decoded") in error
    assert str(out) in error
    assert sorted(p.name for p in tmp_path.iterdir()) == ["damaged.mp4", "out.mp4"]


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
