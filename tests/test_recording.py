"""Recording the live session: H.264 + AAC MP4 muxed by capture time, crash-safe, marked synthetic.

The sync test records a generated clip (a white flash and a tone burst at the same instant) as both the camera
and the sound, through the real pipeline with "show my real face" on, and reads the offset back from the file.
The microphone test drives the real PortAudio path through a PulseAudio null sink started here. The error paths
(no sound, unwritable folder, full disk) must leave the live stream running and the file playable.
"""

from __future__ import annotations

import errno
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
import wave
from pathlib import Path

import av
import numpy as np
import pytest

from livepresenter.capture.audio import AudioFilePlayer, SampleClock
from livepresenter.cli.main import main
from livepresenter.errors import ExitStatus, OutputError
from livepresenter.media.mp4_writer import retag
from livepresenter.pipeline.orchestrator import LiveSettings, Orchestrator
from livepresenter.sinks.recorder import Recorder

CLIP = "grid_bbaf2n_256.mp4"  # 25 fps, 3 s, a talking head
FPS = 25
FLASH_AT_S, FLASH_S, TONE_HZ = 1.6, 0.2, 1000
SIZE = "640x360"


@pytest.fixture(autouse=True)
def runtime_dir(tmp_path_factory, monkeypatch) -> Path:
    """Each daemon gets its own control socket folder (kept short: AF_UNIX paths are limited)."""
    folder = tmp_path_factory.mktemp("rt")
    monkeypatch.setenv("LIVEPRESENTER_RUNTIME_DIR", str(folder))
    return folder


@pytest.fixture(scope="module")
def flash_clip(tmp_path_factory, driving_dir, ffmpeg) -> Path:
    """The talking head with a white flash and a 1 kHz tone burst, both at FLASH_AT_S for FLASH_S (AAC sound)."""
    out = tmp_path_factory.mktemp("clips") / "flash.mp4"
    end = FLASH_AT_S + FLASH_S
    tone = f"aevalsrc=exprs='if(between(t\\,{FLASH_AT_S}\\,{end})\\,0.5*sin(2*PI*{TONE_HZ}*t)\\,0)':s=48000:d=3"
    subprocess.run([ffmpeg, "-v", "error", "-i", str(driving_dir / CLIP), "-f", "lavfi", "-i", tone,
                    "-map", "0:v", "-map", "1:a", "-vf",
                    f"drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='between(t,{FLASH_AT_S},{end})'",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(out)], check=True)
    return out


def record_clip(clip: Path, out: Path, *extra: str) -> dict:
    """`livepresenter run` recording `clip` (camera and sound) with my real face shown; returns the stats."""
    stats = out.with_suffix(".json")
    code = main(["run", "--engine", "landmark", "--no-vcam", "--size", SIZE, "--source", str(clip), "--audio-source",
                 str(clip), "--realface", "--record", str(out), "--max-seconds", "2.6", "--stats-json", str(stats),
                 *extra])
    assert code == 0
    return json.loads(stats.read_text())


@pytest.fixture(scope="module")
def recording(tmp_path_factory, flash_clip) -> Path:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LIVEPRESENTER_RUNTIME_DIR", str(tmp_path_factory.mktemp("rt")))
        out = tmp_path_factory.mktemp("rec") / "synced.mp4"
        record_clip(flash_clip, out)
    return out


def video_frames(path: Path) -> list[tuple[float, np.ndarray]]:
    with av.open(str(path)) as container:
        return [(float(frame.time), frame.to_ndarray(format="rgb24")) for frame in container.decode(video=0)]


def audio_track(path: Path) -> tuple[np.ndarray, int, float]:
    """(mono samples, rate, time of the first sample) of the file's sound."""
    with av.open(str(path)) as container:
        frames = list(container.decode(audio=0))
    samples = np.concatenate([frame.to_ndarray()[0] for frame in frames])
    return samples, frames[0].sample_rate, float(frames[0].time)


def tone_onset(path: Path, threshold: float = 0.2) -> float:
    samples, rate, start = audio_track(path)
    loud = np.flatnonzero(np.abs(samples) > threshold)
    assert len(loud), f"no tone in {path}"
    return start + loud[0] / rate


def test_sound_and_picture_stay_in_sync(recording):
    frames = video_frames(recording)
    height, width = frames[0][1].shape[:2]
    brightness = np.array([image[height // 4:-height // 4, width // 4:-width // 4].mean() for _, image in frames])
    white = np.flatnonzero(brightness > (brightness.max() + np.median(brightness)) / 2)
    assert len(white) >= 3, "the flash did not reach the recording"
    flash = frames[white[0]][0]
    offset = flash - tone_onset(recording)
    assert abs(offset) < 1 / FPS, f"sound and picture are {offset * 1000:.0f} ms apart"


def test_recording_is_h264_aac_marked_synthetic(recording):
    with av.open(str(recording)) as container:
        codecs = sorted(stream.codec_context.name for stream in container.streams)
        tags = dict(container.metadata)
        video = container.streams.video[0]
        assert (video.codec_context.width, video.codec_context.height, video.codec_context.pix_fmt) == (640, 360,
                                                                                                        "yuv420p")
    assert codecs == ["aac", "h264"]
    from livepresenter import __version__

    assert "synthetic" in tags["title"] and "Grace Hopper" in tags["title"]
    description = dict(item.split("=", 1) for item in tags["description"].split("; "))
    assert description["synthetic"] == "yes" and description["presenter"] == "Grace Hopper"
    assert description["engine"] == "landmark" and description["generator"] == f"livepresenter {__version__}"
    assert tags["date"] == time.strftime("%Y-%m-%d", time.gmtime()) and "did not record it" in tags["comment"]


def test_label_is_in_the_recording_unless_no_label(recording, flash_clip, tmp_path):
    plain = tmp_path / "plain.mp4"
    record_clip(flash_clip, plain, "--no-label")
    labelled, unlabelled = (np.stack([image for _, image in video_frames(path)[:10]]).astype(float).mean(0)
                            for path in (recording, plain))
    diff = np.abs(labelled - unlabelled).mean(axis=2)
    assert diff[-25:, -150:].mean() > 5  # the label's corner, beside the portrait
    assert diff[:40, :120].mean() < 1  # static stage background


def recording_command(clip, out) -> list[str]:
    """`livepresenter run` recording `out`, with `clip` as both camera and microphone."""
    return [sys.executable, "-m", "livepresenter", "run", "--engine", "landmark", "--no-vcam", "--size", SIZE,
            "--source", str(clip), "--audio-source", str(clip), "--record", str(out)]


def start_recording_daemon(clip, out) -> subprocess.Popen:
    """The recording command as a separate process, returned once it says it is recording."""
    proc = subprocess.Popen(recording_command(clip, out), stderr=subprocess.PIPE, text=True)
    for line in proc.stderr:
        if "recording to" in line:
            break
    return proc


def test_kill_9_leaves_a_playable_file(flash_clip, tmp_path):
    out = tmp_path / "killed.mp4"
    proc = start_recording_daemon(flash_clip, out)
    try:
        started = time.monotonic()
        time.sleep(4.0)
        recorded_s = time.monotonic() - started
        proc.kill()
        proc.wait(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == -signal.SIGKILL
    frames = video_frames(out)
    samples, rate, _ = audio_track(out)
    assert frames[-1][0] >= recorded_s - 2.0, f"lost more than 2 s: {frames[-1][0]:.2f} s of {recorded_s:.2f} s"
    assert len(samples) / rate >= recorded_s - 2.0


def test_ctrl_c_finishes_the_recording(flash_clip, tmp_path):
    out = tmp_path / "interrupted.mp4"
    proc = start_recording_daemon(flash_clip, out)
    try:
        time.sleep(1.5)
        proc.send_signal(signal.SIGINT)
        rest = proc.communicate(timeout=30)[1]
    finally:
        proc.kill()
    assert proc.returncode == 0 and "Traceback" not in rest
    assert f"recording saved: {out}" in rest
    assert video_frames(out) and len(audio_track(out)[0]) > 0


def test_disk_full_stops_the_recording_not_the_stream(flash_clip, tmp_path):
    """RLIMIT_FSIZE stands in for a full disk: writes past it fail with EFBIG (Python ignores SIGXFSZ)."""
    out, stats = tmp_path / "full.mp4", tmp_path / "stats.json"
    limit = 400_000  # a few seconds of this recording: several whole fragments fit before the limit

    def small_disk() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = subprocess.run([*recording_command(flash_clip, out), "--max-seconds", "4", "--stats-json", str(stats)],
                          check=False, stderr=subprocess.PIPE, text=True, preexec_fn=small_disk, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    (error,) = [line for line in proc.stderr.splitlines() if "stopped" in line]
    assert str(out) in error and "size limit" in error and "live stream goes on" in error
    written = video_frames(out)  # decodes cleanly: the torn last fragment was cut off
    assert written and out.stat().st_size <= limit
    # The file filled up about a second into a 4 s run: the stream went on for at least as long again.
    assert json.loads(stats.read_text())["frames_output"] >= 2 * len(written), "the stream stopped with the recording"


def test_unwritable_folder_is_one_line_and_the_stream_goes_on(flash_clip, tmp_path, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    stats = tmp_path / "stats.json"
    code = main(["run", "--engine", "landmark", "--no-vcam", "--size", SIZE, "--source", str(flash_clip),
                 "--record", str(blocker / "out.mp4"), "--max-seconds", "1.5", "--stats-json", str(stats)])
    assert code == 0 and json.loads(stats.read_text())["frames_output"] > 0
    (error,) = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert error == (f"cannot write {blocker / 'out.mp4'}: folder {blocker} is not a folder (a file stands in its "
                     "path); streaming without recording")


@pytest.mark.parametrize("force", [False, True])
def test_recording_onto_the_source_clip_is_refused_before_going_live(force, driving_dir, tmp_path, capsys):
    clip, alias = tmp_path / "lecture.mp4", tmp_path / "sub" / ".." / "lecture.mp4"
    shutil.copy(driving_dir / CLIP, clip)
    (tmp_path / "sub").mkdir()
    code = main(["run", "--engine", "landmark", "--no-vcam", "--size", SIZE, "--source", str(clip),
                 "--record", str(alias), "--max-seconds", "1.5", *(["--force"] if force else [])])
    (error,) = capsys.readouterr().err.strip().splitlines()
    assert code == ExitStatus.BAD_INPUT
    assert error.startswith(f"livepresenter: error: {alias} is the --source video ({clip}): choose another output")
    assert clip.read_bytes() == (driving_dir / CLIP).read_bytes()


def test_run_record_replaces_an_existing_file_only_with_force(flash_clip, tmp_path, capsys):
    out = tmp_path / "lecture.mp4"
    out.write_bytes(b"yesterday's lecture")
    args = ["run", "--engine", "landmark", "--no-vcam", "--size", SIZE, "--source", str(flash_clip),
            "--record", str(out), "--max-seconds", "1.5"]
    assert main(args) == ExitStatus.BAD_INPUT
    (error,) = capsys.readouterr().err.strip().splitlines()
    assert error.startswith(f"livepresenter: error: {out} exists: pass --force") and out.read_bytes() == \
        b"yesterday's lecture"
    assert main([*args, "--force"]) == 0
    assert video_frames(out)


@pytest.mark.parametrize("audio", ["missing.wav", "silent.mp4"])
def test_unusable_audio_file_is_one_line_before_going_live(audio, tmp_path, ffmpeg, capsys):
    silent = tmp_path / "silent.mp4"
    subprocess.run([ffmpeg, "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=64x64:rate=10", "-t", "0.5",
                    "-pix_fmt", "yuv420p", str(silent)], check=True)
    code = main(["run", "--no-vcam", "--source", str(silent), "--audio-source", str(tmp_path / audio),
                 "--record", str(tmp_path / "out.mp4")])
    (error,) = capsys.readouterr().err.strip().splitlines()
    assert code == ExitStatus.BAD_INPUT and str(tmp_path / audio) in error
    assert ("does not exist" if audio == "missing.wav" else "has no sound") in error


@pytest.fixture
def live(tmp_path):
    """The idle presenter streaming (no camera, no virtual camera), small and cheap."""
    orchestrator = Orchestrator(LiveSettings(source=None, engine="landmark", vcam=False, size=(320, 240)))
    orchestrator.start()
    try:
        yield orchestrator
    finally:
        orchestrator.close()


def wait_for_first_frame(orchestrator: Orchestrator) -> float:
    deadline = time.monotonic() + 30
    while orchestrator.recorder.started_at is None:
        assert time.monotonic() < deadline, "no frame reached the recording"
        time.sleep(0.02)
    return orchestrator.recorder.started_at


@pytest.mark.parametrize("missing", ["portaudio", "microphone"])
def test_no_sound_records_video_only_and_says_so_once(live, missing, monkeypatch, tmp_path, caplog):
    if missing == "portaudio":
        monkeypatch.setitem(sys.modules, "sounddevice", None)  # import fails as it does without libportaudio2
    else:
        monkeypatch.setenv("PULSE_SERVER", f"unix:{tmp_path / 'no-sound-server'}")  # no server, no sound card
    paths = [tmp_path / "first.mp4", tmp_path / "second.mp4"]
    for path in paths:
        assert live.start_recording(path) == path
        assert live.status()["recording"] == str(path)
        wait_for_first_frame(live)
        assert live.stop_recording() == path
        assert live.status()["recording"] is None
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING" and "video only" in r.getMessage()]
    expected = "PortAudio is not installed" if missing == "portaudio" else "no microphone was found"
    assert len(warnings) == 1 and warnings[0].startswith(expected)
    for path in paths:
        with av.open(str(path)) as container:
            assert not container.streams.audio
        assert video_frames(path)


def test_start_and_stop_while_live(live, tmp_path, monkeypatch):
    monkeypatch.setattr("platformdirs.user_videos_dir", lambda: str(tmp_path / "Videos"))
    assert live.stop_recording() is None
    path = live.start_recording()
    assert path.parent == tmp_path / "Videos" / "livepresenter" and path.suffix == ".mp4"
    with pytest.raises(OutputError, match=f"^already recording to {path}: stop that recording first"):
        live.start_recording(tmp_path / "other.mp4")
    assert not (tmp_path / "other.mp4").exists()
    wait_for_first_frame(live)
    assert live.stop_recording() == path and live.stop_recording() is None
    with pytest.raises(OutputError, match=f"^cannot write {path}/inside-a-file.mp4: folder {path} is not a folder"):
        live.start_recording(path / "inside-a-file.mp4")
    assert live.status()["recording"] is None and live.stats.frames_output > 0


def test_a_switch_while_recording_names_every_presenter_in_the_tags(live, portraits_dir, tmp_path):
    path = live.start_recording(tmp_path / "switch.mp4")
    wait_for_first_frame(live)
    name = live.switch_presenter(str(portraits_dir / "einstein_1947_orren_jack_turner.jpg"))
    recorder = live.recorder
    switched_at = recorder.frames_written
    deadline = time.monotonic() + 30
    while recorder.frames_written < switched_at + 10:
        assert time.monotonic() < deadline, "no frames reached the recording after the switch"
        time.sleep(0.02)
    assert live.stop_recording() == path
    with av.open(str(path)) as container:
        tags = dict(container.metadata)
    assert tags["title"] == f"Grace Hopper and {name} (synthetic video)"
    assert "re-enactment of Grace Hopper and " + name in tags["comment"]
    assert f"presenter=Grace Hopper; presenter={name}; engine=landmark;" in tags["description"]
    assert len(video_frames(path)) == recorder.frames_written  # the copy kept every frame
    assert sorted(tmp_path.iterdir()) == [path]  # and left nothing beside it


def test_retagging_on_a_full_disk_leaves_the_file_as_it_was(recording, tmp_path):
    """The finished file is copied to change its tags; when the copy cannot be written the original stays."""
    copy = tmp_path / "rec.mp4"
    shutil.copy(recording, copy)
    before = copy.read_bytes()
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (len(before) // 2, hard))  # Python ignores SIGXFSZ: writes get EFBIG
    try:
        with pytest.raises(OSError):
            retag(copy, {"title": "someone else"})
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert copy.read_bytes() == before and sorted(tmp_path.iterdir()) == [copy]


def test_tags_that_cannot_be_rewritten_are_said_in_one_line(tmp_path, monkeypatch, caplog):
    def full_disk(path, metadata):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("livepresenter.sinks.recorder.retag", full_disk)
    path = tmp_path / "rec.mp4"
    recorder = Recorder(path, (64, 48), FPS, metadata={"title": "first"})
    for index in range(10):
        recorder.send(np.full((48, 64, 3), 20 * index, np.uint8), index / FPS)
    recorder.close(metadata={"title": "everyone"})
    (warning,) = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warning == f"recording {path} keeps the tags it started with: rewriting them failed (the disk is full)"
    with av.open(str(path)) as container:
        assert container.metadata["title"] == "first"
    assert len(video_frames(path)) == 10 and not recorder.failed


class PulseServer:
    """A PulseAudio daemon whose default microphone hears what is played into its null sink; stopping it is what
    PortAudio sees when the only microphone is unplugged."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.socket = folder / "native"
        (folder / "null.pa").write_text(
            f"load-module module-native-protocol-unix auth-anonymous=1 socket={self.socket}\n"
            "load-module module-null-sink sink_name=vsink rate=48000 channels=1\n"
            "set-default-sink vsink\nset-default-source vsink.monitor\n")
        self._daemon: subprocess.Popen | None = None

    def start(self) -> None:
        self.socket.unlink(missing_ok=True)
        env = {**os.environ, "HOME": str(self.folder), "XDG_RUNTIME_DIR": str(self.folder)}
        self._daemon = subprocess.Popen(["pulseaudio", "-n", "-F", str(self.folder / "null.pa"),
                                         "--exit-idle-time=-1", "--daemonize=no"], env=env, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while not self.socket.exists():
            assert self._daemon.poll() is None and time.monotonic() < deadline, "pulseaudio did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        if self._daemon is None:
            return
        daemon, self._daemon = self._daemon, None
        os.kill(daemon.pid, signal.SIGTERM)
        try:
            daemon.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(daemon.pid, signal.SIGKILL)
            daemon.wait()


@pytest.fixture
def pulse_null_sink(tmp_path_factory, monkeypatch):
    if shutil.which("pulseaudio") is None:
        pytest.skip("pulseaudio is not installed (scripts/setup.sh test installs it)")
    pytest.importorskip("sounddevice", reason="needs libportaudio2 (scripts/setup.sh installs it)")
    server = PulseServer(tmp_path_factory.mktemp("pulse"))
    server.start()
    try:
        monkeypatch.setenv("PULSE_SERVER", f"unix:{server.socket}")
        yield server
    finally:
        server.stop()


def play_tone(after_s: float, length_s: float = 0.3) -> float:
    """Play a tone into the null sink `after_s` seconds from now; returns the time.monotonic() at which its first
    sample reaches the sink: when it was handed to PortAudio, plus the stream's output latency (its buffer)."""
    import sounddevice as sd

    rate = 48000
    start = round(after_s * rate)
    tone = 0.5 * np.sin(2 * np.pi * TONE_HZ * np.arange(round(length_s * rate)) / rate)
    played = {"samples": 0, "onset": None}

    def fill(out: np.ndarray, frames: int, _time, _status) -> None:
        first = played["samples"]
        index = np.arange(first, first + frames) - start
        inside = (index >= 0) & (index < len(tone))
        out[:, 0] = np.where(inside, tone[np.clip(index, 0, len(tone) - 1)], 0)
        if played["onset"] is None and inside.any():
            played["onset"] = time.monotonic() + np.argmax(inside) / rate
        played["samples"] += frames

    with sd.OutputStream(device="pulse", channels=1, samplerate=rate, blocksize=1024, latency="low",
                         callback=fill) as stream:
        while played["samples"] < start + len(tone) + rate // 2:
            time.sleep(0.05)
    assert played["onset"] is not None
    return played["onset"] + stream.latency


def test_microphone_tone_lands_at_the_right_time(pulse_null_sink, live, tmp_path):
    path = live.start_recording(tmp_path / "mic.mp4")
    started_at = wait_for_first_frame(live)
    played_at = play_tone(after_s=1.5)  # the first second of a PulseAudio stream may come late
    live.stop_recording()
    error = tone_onset(path) - (played_at - started_at)
    # The null sink renders in blocks of about 14 ms and the player's own callbacks jitter under load: measured
    # -8..+43 ms on a loaded 2-core machine. Stamping by PortAudio's ADC time instead was 80..570 ms off.
    assert abs(error) < 0.08, f"the tone is {error * 1000:.0f} ms off in the recording"


def wait_for_log(caplog, text: str, within_s: float) -> None:
    deadline = time.monotonic() + within_s
    while not any(text in record.getMessage() for record in caplog.records):
        assert time.monotonic() < deadline, f"nobody said {text!r}"
        time.sleep(0.1)


def test_microphone_unplugged_mid_recording_is_said_and_comes_back(pulse_null_sink, live, tmp_path, caplog):
    """The only microphone goes away mid-recording (its sound server stops): the recording goes on, says so once,
    and when the microphone is back its sound lands in the recording at the right time."""
    path = live.start_recording(tmp_path / "unplugged.mp4")
    started_at = wait_for_first_frame(live)
    time.sleep(2.0)  # the stream is running
    pulse_null_sink.stop()
    frames_when_unplugged = live.stats.frames_output
    wait_for_log(caplog, "stopped sending sound (unplugged?)", within_s=15)
    pulse_null_sink.start()
    wait_for_log(caplog, "sound is back in the recording", within_s=20)
    assert live.stats.frames_output > frames_when_unplugged  # the picture went on while the sound was gone
    played_at = play_tone(after_s=0.5)
    live.stop_recording()
    assert sum("stopped sending sound" in record.getMessage() for record in caplog.records) == 1
    error = tone_onset(path) - (played_at - started_at)
    assert abs(error) < 0.08, f"the tone after the microphone came back is {error * 1000:.0f} ms off"


def test_sample_clock_takes_the_earliest_consistent_arrival():
    rate, block, start = 48000, 1024, 100.0
    clock = SampleClock(rate)
    stamps = []
    for index in range(40):  # delivered in pairs, 3 ms after the second block of each pair was captured
        pair_end = start + (index // 2 * 2 + 2) * block / rate
        stamps.append(clock.stamp(pair_end + 0.003, block))
    truth = start + np.arange(40) * block / rate
    assert np.abs(np.array(stamps[1:]) - truth[1:]).max() < 0.0031  # only the very first block is stamped late


def test_audio_file_plays_on_the_shared_clock_and_loops(tmp_path):
    rate = 8000
    ramp = (np.arange(rate) * 4).astype(np.int16)  # 1 s: every sample tells its own position
    path = tmp_path / "ramp.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(ramp.tobytes())
    clock_start = time.monotonic() - 2.9  # two loops and 0.9 s in: the next 0.2 s cross the loop point
    player = AudioFilePlayer(path, clock_start)
    try:
        blocks = [player.read(timeout=1.0) for _ in range(10)]
    finally:
        player.close()
    assert player.audio_format.sample_rate_hz == rate and player.audio_format.channels == 1
    first = round((blocks[0].timestamp - clock_start) * rate)
    samples = np.concatenate([b.samples[:, 0] for b in blocks])
    expected = ramp[np.arange(first, first + len(samples)) % rate] / 32768
    np.testing.assert_allclose(samples, expected, atol=1e-6)
    stamps = np.array([b.timestamp for b in blocks])
    np.testing.assert_allclose(np.diff(stamps), [len(b.samples) / rate for b in blocks[:-1]], atol=1e-9)
