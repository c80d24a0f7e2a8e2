"""The control interface against real daemons: `livepresenter run` on a video file as a subprocess (CLI verbs,
robustness, quit), and an in-process one streaming into the recording virtual camera (switch without a glitch).

Runtime folders are short temporary folders (AF_UNIX paths are limited to 108 bytes) and data folders are
temporary, so the tests never touch $HOME or a daemon the developer is running.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from livepresenter.cli.main import main
from livepresenter.control import endpoint
from livepresenter.control.client import ControlClient, request
from livepresenter.control.protocol import (
    MAX_NESTING,
    MAX_REQUEST_BYTES,
    DaemonError,
    DaemonNotRunningError,
    DaemonRunningError,
)
from livepresenter.control.server import MAX_CONNECTIONS, SEND_TIMEOUT_S, ControlServer
from livepresenter.errors import ConfigError, ExitStatus
from livepresenter.presenter import profiles
from tests.daemon_testing import (
    held_connections,
    open_connection,
    proc_status,
    running_daemon,
    short_runtime_dir,
    wait_for,
    write_profile,
)

CLIP = "grid_bbaf2n_256.mp4"
EINSTEIN = "einstein_1947_orren_jack_turner.jpg"
STATUS_FIELDS = {"presenter", "engine", "fps", "latency_ms", "recording", "vcam", "realface", "paused"}
QUIT_EXIT_S = 2.0
"""`quit` ends the daemon's process within this, whatever its clients do."""


@pytest.fixture
def runtime(monkeypatch) -> Path:
    folder = short_runtime_dir()
    monkeypatch.setenv(endpoint.RUNTIME_DIR_ENV, str(folder))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


# -- endpoint: folders, stale sockets, one daemon at a time ----------------------------------------------------

def test_runtime_folder_falls_back_to_a_private_temp_folder(tmp_path, monkeypatch):
    monkeypatch.delenv(endpoint.RUNTIME_DIR_ENV, raising=False)
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    expected = tmp_path / f"livepresenter-{os.getuid()}"
    expected.mkdir(mode=0o755)
    expected.chmod(0o755)
    assert endpoint.runtime_dir(create=True) == expected
    assert stat.S_IMODE(expected.stat().st_mode) == 0o700
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "xdg"))
    assert endpoint.runtime_dir() == tmp_path / "xdg" / "livepresenter"


def test_socket_path_must_fit_af_unix(tmp_path):
    with pytest.raises(ConfigError, match="longer than AF_UNIX allows"):
        endpoint.Address(tmp_path / ("x" * 120))


def test_stale_socket_is_replaced_and_a_second_daemon_refused(runtime):
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(runtime / "control.sock"))
    stale.close()  # a crashed daemon leaves its socket file behind: nothing listens on it
    with pytest.raises(DaemonNotRunningError):
        request("status")
    first = ControlServer.listen(runtime)
    try:
        assert stat.S_IMODE((runtime / "control.sock").stat().st_mode) == 0o600
        with pytest.raises(DaemonRunningError, match="already running"):
            ControlServer.listen(runtime)
    finally:
        first.close()
    assert not (runtime / "control.sock").exists()
    ControlServer.listen(runtime).close()  # the lock was released


def test_a_connect_waits_while_the_listen_backlog_is_full(runtime):
    """A Unix socket refuses a connect at once (EAGAIN) while its backlog is full: the client tries again until the
    daemon has accepted the burst, instead of saying that no daemon runs."""
    with socket.socket(socket.AF_UNIX) as listener, socket.socket(socket.AF_UNIX) as first:
        listener.bind(str(runtime / "control.sock"))
        listener.listen(0)
        first.connect(str(runtime / "control.sock"))  # the backlog is full now
        accept_later = threading.Timer(0.5, listener.accept)
        accept_later.start()
        try:
            sock, token = endpoint.connect(endpoint.Address(runtime), timeout_s=30)
        finally:
            accept_later.join()
        sock.close()
    assert token is None


@pytest.mark.parametrize("verb", [["status"], ["switch", "einstein"], ["record", "start"], ["pause"], ["quit"],
                                  ["realface", "on"]])
def test_without_a_daemon_verbs_say_so_in_one_line(runtime, capsys, verb):
    assert main(verb) == ExitStatus.DAEMON_NOT_RUNNING
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "no livepresenter daemon is running" in line and "livepresenter run" in line


def test_without_unix_sockets_localhost_with_a_token(runtime, monkeypatch):
    """Windows has no AF_UNIX: 127.0.0.1 on a random port, with a token only the user can read."""

    class Orchestrator:
        def status(self) -> dict:
            return {"presenter": "Grace Hopper"}

    monkeypatch.setattr(endpoint, "UNIX_SOCKETS", False)
    server, stop = ControlServer.listen(runtime), threading.Event()
    thread = threading.Thread(target=server.serve, args=(Orchestrator(), stop))
    thread.start()
    try:
        info_path = runtime / "control.json"
        assert stat.S_IMODE(info_path.stat().st_mode) == 0o600
        assert request("status")["presenter"] == "Grace Hopper"
        port = json.loads(info_path.read_text())["port"]
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b'{"cmd": "status", "token": "guess"}\n')
            assert json.loads(sock.makefile("rb").readline()) == {
                "ok": False, "error": "missing or wrong token: read it from the daemon's control.json"}
    finally:
        stop.set()
        thread.join()
        server.close()
    assert not info_path.exists()


def test_a_full_server_hangs_up_the_connection_waiting_longest_or_says_it_is_busy(runtime):
    """At MAX_CONNECTIONS, a new connection hangs up the one that has waited longest for its client; when every
    connection is running a command, the new one is told so in one line instead."""

    class SlowOrchestrator:
        def __init__(self) -> None:
            self.running = 0
            self.release = threading.Event()

        def status(self) -> dict:
            self.running += 1
            self.release.wait(30)
            return {"presenter": "Grace Hopper"}

    orchestrator, server, stop = SlowOrchestrator(), ControlServer.listen(runtime), threading.Event()
    thread = threading.Thread(target=server.serve, args=(orchestrator, stop))
    thread.start()
    path = runtime / "control.sock"
    try:
        with held_connections(path, MAX_CONNECTIONS) as connections, open_connection(path) as newest:
            assert connections[0].recv(1) == b""  # the oldest was hung up to admit the newest
            busy = [*connections[1:], newest]
            for connection in busy:
                connection.sendall(b'{"cmd": "status"}\n')
            wait_for(lambda: orchestrator.running == MAX_CONNECTIONS, "every connection to run a command")
            with open_connection(path) as refused:
                assert json.loads(refused.makefile("rb").readline()) == {
                    "ok": False, "error": f"the daemon is busy: {MAX_CONNECTIONS} connections are running commands; "
                                          "try again in a moment"}
            orchestrator.release.set()
            for connection in busy:
                assert json.loads(connection.makefile("rb").readline())["presenter"] == "Grace Hopper"
    finally:
        orchestrator.release.set()
        stop.set()
        thread.join()
        server.close()


# -- a real daemon: `livepresenter run` on a video file --------------------------------------------------------

@pytest.fixture(scope="module")
def live_source(driving_dir, tmp_path_factory) -> Path:
    """The daemon's --source: a copy, so that a recording wrongly written over it could never harm tests/data."""
    path = tmp_path_factory.mktemp("source") / "lecture.mp4"
    shutil.copy(driving_dir / CLIP, path)
    return path


@pytest.fixture(scope="module")
def videos_dir(tmp_path_factory) -> Path:
    """The daemon's Videos folder ($XDG_VIDEOS_DIR), where unnamed recordings go."""
    return tmp_path_factory.mktemp("videos")


@pytest.fixture(scope="module")
def daemon(live_source, videos_dir, portraits_dir, tmp_path_factory):
    """`livepresenter run` as a separate process, with an Einstein user profile."""
    runtime, data = short_runtime_dir(), tmp_path_factory.mktemp("data")
    write_profile(data, "einstein", "Albert Einstein", portraits_dir / EINSTEIN)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(endpoint.RUNTIME_DIR_ENV, str(runtime))
        patch.setenv(profiles.DATA_DIR_ENV, str(data))
        patch.setenv("XDG_VIDEOS_DIR", str(videos_dir))
        with running_daemon(live_source, tmp_path_factory.mktemp("log") / "daemon.log") as daemon:
            yield daemon
    shutil.rmtree(runtime, ignore_errors=True)


def connect(daemon) -> tuple[socket.socket, object]:
    sock = open_connection(daemon.runtime / "control.sock")
    return sock, sock.makefile("rb")


def still_streaming(daemon) -> None:
    status = request("status")
    assert daemon.process.poll() is None and status["fps"] > 0


def test_status_has_every_field(daemon, capsys):
    assert main(["status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert STATUS_FIELDS <= set(status) and status["pid"] == daemon.process.pid
    assert (status["presenter"], status["engine"], status["vcam"]) == ("Grace Hopper", "landmark", False)
    assert main(["status"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["presenter", "Grace", "Hopper"] and lines[3].startswith("latency")


def test_bad_requests_get_error_answers_and_the_connection_stays_usable(daemon):
    sock, reader = connect(daemon)
    with sock:
        for line, error in [(b"not json", "malformed message"), (b"[1, 2]", "expected a JSON object"),
                            (b"\xff\xfe", "malformed message"), (b'{"cmd": "dance"}', "unknown command 'dance'"),
                            (b'{"verb": "status"}', "unknown command None"),
                            (b'{"cmd": "switch"}', 'switch needs "presenter"'),
                            (b'{"cmd": "realface", "on": "yes"}', 'realface needs "on": true or false'),
                            (b'{"cmd": "record", "action": "rewind"}', 'record needs "action": "start" or "stop"'),
                            (b'{"cmd": "switch", "presenter": "nobody"}', "no profile 'nobody'")]:
            sock.sendall(line + b"\n")
            answer = json.loads(reader.readline())
            assert answer["ok"] is False and error in answer["error"] and "\n" not in answer["error"], answer
        sock.sendall(b'{"cmd": "status"}\n')
        assert json.loads(reader.readline())["ok"] is True
    still_streaming(daemon)


@pytest.mark.parametrize(("line", "error"), [
    (b"[" * 5000 + b"]" * 5000, f"nested 5000 levels deep: at most {MAX_NESTING} levels"),
    (b'{"cmd": "pause", "cmd": "status"}', 'duplicate key "cmd": send each key once'),
    (b'{"cmd": "status", "x": {"a": 1, "a": 2}}', 'duplicate key "a"'),
    (b'{"cmd": "frame", "max_width": -100000}', 'frame needs "max_width": an integer from 16 to 4096'),
    (b'{"cmd": "frame", "max_width": 100000}', 'frame needs "max_width": an integer from 16 to 4096'),
], ids=["nested-5000-deep", "duplicate-cmd", "duplicate-inner-key", "max-width-negative", "max-width-huge"])
def test_requests_beyond_the_limits_are_refused_in_one_line(daemon, line, error):
    """Deep nesting, a key given twice and an absurd preview width are refused, naming the limit, and the same
    connection answers the next request."""
    sock, reader = connect(daemon)
    with sock:
        sock.sendall(line + b"\n" + b'{"cmd": "status"}\n')
        answer = json.loads(reader.readline())
        assert answer["ok"] is False and error in answer["error"] and "\n" not in answer["error"], answer
        assert json.loads(reader.readline())["paused"] is False
    still_streaming(daemon)


def test_status_answers_while_hundreds_of_idle_connections_are_held(daemon, capsys):
    """Idle connections cost the daemon nothing it cannot spare: the backlog takes them all at once (no client has
    to try again), the oldest idle ones are hung up, and `status` gets through."""
    with held_connections(daemon.runtime / "control.sock", 300, patient=False):
        assert main(["status"]) == 0
        assert capsys.readouterr().out.startswith("presenter")
    still_streaming(daemon)


def test_a_connection_flood_keeps_the_daemon_threads_bounded(daemon):
    """500 connections held open: a thread for each of at most MAX_CONNECTIONS (with a few hung up and still
    exiting), not one for each."""
    before = proc_status(daemon.process.pid, "Threads")
    with held_connections(daemon.runtime / "control.sock", 500):
        request("status", timeout_s=60)  # queued behind the flood: answered once all of it was accepted
        during = proc_status(daemon.process.pid, "Threads")
    assert during <= before + MAX_CONNECTIONS + 16, f"{before} threads before the flood, {during} during it"
    still_streaming(daemon)


def test_a_client_that_leaves_its_answers_unread_is_dropped(daemon):
    """512 frame requests whose answers are never read: the daemon gives up on that client, not on the others."""
    sock, reader = connect(daemon)
    with sock:
        sock.sendall(b'{"cmd": "frame"}\n' * 512)
        time.sleep(SEND_TIMEOUT_S + 2)  # the daemon's patience with it, and a margin
        still_streaming(daemon)
        answered = 0  # the answers written before it was dropped
        with contextlib.suppress(ConnectionResetError):  # dropped with requests unread: a reset, not an end
            for line in reader:
                answered += line.endswith(b"\n")
    assert 0 < answered < 512


def test_an_oversized_line_is_refused_and_its_connection_closed(daemon):
    sock, reader = connect(daemon)
    with sock:
        sock.sendall(b"x" * (MAX_REQUEST_BYTES + 100))
        answer = json.loads(reader.readline())
        assert answer["ok"] is False and "longer than" in answer["error"]
        assert reader.readline() == b""  # closed
    still_streaming(daemon)


def test_closed_connections_are_dropped(daemon):
    sock, _ = connect(daemon)
    sock.sendall(b'{"cmd": "sta')  # gone in the middle of a line
    sock.close()
    sock, _ = connect(daemon)
    sock.sendall(b'{"cmd": "switch", "presenter": "grace_hopper"}\n')  # gone before the (slow) answer
    sock.close()
    still_streaming(daemon)
    assert request("status")["presenter"] == "Grace Hopper"


def test_cli_verbs_drive_the_daemon(daemon, tmp_path, capsys):
    assert main(["pause"]) == 0 and request("status")["paused"] is True
    assert main(["resume"]) == 0 and request("status")["paused"] is False
    assert main(["realface", "on"]) == 0 and request("status")["realface"] is True
    assert main(["realface", "off"]) == 0 and request("status")["realface"] is False
    assert main(["reset"]) == 0
    video = tmp_path / "lecture.mp4"
    assert main(["record", "start", str(video)]) == 0
    assert request("status")["recording"]
    wait_for(lambda: video.exists() and video.stat().st_size > 0, "the recording to be written")
    assert main(["record", "stop"]) == 0
    assert not request("status")["recording"] and video.stat().st_size > 0
    out = capsys.readouterr().out
    assert f"recording to {video}" in out and f"saved {video}" in out


# -- record start: nothing replaced unless asked, every failure said in the answer ------------------------------

def record_start_fails(capsys, *args: str) -> str:
    """`livepresenter record start ARGS` answered with an error: its one line."""
    assert main(["record", "start", *args]) == ExitStatus.ERROR
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("livepresenter: error: ")
    return line


def recorded(path: Path) -> None:
    """Wait until the recording in `path` holds video, then stop it; the file then decodes as H.264."""
    import av

    wait_for(lambda: path.stat().st_size > 10_000, f"{path} to be written")
    assert main(["record", "stop"]) == 0
    with av.open(str(path)) as container:
        assert container.streams.video[0].codec_context.name == "h264"


def test_record_start_never_replaces_the_live_source(daemon, live_source, tmp_path, capsys):
    before = live_source.read_bytes()
    (tmp_path / "sub").mkdir()
    alias = tmp_path / "sub" / ".." / "link.mp4"
    (tmp_path / "link.mp4").symlink_to(live_source)
    for target, extra in [(live_source, []), (live_source, ["--force"]), (alias, ["--force"])]:
        line = record_start_fails(capsys, str(target), *extra)
        assert "is the --source video" in line and str(live_source) in line
    with pytest.raises(DaemonError, match="is the --source video"):
        request("record", action="start", path=str(live_source), overwrite=True)
    assert live_source.read_bytes() == before and request("status")["recording"] is None
    still_streaming(daemon)


def test_record_start_replaces_an_existing_file_only_when_asked(daemon, tmp_path, capsys):
    photo, notes = tmp_path / "portrait.jpg", tmp_path / "notes.mp4"
    photo.write_bytes(b"\xff\xd8 not the daemon's portrait, but someone's")
    notes.write_bytes(b"an older recording")
    line = record_start_fails(capsys, str(photo))
    assert line == (f'livepresenter: error: {photo} exists: pass --force (or "overwrite": true in a control request) '
                    "to replace it, or choose another file")
    assert photo.read_bytes().startswith(b"\xff\xd8") and request("status")["recording"] is None
    assert request("record", action="start", path=str(photo), overwrite=True) == {"recording": True,
                                                                                 "path": str(photo)}
    recorded(photo)
    assert main(["record", "start", "--force", str(notes)]) == 0
    assert f"recording to {notes}" in capsys.readouterr().out
    recorded(notes)


@pytest.mark.parametrize("where", ["a folder", "under /proc", "missing folder"])
def test_record_start_says_why_a_file_cannot_be_written_in_its_answer(where, daemon, tmp_path, capsys):
    """Refused in the answer itself, with the cause, rather than found by the encoder a second later."""
    if where == "under /proc" and not Path("/proc/self").is_dir():
        pytest.skip("no /proc here")
    target, cause = {
        "a folder": (tmp_path, f"{tmp_path} is a folder: give a file name"),
        "under /proc": (Path("/proc/lecture.mp4"), "cannot write /proc/lecture.mp4: folder /proc does not allow new"),
        "missing folder": (tmp_path / "no" / "lecture.mp4", f"folder {tmp_path / 'no'} does not exist"),
    }[where]
    assert cause in record_start_fails(capsys, str(target))
    assert request("status")["recording"] is None and not target.is_file()
    still_streaming(daemon)


def test_record_start_into_a_read_only_folder_is_refused_in_its_answer(daemon, read_only_folder, capsys):
    """As root (tests here) permissions do not stop writes: the folder is a read-only bind mount (EROFS), skipped
    where mounting is not allowed; other users get a 0o500 folder (EACCES)."""
    target = read_only_folder / "lecture.mp4"
    line = record_start_fails(capsys, str(target))
    assert line.startswith(f"livepresenter: error: cannot write {target}: folder {read_only_folder} is ")
    assert line.endswith(("on a read-only file system", "not writable (no permission)"))
    assert request("status")["recording"] is None
    still_streaming(daemon)


def test_a_second_record_start_names_the_file_being_written(daemon, tmp_path, capsys):
    first, second = tmp_path / "first.mp4", tmp_path / "second.mp4"
    assert main(["record", "start", str(first)]) == 0
    for args in ([str(second)], []):
        line = record_start_fails(capsys, *args)
        assert line == (f"livepresenter: error: already recording to {first}: stop that recording first "
                        "(livepresenter record stop)")
    assert request("status")["recording"] == str(first) and not second.exists()
    recorded(first)


def test_unnamed_recordings_never_replace_a_file(daemon, videos_dir, capsys):
    """The daemon names a file after the second it starts in: files holding the names of every second around the
    test are already there, and all of them must survive."""
    folder = videos_dir / "livepresenter"
    folder.mkdir(exist_ok=True)
    now = datetime.now()
    taken = {folder / f"livepresenter-{now + timedelta(seconds=s):%Y%m%d-%H%M%S}.mp4" for s in range(-5, 180)}
    for path in taken:
        path.write_bytes(b"an earlier recording")
    saved = []
    for _ in range(2):
        assert main(["record", "start"]) == 0
        saved.append(Path(capsys.readouterr().out.removeprefix("recording to ").strip()))
        assert main(["record", "stop"]) == 0 and capsys.readouterr().out == f"saved {saved[-1]}\n"
    assert len(set(saved)) == 2 and not taken & set(saved)
    assert all(path.parent == folder and path.name.startswith("livepresenter-") for path in saved)
    assert all(path.read_bytes() == b"an earlier recording" for path in taken)


def test_a_slow_switch_does_not_hold_up_status(daemon, capsys):
    """While one client waits for a switch (the new portrait is prepared first), others are answered."""
    answers: list[dict] = []
    switch = threading.Thread(target=lambda: main(["switch", "einstein"]))
    switch.start()
    while switch.is_alive():
        answers.append(request("status"))
    switch.join()
    assert "on air: Albert Einstein" in capsys.readouterr().out
    assert answers and answers[0]["presenter"] == "Grace Hopper"
    assert request("status")["presenter"] == "Albert Einstein"
    with ControlClient() as client:  # several requests on one connection; an image path works as well
        assert client.request("switch", presenter="grace_hopper", timeout_s=120)["presenter"] == "Grace Hopper"
        assert client.request("status")["presenter"] == "Grace Hopper"


@pytest.mark.parametrize("reader", ["head -1", "true"])
def test_a_closed_stdout_ends_the_cli_without_a_traceback(daemon, reader):
    """`status | head -1` through a real shell pipe: no traceback, and 141 when nothing was read."""
    pipeline = f'"$0" -m livepresenter status | {reader}; exit "${{PIPESTATUS[0]}}"'
    result = subprocess.run(["bash", "-c", pipeline, sys.executable], capture_output=True, text=True, timeout=120,
                            check=False)
    assert result.stderr == ""
    if reader == "true":  # gone before anything was written
        assert result.returncode == ExitStatus.BROKEN_PIPE
    else:
        assert result.returncode in (0, ExitStatus.BROKEN_PIPE) and result.stdout.startswith("presenter")


def test_concurrent_switches_one_is_prepared_the_others_refused(daemon):
    """30 switches at once: one presenter is prepared while the others are refused at once, so memory stays flat
    (queued switches each prepared a presenter of their own)."""
    rss_before_kb = proc_status(daemon.process.pid, "VmRSS")
    clients = [connect(daemon) for _ in range(30)]
    for sock, _ in clients:
        sock.sendall(b'{"cmd": "switch", "presenter": "einstein"}\n')
    answers = [json.loads(reader.readline()) for _, reader in clients]
    for sock, _ in clients:
        sock.close()
    done = {"ok": True, "presenter": "Albert Einstein"}
    refused = {"ok": False, "error": "a switch to einstein is in progress: try again when it is on air"}
    assert done in answers and answers.count(refused) >= 20 and answers.count(done) + answers.count(refused) == 30
    growth_mb = (proc_status(daemon.process.pid, "VmRSS") - rss_before_kb) / 1024
    assert growth_mb < 100, f"RSS grew by {growth_mb:.0f} MB"
    assert request("status")["presenter"] == "Albert Einstein"


def test_quit_ends_the_daemon_within_2_s_whatever_clients_do(daemon, capsys):
    """Under a client stuck on unread answers and a hundred idle connections, `quit` ends the process at once."""
    with held_connections(daemon.runtime / "control.sock", 100):
        slow, _ = connect(daemon)  # opened last: the idle ones are hung up first to make room
        with slow:
            slow.sendall(b'{"cmd": "frame"}\n' * 512)
            time.sleep(1)  # the daemon blocks writing answers this client does not read
            assert main(["quit"]) == 0
            answered = time.monotonic()
            assert daemon.process.wait(timeout=120) == 0
            exit_s = time.monotonic() - answered
    assert exit_s < QUIT_EXIT_S, f"the daemon exited {exit_s:.1f} s after answering quit"
    assert not (daemon.runtime / "control.sock").exists()
    log = daemon.log.read_text()
    assert "frames sent" in log and "Traceback" not in log
    assert main(["status"]) == ExitStatus.DAEMON_NOT_RUNNING


# -- switching while streaming into the virtual camera ----------------------------------------------------------

class SendTimes:
    """A sink that notes when each frame was sent (the virtual camera backend keeps the frames)."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def send(self, frame: np.ndarray, timestamp: float) -> None:
        self.times.append(time.monotonic())

    def close(self) -> None:
        pass


def test_switch_never_stalls_the_virtual_camera(vcam, runtime, driving_dir, portraits_dir, tmp_path, monkeypatch):
    from livepresenter.daemon import answering
    from livepresenter.pipeline.orchestrator import LiveSettings, Orchestrator

    monkeypatch.setenv(profiles.DATA_DIR_ENV, str(tmp_path))
    write_profile(tmp_path, "einstein", "Albert Einstein", portraits_dir / EINSTEIN)
    orchestrator = Orchestrator(LiveSettings(source=str(driving_dir / CLIP), engine="landmark", size=(640, 360)))
    sent = SendTimes()
    orchestrator.add_sink(sent)
    running = threading.Thread(target=orchestrator.run)
    with answering(ControlServer.listen(runtime), orchestrator):
        running.start()
        try:
            wait_for(lambda: len(sent.times) >= 25, "25 frames")
            asked = time.monotonic()
            assert request("switch", presenter="einstein", timeout_s=120) == {"presenter": "Albert Einstein"}
            answered = time.monotonic()
            frames_at_answer = len(sent.times)
            wait_for(lambda: len(sent.times) >= frames_at_answer + 25, "25 more frames")
        finally:
            orchestrator.stop()
            running.join(timeout=60)
    (camera,) = vcam.instances
    times = np.array(sent.times)
    assert len(camera.frames) == len(times) and camera.closed == 1

    # The stream keeps flowing while the new presenter is prepared: frames are sent meanwhile, and no gap around
    # the switch is far above the usual one (the machine is shared, so only relative, generous bounds).
    assert np.count_nonzero((times > asked) & (times < answered)) >= 3, "the stream stopped during the switch"
    gaps = np.diff(times)
    around = gaps[(times[1:] > asked) & (times[:-1] < answered + 0.2)]
    median = np.median(gaps)
    assert around.max() < 8 * median, f"a stall: {around.max():.3f} s against a median of {median:.3f} s"

    def portrait(i: int) -> np.ndarray:
        return camera.frames[i][60:330, 200:440].astype(float)  # the middle of the stage, where the face is

    before = int(np.searchsorted(times, asked)) - 1
    after = len(times) - 1  # well after the cross-fade
    # Typical change between consecutive frames of the old presenter (talking, idling), for scale.
    steady = np.median([np.abs(portrait(i) - portrait(i - 1)).mean() for i in range(before - 5, before + 1)])
    assert np.abs(portrait(after) - portrait(before)).mean() > 4 * steady + 5, "the presenter did not change"
