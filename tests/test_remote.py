"""Remote GPU mode: the batched session animator, the wire rules, and a real Triton server (PyTriton, in the server's
own environment from `scripts/setup.sh serve`) on 127.0.0.1 with the small FOMM checkpoint, driven by real clients and
by the live pipeline (a clip as the camera, the virtual-camera test backend)."""

from __future__ import annotations

import logging
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from livepresenter.errors import ConfigError, ExitStatus
from livepresenter.fomm import Animator, load_fomm
from livepresenter.fomm.random_weights import synthetic_frames
from livepresenter.fomm.sessions import SessionAnimator
from livepresenter.remote.protocol import decode_jpeg, encode_jpeg, is_loopback, parse_server, read_token

CLIP = "grid_bbaf2n_256.mp4"


@pytest.fixture(scope="module")
def small(fomm_fixtures):
    checkpoint, config = fomm_fixtures / "dev-small-cpk.pth.tar", fomm_fixtures / "dev-small.yaml"
    return checkpoint, config, load_fomm(checkpoint, config)


# -- the batched animator ----------------------------------------------------------------------------------------------
def test_a_batch_of_sessions_animates_as_each_alone(small):
    *_, model = small
    frames = synthetic_frames(8, model.image_size)
    sessions = SessionAnimator(model)
    sessions.set_source("a", frames[0])
    sessions.set_source("b", frames[1])
    sessions.set_reference("a", frames[2])
    sessions.set_reference("b", frames[3])
    out = sessions.animate(["a", "b", "gone", "a"], [frames[4], frames[5], frames[6], frames[7]])
    assert out[2] is None  # an unknown session: the client is told to send its presenter again
    for (source, reference, driving), got in zip([(0, 2, 4), (1, 3, 5), (0, 2, 7)], [out[0], out[1], out[3]]):
        alone = Animator(model)
        alone.set_source(frames[source])
        alone.set_reference(frames[reference])
        expected = alone.animate(frames[driving])
        assert np.abs(expected.astype(int) - got.astype(int)).max() <= 1
    # The two sessions really differ (a batch that mixed up rows would not).
    assert np.abs(out[0].astype(int) - out[1].astype(int)).mean() > 5
    # Crops of different sizes in one batch (each size uploaded as one block) come back in the order asked.
    small_crop = synthetic_frames(1, 200)[0]
    mixed = sessions.animate(["a", "b", "a"], [frames[4], small_crop, frames[7]])
    assert np.abs(mixed[0].astype(int) - out[0]).max() <= 1 and np.abs(mixed[2].astype(int) - out[3]).max() <= 1
    alone = Animator(model)
    alone.set_source(frames[1])
    alone.set_reference(frames[3])
    assert np.abs(alone.animate(small_crop).astype(int) - mixed[1]).max() <= 1


def test_sessions_expire_when_idle_and_beyond_the_cap(small):
    *_, model = small
    frames = synthetic_frames(3, model.image_size)
    now = [0.0]
    sessions = SessionAnimator(model, idle_expiry_s=10, max_sessions=2, clock=lambda: now[0])
    for name in "abc":
        sessions.set_source(name, frames[0])
    assert "a" not in sessions and len(sessions) == 2  # the least recently used went first
    now[0] = 5
    sessions.animate(["b"], [frames[1]])
    now[0] = 12
    assert sessions.animate(["b", "c"], [frames[1], frames[2]])[1] is None  # c idle 12 s: gone; b used at 5 s
    assert "b" in sessions and "c" not in sessions
    assert sessions.set_reference("c", frames[1]) is False


# -- what crosses the network -----------------------------------------------------------------------------------------
def test_server_addresses_tokens_and_images(tmp_path):
    assert parse_server("gpu.example.edu:9001") == ("gpu.example.edu", 9001)
    assert parse_server("gpu") == ("gpu", 8001)
    assert parse_server("[::1]:8001") == ("::1", 8001)
    for bad in ("gpu:http", "gpu:0", ":8001", "gpu:70000"):
        with pytest.raises(ConfigError, match="HOST:PORT"):
            parse_server(bad)
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.1.2.3") and not is_loopback("gpu.example.edu")
    token = tmp_path / "token"
    token.write_text("s3cret-value\n")
    assert read_token(token) == "s3cret-value"
    token.write_text("\n")
    with pytest.raises(ConfigError, match="is empty"):
        read_token(token)
    with pytest.raises(ConfigError, match="cannot read") as missing:
        read_token(tmp_path / "nope")
    assert "s3cret" not in str(missing.value)
    image = (np.indices((64, 64, 3)).sum(0) * 3 % 256).astype(np.uint8)
    assert np.abs(decode_jpeg(encode_jpeg(image)).astype(int) - image).mean() < 6
    with pytest.raises(ValueError, match="not a JPEG"):
        decode_jpeg(b"\x00" * 100)


# -- a real server ------------------------------------------------------------------------------------------------------
def _server_environment_missing() -> str | None:
    if platform.system() != "Linux" or platform.machine() != "x86_64":
        return f"PyTriton's Triton server runs on Linux x86_64 only, not {platform.system()} {platform.machine()}"
    return None


pytestmark_server = pytest.mark.skipif(_server_environment_missing() is not None,
                                       reason=_server_environment_missing() or "")


@pytest.fixture(scope="module")
def server(small):
    from livepresenter.remote.process import ServerProcess

    checkpoint, config, _ = small
    with ServerProcess(checkpoint, config, extra=("--precision", "fp32")) as started:
        yield started


@pytestmark_server
def test_serve_refuses_other_addresses_without_a_token(small):
    from livepresenter.remote.environment import server_command

    checkpoint, config, _ = small
    done = subprocess.run(server_command("--host", "0.0.0.0", "--checkpoint", str(checkpoint), "--fomm-config",
                                         str(config)), capture_output=True, text=True, timeout=120)
    assert done.returncode == ExitStatus.USAGE
    assert done.stderr.strip().splitlines() == [
        "livepresenter: error: serving on 0.0.0.0 needs a token: pass --token-file FILE (a long random line, e.g. "
        "`python -c 'import secrets; print(secrets.token_urlsafe(32))' > FILE`), or bind 127.0.0.1"]


@pytestmark_server
def test_serve_hands_itself_to_the_server_environment(small, tmp_path):
    """`livepresenter serve` from the project's own environment (no PyTriton there) runs in the server's."""
    checkpoint, config, _ = small
    done = subprocess.run([sys.executable, "-m", "livepresenter", "serve", "--host", "10.0.0.1", "--checkpoint",
                           str(checkpoint)], capture_output=True, text=True, timeout=120)
    assert done.returncode == ExitStatus.USAGE and "serving on 10.0.0.1 needs a token" in done.stderr


@pytestmark_server
def test_frames_come_back_animated_like_the_local_model(server, small):
    from livepresenter.remote.client import RemoteAnimator

    *_, model = small
    frames = synthetic_frames(12, 256)
    remote = RemoteAnimator(server.address, server.token)
    remote.set_source(frames[0])
    remote.set_reference(frames[1])
    local = Animator(model)  # fed what the server decodes: the same JPEGs
    local.set_source(decode_jpeg(encode_jpeg(frames[0])))
    local.set_reference(decode_jpeg(encode_jpeg(frames[1])))
    deadline = time.monotonic() + 30
    got = None
    while got is None and time.monotonic() < deadline:  # the presenter reaches the server first
        got = remote.animate(frames[2])
        time.sleep(0.02)
    answered = [remote.animate(f) for f in frames[2:]]
    remote.close()
    assert got is not None and remote.rtt_ms is not None and remote.rtt_ms > 0
    assert all(a is not None for a in answered), remote.reason
    for frame, crop in zip(frames[2:], answered):
        expected = decode_jpeg(encode_jpeg(local.animate(decode_jpeg(encode_jpeg(frame)))))  # JPEG both ways
        assert crop.shape == expected.shape == (model.image_size, model.image_size, 3)
        assert np.abs(crop.astype(int) - expected).mean() < 1


@pytestmark_server
def test_a_wrong_or_missing_token_is_refused(server):
    from livepresenter.remote.client import RemoteAnimator

    frames = synthetic_frames(3, 256)
    for token in ("wrong-token", None):
        remote = RemoteAnimator(server.address, token)
        remote.set_source(frames[0])
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            assert remote.animate(frames[1]) is None
            if remote.reason == "the server refused the token (check --token-file)":
                break
            time.sleep(0.05)
        assert remote.reason == "the server refused the token (check --token-file)"
        remote.close()
    assert server.token not in server.log.read_text(errors="replace")


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory, driving_dir, ffmpeg) -> Path:
    out = tmp_path_factory.mktemp("clips") / "long.mp4"
    subprocess.run([ffmpeg, "-v", "error", "-stream_loop", "8", "-i", str(driving_dir / CLIP), "-an", "-c:v",
                    "libx264", "-pix_fmt", "yuv420p", str(out)], check=True)
    return out


def _until(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytestmark_server
def test_live_stream_survives_the_server_dying_and_returns_to_it(vcam, small, long_clip, caplog):
    from livepresenter.pipeline.orchestrator import LiveSettings, Orchestrator
    from livepresenter.remote.process import ServerProcess

    caplog.set_level(logging.INFO, logger="livepresenter.engine.remote_engine")
    checkpoint, config, _ = small
    first = ServerProcess(checkpoint, config, extra=("--precision", "fp32")).start()
    second = None
    orchestrator = Orchestrator(LiveSettings(source=str(long_clip), engine="remote", server=first.address,
                                             token_file=str(first.token_file), size=(640, 360)))
    try:
        orchestrator.start()
        engine = orchestrator.presenter.engine
        assert engine.name == "remote"
        assert _until(lambda: engine.on_server is True, 30), engine.remote.reason
        status = orchestrator.status()
        assert status["engine"] == "remote" and status["engine_detail"]["on_server"] is True
        assert status["engine_detail"]["round_trip_ms"] > 0
        assert status["engine_detail"]["server"] == first.address

        first.kill()
        killed_at = time.monotonic()
        (camera,) = vcam.instances
        sent = len(camera.frames)
        assert _until(lambda: engine.on_server is False, 1.5)  # within a second and a bit of tracking
        assert time.monotonic() - killed_at < 1.5
        assert _until(lambda: len(camera.frames) > sent + 20, 5)  # the stream goes on: the landmark engine
        assert orchestrator.status()["engine_detail"]["fallback_reason"] == "server unreachable"

        second = ServerProcess(checkpoint, config, port=first.port, token=first.token,
                               extra=("--precision", "fp32")).start()
        assert _until(lambda: engine.on_server is True, 20), engine.remote.reason  # presenter sent again
        frames_back = len(camera.frames)
        assert _until(lambda: len(camera.frames) > frames_back + 10, 5)
    finally:
        orchestrator.stop()
        orchestrator.close()
        for started in (first, second):
            if started is not None:
                started.stop()
    messages = [r.getMessage() for r in caplog.records if r.name == "livepresenter.engine.remote_engine"]
    fallbacks = [m for m in messages if "showing the local landmark engine" in m]
    assert len(fallbacks) == 1, messages  # said once, not per frame
    assert any(m.startswith(f"remote FOMM on {first.address} again") for m in messages), messages
    assert first.token not in "\n".join(messages)


@pytestmark_server
def test_render_through_the_server_waits_for_every_frame(server, driving_dir, portraits_dir, tmp_path, caplog):
    from livepresenter.media.video_reader import VideoReader
    from livepresenter.render import RenderSettings, render_video

    out = tmp_path / "remote.mp4"
    settings = RenderSettings(engine="remote", server=server.address, token_file=str(server.token_file),
                              layout="portrait", label=False)
    result = render_video(str(portraits_dir / "einstein_1947_orren_jack_turner.jpg"), driving_dir / CLIP, out,
                          settings, progress=False)
    assert result.engine == "remote" and result.frames == 75
    assert len(list(VideoReader(out).frames())) == 75
    # Offline, no frame came from the local engine: it was never said to fall back.
    assert not [r for r in caplog.records if "showing the local landmark engine" in r.getMessage()]


@pytestmark_server
def test_tls_server_answers_clients_that_trust_its_certificate(small, tmp_path):
    from livepresenter.remote.client import RemoteAnimator
    from livepresenter.remote.process import ServerProcess

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    checkpoint, config, _ = small
    frames = synthetic_frames(3, 256)
    with ServerProcess(checkpoint, config, extra=("--tls-cert", str(cert), "--tls-key", str(key))) as server:
        answers = {}
        for name, tls_ca in (("trusting", cert), ("plain", None)):
            remote = RemoteAnimator(server.address, server.token, tls_ca=tls_ca, offline=True, deadline_s=10)
            remote.set_source(frames[0])
            answers[name] = remote.animate(frames[1]), remote.reason
            remote.close()
    assert answers["trusting"][0] is not None, answers["trusting"][1]
    assert answers["plain"][0] is None and answers["plain"][1] == "server unreachable"


def test_no_server_at_all_streams_the_landmark_engine_and_says_so_once(vcam, driving_dir, caplog):
    from livepresenter.pipeline.orchestrator import LiveSettings, Orchestrator
    from livepresenter.remote.protocol import free_port

    caplog.set_level(logging.INFO, logger="livepresenter.engine.remote_engine")
    address = f"127.0.0.1:{free_port()}"  # nobody listens there
    orchestrator = Orchestrator(LiveSettings(source=str(driving_dir / CLIP), engine="remote", server=address,
                                             size=(640, 360)))
    try:
        orchestrator.start()
        (camera,) = vcam.instances
        assert _until(lambda: len(camera.frames) > 40, 10)  # 2.5 s of reconnect attempts, once a second
        detail = orchestrator.status()["engine_detail"]
    finally:
        orchestrator.stop()
        orchestrator.close()
    assert detail == {"server": address, "on_server": False, "round_trip_ms": None,
                      "fallback_reason": "server unreachable"}
    messages = [r.getMessage() for r in caplog.records if r.name == "livepresenter.engine.remote_engine"]
    assert messages == [f"remote server {address}: server unreachable; showing the local landmark engine until it "
                        "answers again"]
