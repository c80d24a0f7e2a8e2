"""Mp4Writer and VideoReader against real H.264/AAC files, decoded back with PyAV."""

from __future__ import annotations

import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from livepresenter.errors import ConfigError, InputError
from livepresenter.media import AudioFormat, Mp4Writer, VideoReader

TONE_HZ = 440.0


def _frames(count: int, width: int = 96, height: int = 64) -> list[np.ndarray]:
    """Smooth, distinct frames: a colour gradient whose offset moves with the index (H.264 keeps them close)."""
    ys, xs = np.mgrid[0:height, 0:width]
    return [
        np.stack([(xs * 2 + 7 * i) % 256, (ys * 3) % 256, np.full_like(xs, 40 + 5 * i)], axis=-1).astype(np.uint8)
        for i in range(count)
    ]


def _audio(path: Path) -> tuple[np.ndarray, int]:
    """The first audio stream decoded to mono float32, and its sample rate."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        chunks = [frame.to_ndarray().astype(np.float32).mean(axis=0) for frame in container.decode(stream)]
        return np.concatenate(chunks), stream.codec_context.sample_rate


def _rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples**2)))


def _tone_after_silence(ffmpeg: str, path: Path, codec: list[str], silence_s: float, total_s: float) -> Path:
    """A clip whose audio is silent for `silence_s`, then a 440 Hz tone, beside a test pattern."""
    subprocess.run(
        [ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size=96x64:rate=25:duration={total_s}",
         "-f", "lavfi", "-i", f"aevalsrc=0.5*sin(2*PI*{TONE_HZ}*t)*gte(t\\,{silence_s}):s=44100:d={total_s}",
         "-c:v", "libx264", "-pix_fmt", "yuv420p", *codec, "-shortest", str(path)],
        check=True,
    )
    return path


def test_round_trip_keeps_frames_rate_size_and_pixels(tmp_path: Path) -> None:
    fps = Fraction(24000, 1001)
    frames = _frames(30)
    path = tmp_path / "video.mp4"
    with Mp4Writer(path, (96, 64), fps) as writer:
        for index, frame in enumerate(frames):
            writer.write(frame, index / fps)
        assert not writer.has_audio

    reader = VideoReader(path)
    assert (reader.fps, reader.frame_count, reader.size, reader.has_audio) == (fps, 30, (96, 64), False)
    decoded = list(reader)
    assert [f.index for f in decoded] == list(range(30))
    assert decoded[10].time_s == pytest.approx(float(10 / fps), abs=1e-3)
    for original, back in zip(frames, decoded):
        assert np.abs(back.image.astype(int) - original).mean() < 4  # lossy, but the same picture
    assert np.abs(decoded[5].image.astype(int) - frames[20]).mean() > 20  # frames are not mixed up


def test_reader_can_iterate_twice_from_the_start(tmp_path: Path) -> None:
    path = tmp_path / "video.mp4"
    with Mp4Writer(path, (96, 64), 25) as writer:
        for frame in _frames(6):
            writer.write(frame)
    reader = VideoReader(path)
    first_pass = [f.image for f, _ in zip(reader, range(2))]
    second_pass = [f.image for f in reader]
    assert len(second_pass) == 6
    np.testing.assert_array_equal(first_pass[0], second_pass[0])


@pytest.mark.parametrize(
    "codec, copied",
    [(["-c:a", "aac"], True), (["-c:a", "pcm_s16le", "-f", "mov"], False)],
    ids=["aac-copied", "pcm-reencoded"],
)
def test_audio_from_file_is_cut_at_the_video_start(ffmpeg: str, tmp_path: Path, codec, copied) -> None:
    source = _tone_after_silence(ffmpeg, tmp_path / "source.mov", codec, silence_s=1.0, total_s=3.0)
    path = tmp_path / "out.mp4"
    # The video starts 1 s into the source: the output's audio must start with the tone, not the silence.
    with Mp4Writer(path, (96, 64), 25, audio_from=source, audio_start_s=1.0) as writer:
        for frame in _frames(50):
            writer.write(frame)
        assert writer.has_audio

    with av.open(str(path)) as container:
        assert container.streams.audio[0].codec_context.name == "aac"
    samples, rate = _audio(path)
    assert len(samples) / rate == pytest.approx(2.0, abs=0.1)  # the video's 2 s, not the source's 3 s
    assert _rms(samples[int(0.05 * rate) : int(0.2 * rate)]) > 0.2  # tone from the first frame on
    spectrum = np.abs(np.fft.rfft(samples[: rate // 2]))
    assert np.argmax(spectrum) * 2.0 == pytest.approx(TONE_HZ, abs=4)  # bins are 2 Hz wide over 0.5 s
    if copied:  # AAC is copied packet for packet, not re-encoded
        with av.open(str(source)) as src, av.open(str(path)) as out:
            src_packets = [bytes(p) for p in src.demux(src.streams.audio[0]) if p.size]
            out_packets = [bytes(p) for p in out.demux(out.streams.audio[0]) if p.size]
        assert out_packets[5:20] == src_packets[len(src_packets) - len(out_packets) + 5 :][:15]


def test_audio_from_file_without_audio_gives_no_audio_track(tmp_path: Path) -> None:
    silent_source = tmp_path / "silent.mp4"
    with Mp4Writer(silent_source, (96, 64), 25) as writer:
        writer.write(_frames(1)[0])
    path = tmp_path / "out.mp4"
    with Mp4Writer(path, (96, 64), 25, audio_from=silent_source) as writer:
        writer.write(_frames(1)[0])
        assert not writer.has_audio
    with av.open(str(path)) as container:
        assert not container.streams.audio


def test_live_audio_is_placed_by_timestamp_with_gaps_filled(tmp_path: Path) -> None:
    rate = 48000
    path = tmp_path / "live.mp4"
    block = (0.5 * np.sin(2 * np.pi * TONE_HZ * np.arange(rate // 10) / rate)).astype(np.float32)[:, None]
    with Mp4Writer(path, (96, 64), 30, live_audio=AudioFormat(rate, 1), fragmented=True) as writer:
        for index, frame in enumerate(_frames(60)):
            writer.write(frame, index / 30)
        for start_s in (0.2, 0.3, 0.4, 1.2, 1.3):  # 0.5..1.2 s: the microphone delivered nothing
            writer.write_audio(block, start_s + 0.004)  # a few ms of clock jitter stay continuous
    samples, decoded_rate = _audio(path)
    assert decoded_rate == rate

    def level(t0: float, t1: float) -> float:
        return _rms(samples[int(t0 * rate) : int(t1 * rate)])

    assert level(0.0, 0.18) < 0.01  # before the first block: silence
    assert level(0.25, 0.45) > 0.2
    assert level(0.55, 1.15) < 0.01  # the gap stays a gap: later audio keeps its own time
    assert level(1.25, 1.45) > 0.2


def test_fragmented_file_survives_a_killed_process(tmp_path: Path) -> None:
    path = tmp_path / "crash.mp4"
    script = (
        "import os, numpy as np\n"
        "from livepresenter.media import Mp4Writer\n"
        f"w = Mp4Writer({str(path)!r}, (96, 64), 25, fragmented=True)\n"
        "for i in range(75):\n"
        "    w.write(np.full((64, 96, 3), i * 3, np.uint8))\n"
        "os._exit(0)  # like kill -9: no close(), no moov index\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True)
    with av.open(str(path)) as container:
        decoded = sum(1 for _ in container.decode(video=0))
    assert decoded >= 50  # all but about the last second (one fragment per keyframe, gop = fps)


def test_odd_size_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="1281x720.*even"):
        Mp4Writer(tmp_path / "odd.mp4", (1281, 720), 25)
    assert not (tmp_path / "odd.mp4").exists()


def test_close_is_idempotent_and_final(tmp_path: Path) -> None:
    writer = Mp4Writer(tmp_path / "v.mp4", (96, 64), 25)
    writer.write(_frames(1)[0])
    writer.close()
    writer.close()
    with pytest.raises(ValueError, match="closed"):
        writer.write(_frames(1)[0])
    with pytest.raises(ValueError, match=r"\(64, 96, 3\)"):
        Mp4Writer(tmp_path / "w.mp4", (96, 64), 25).write(np.zeros((64, 64, 3), np.uint8))


def test_unreadable_videos_are_input_errors_naming_the_file(tmp_path: Path) -> None:
    garbage = tmp_path / "notes.mp4"
    garbage.write_text("this is not a video\n")
    with pytest.raises(InputError, match="notes.mp4"):
        VideoReader(garbage)
    with pytest.raises(InputError, match="missing.mp4.*does not exist"):
        VideoReader(tmp_path / "missing.mp4")


def test_reader_reports_real_clip_properties(driving_dir: Path) -> None:
    grid = VideoReader(driving_dir / "grid_bbaf2n_256.mp4")
    assert (grid.fps, grid.frame_count, grid.size, grid.has_audio) == (25, 75, (256, 256), True)
    pexels = VideoReader(driving_dir / "pexels_wolfganglanger_expressions_360.mp4")
    assert (pexels.fps, pexels.size, pexels.has_audio) == (Fraction(24000, 1001), (360, 360), False)
