"""The tray against a real daemon it starts itself (a video file as the camera): menu actions offscreen with
pytest-qt, and one end-to-end run of `livepresenter tray` in a real tray host under Xvfb (xdotool opens the menu,
a screenshot is checked).

The tests of this module share one daemon and run in order: the last one quits it from the menu.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before Qt starts: never a window on the developer's desktop

from livepresenter.cli.main import main  # noqa: E402
from livepresenter.control import endpoint  # noqa: E402
from livepresenter.control.client import request  # noqa: E402
from livepresenter.control.protocol import DaemonNotRunningError  # noqa: E402
from livepresenter.presenter import profiles  # noqa: E402
from livepresenter.tray import TrayApp  # noqa: E402
from livepresenter.tray.icons import BADGE_RGB  # noqa: E402
from tests.daemon_testing import short_runtime_dir, status_or_none, wait_for, write_profile  # noqa: E402

CLIP = "grid_bbaf2n_256.mp4"
RUN_ARGS = ["--engine", "landmark", "--no-vcam", "--fps", "10"]
SWITCH_TIMEOUT_MS = 120_000
XVFB_TOOLS = ("Xvfb", "trayer", "xdotool", "import")


@pytest.fixture(scope="module")
def home(tmp_path_factory, portraits_dir) -> Iterator[Path]:
    """Runtime, data and home folders of their own (recordings go to $HOME/Videos), with two user profiles."""
    home = tmp_path_factory.mktemp("home")
    write_profile(home / "data", "einstein", "Albert Einstein", portraits_dir / "einstein_1947_orren_jack_turner.jpg")
    write_profile(home / "data", "marie_curie", "Marie Curie", portraits_dir / "marie_curie_c1920.jpg")
    runtime = short_runtime_dir()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(endpoint.RUNTIME_DIR_ENV, str(runtime))
        patch.setenv(profiles.DATA_DIR_ENV, str(home / "data"))
        patch.setenv("HOME", str(home))
        patch.delenv("XDG_CONFIG_HOME", raising=False)
        yield home
    shutil.rmtree(runtime, ignore_errors=True)


@pytest.fixture(scope="module")
def tray(qapp, home, driving_dir) -> Iterator[TrayApp]:
    """A tray started with no daemon running: it starts one."""
    assert status_or_none() is None
    app = TrayApp([*RUN_ARGS, "--source", str(driving_dir / CLIP)], poll_ms=200)
    app.start()
    wait_for(lambda: (qapp.processEvents(), app.status)[1], "the tray to attach to the daemon it started")
    yield app
    app.close()
    if status_or_none() is not None:
        request("quit")


def checked(tray: TrayApp) -> list[str]:
    return [item.data() for item in tray.presenter_actions if item.isChecked()]


def action(tray: TrayApp, name: str):
    (item,) = [item for item in tray.presenter_actions if item.data() == name]
    return item


def test_the_tray_starts_the_daemon_and_lists_the_presenters(tray):
    assert tray.status["presenter"] == "Grace Hopper" and tray.status["engine"] == "landmark"
    assert [item.data() for item in tray.presenter_actions] == ["Albert Einstein", "Grace Hopper", "Marie Curie"]
    assert all(not item.icon().isNull() for item in tray.presenter_actions), "thumbnails"
    assert checked(tray) == ["Grace Hopper"] and action(tray, "Grace Hopper").text() == "Grace Hopper  ✓"
    assert tray.header.text().startswith("Grace Hopper · landmark")
    assert tray.record_action.text() == "Start recording" and not tray.start_action.isVisible()
    assert (Path(os.environ[endpoint.RUNTIME_DIR_ENV]) / "daemon.log").exists()


def test_switching_from_the_menu_moves_the_check_mark(tray, qtbot):
    action(tray, "Albert Einstein").trigger()
    assert checked(tray) == ["Albert Einstein"]  # at once, while the daemon prepares the portrait
    qtbot.waitUntil(lambda: tray.status["presenter"] == "Albert Einstein", timeout=SWITCH_TIMEOUT_MS)
    assert checked(tray) == ["Albert Einstein"] and request("status")["presenter"] == "Albert Einstein"


def test_toggles_follow_the_daemon_also_when_changed_from_the_cli(tray, qtbot):
    tray.pause_action.trigger()
    qtbot.waitUntil(lambda: tray.status["paused"] and tray.pause_action.isChecked())
    assert main(["resume"]) == 0
    qtbot.waitUntil(lambda: not tray.pause_action.isChecked())
    tray.realface_action.trigger()
    qtbot.waitUntil(lambda: tray.status["realface"] and tray.realface_action.isChecked())
    assert main(["realface", "off"]) == 0
    qtbot.waitUntil(lambda: not tray.realface_action.isChecked())
    assert main(["switch", "grace_hopper"]) == 0
    qtbot.waitUntil(lambda: checked(tray) == ["Grace Hopper"])
    with qtbot.assertNotEmitted(tray.notified, wait=500):
        tray.reset_action.trigger()


def test_recording_from_the_menu(tray, qtbot, home):
    with qtbot.waitSignal(tray.notified, timeout=30_000) as started:
        tray.record_action.trigger()
    assert started.args[0].startswith("recording to ")
    path = Path(started.args[0].removeprefix("recording to "))
    assert path.is_relative_to(home)  # the daemon's default folder, under $HOME
    qtbot.waitUntil(lambda: tray.record_action.text() == "Stop recording")
    qtbot.waitUntil(lambda: path.exists() and path.stat().st_size > 0, timeout=30_000)
    icon = tray.icon.icon().pixmap(64, 64).toImage()
    assert icon.pixelColor(50, 14).red() > 180 and icon.pixelColor(50, 14).green() < 80, "the red recording dot"
    with qtbot.waitSignal(tray.notified, timeout=30_000) as saved:
        tray.record_action.trigger()
    assert saved.args[0] == f"saved {path}"
    qtbot.waitUntil(lambda: tray.record_action.text() == "Start recording")


def test_daemon_errors_become_notifications(tray, qtbot, home):
    wall = home / "data" / "profiles" / "wall"
    wall.mkdir()
    cv2.imwrite(str(wall / "portrait.png"), np.full((300, 300, 3), 128, np.uint8))
    (wall / "profile.toml").write_text('name = "A Wall"\n')
    try:
        tray.menu.aboutToShow.emit()  # the menu lists profiles afresh each time it opens
        with qtbot.waitSignal(tray.notified, timeout=SWITCH_TIMEOUT_MS) as failed:
            action(tray, "A Wall").trigger()
        assert "no face found" in failed.args[0]
        qtbot.waitUntil(lambda: checked(tray) == ["Grace Hopper"])
    finally:
        shutil.rmtree(wall)
        tray.menu.aboutToShow.emit()


def test_preview_shows_the_daemons_frames(tray, qtbot):
    tray.preview_action.trigger()
    try:
        qtbot.waitUntil(lambda: tray.preview.frames_shown >= 2, timeout=30_000)
        assert not tray.preview.pixmap().isNull()
    finally:
        tray.preview.close()


# -- a real tray host --------------------------------------------------------------------------------------------

@contextmanager
def xvfb_with_tray_host() -> Iterator[dict[str, str]]:
    """Xvfb (a free display number) with trayer docked at the bottom; yields the environment to use it."""
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "800x600x24", "-nolisten", "tcp"],
                              pass_fds=(write_fd,), stderr=subprocess.DEVNULL)
    os.close(write_fd)
    with os.fdopen(read_fd) as display_pipe:
        display = display_pipe.readline().strip()
    env = {**os.environ, "DISPLAY": f":{display}", "QT_QPA_PLATFORM": "xcb"}
    host = subprocess.Popen(["trayer", "--edge", "bottom", "--widthtype", "pixel", "--width", "200", "--height", "30"],
                            env=env, stderr=subprocess.DEVNULL)
    try:
        yield env
    finally:
        for process in (host, server):
            process.terminate()
            process.wait(timeout=30)


def screenshot(env: dict[str, str]) -> np.ndarray:
    png = subprocess.run(["import", "-window", "root", "png:-"], env=env, capture_output=True, check=True).stdout
    return cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)


def icon_centre(shot_bgr: np.ndarray) -> tuple[int, int] | None:
    """(y, x) of the tray icon (the pixels of its badge colour), or None when it is not on screen."""
    badge = np.argwhere(np.all(np.abs(shot_bgr.astype(int) - BADGE_RGB[::-1]) <= 8, axis=2))
    return tuple(badge.mean(axis=0).round().astype(int)) if len(badge) > 50 else None


@pytest.mark.skipif(not all(shutil.which(tool) for tool in XVFB_TOOLS),
                    reason="needs Xvfb, trayer, xdotool and ImageMagick (bash scripts/setup.sh test installs them)")
def test_real_tray_menu_under_xvfb(tray, tmp_path):
    """`livepresenter tray` in a real tray host: open the menu with a right click, screenshot, switch presenter."""
    with xvfb_with_tray_host() as env:
        log = tmp_path / "tray.log"
        with open(log, "wb") as log_file:
            process = subprocess.Popen([sys.executable, "-m", "livepresenter", "tray"], env=env, stdout=log_file,
                                       stderr=subprocess.STDOUT)
        try:
            y, x = wait_for(lambda: icon_centre(screenshot(env)), "the icon in the tray host", process=process)
            assert y > 600 - 30, "the icon sits in the tray host at the bottom of the screen"
            before = screenshot(env)
            subprocess.run(["xdotool", "mousemove", str(x), str(y), "click", "3"], env=env, check=True)
            shot = wait_for(lambda: menu_drawn(before, screenshot(env)), "the menu", process=process)
            cv2.imwrite(str(tmp_path / "tray-menu.png"), shot)

            changed = np.argwhere(np.abs(shot.astype(int) - before.astype(int)).sum(axis=2) > 30)
            (top, left), (bottom, right) = changed.min(axis=0), changed.max(axis=0)
            assert bottom - top > 200 and right - left > 120, "a menu of presenters and controls was drawn"
            assert bottom <= y and icon_centre(shot), "above the icon, which is still there"

            # Keyboard through the menu: the disabled status line is skipped; presenters come first.
            subprocess.run(["xdotool", "key", "Down", "Down", "Down", "Return"], env=env, check=True)
            wait_for(lambda: (status_or_none() or {}).get("presenter") == "Marie Curie", "the switch to Marie Curie",
                     timeout_s=SWITCH_TIMEOUT_MS / 1000)
        finally:
            process.terminate()
            process.wait(timeout=30)
        assert "Traceback" not in log.read_text()


def menu_drawn(before: np.ndarray, now: np.ndarray) -> np.ndarray | None:
    """The screenshot once a large region above the tray changed (the menu), else None."""
    changed = np.abs(now.astype(int) - before.astype(int)).sum(axis=2) > 30
    return now if changed[: 600 - 30].sum() > 200 * 100 else None


# -- last: quit ----------------------------------------------------------------------------------------------------

def test_quit_from_the_menu_stops_the_daemon(tray, qapp, qtbot):
    watcher = TrayApp()  # a second tray attaches to the running daemon
    watcher.start()
    try:
        assert watcher.status is not None and watcher.status["pid"] == tray.status["pid"]
        with qtbot.waitSignal(tray.finished, timeout=30_000):
            tray.quit_action.trigger()
        with qtbot.waitSignal(watcher.notified, timeout=30_000) as stopped:
            pass
        assert stopped.args[0] == "livepresenter stopped"
        assert watcher.header.text() == "livepresenter is not running" and watcher.start_action.isVisible()
        with pytest.raises(DaemonNotRunningError):
            request("status")
    finally:
        watcher.close()
