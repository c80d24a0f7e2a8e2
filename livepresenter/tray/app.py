"""The tray icon and its menu: presenters (thumbnails, a check on the one on air), recording, reset, real face,
pause, preview, quit.

The tray holds no pipeline: it attaches to the running daemon, or starts one (`livepresenter run RUN_ARGS`), and
drives it over the control socket like the CLI verbs do. It polls `status` twice a second, so changes made from
the CLI show in the menu too. Errors the daemon answers with appear as tray notifications.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAction, QIcon
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from livepresenter.control.client import request
from livepresenter.control.endpoint import runtime_dir
from livepresenter.control.protocol import DaemonNotRunningError
from livepresenter.errors import LivepresenterError
from livepresenter.presenter.profiles import Profile, list_profiles
from livepresenter.tray.icons import presenter_icon, tray_icon
from livepresenter.tray.link import DaemonLink, start_daemon
from livepresenter.tray.preview import PreviewWindow

__all__ = ["TrayApp"]

log = logging.getLogger(__name__)

POLL_MS = 500
QUIT_TIMEOUT_S = 5.0


class TrayApp(QObject):
    """Call `start()` once a QApplication exists. `finished` is emitted after Quit (the CLI then leaves Qt's loop);
    `notified(text)` with every notification shown."""

    finished = Signal()
    notified = Signal(str)

    def __init__(self, run_args: Sequence[str] = (), poll_ms: int = POLL_MS) -> None:
        super().__init__()
        self.run_args = list(run_args)
        self.status: dict[str, Any] | None = None  # the daemon's last status; None while it does not answer
        self._poll_ms = poll_ms
        self._daemon: subprocess.Popen | None = None  # started by this tray and not answering yet
        self._daemon_log: Path | None = None
        self._status_in_flight = False
        self._switching_to: str | None = None  # display name of a presenter being switched to
        self._thumbnails: dict[tuple[Path, Any], QIcon] = {}
        self.link = DaemonLink()
        self.link.answered.connect(self._on_answer)
        self.link.failed.connect(self._on_failure)
        self.preview = PreviewWindow(self.link)
        self.icon = QSystemTrayIcon(tray_icon(active=False, recording=False))
        self.menu = QMenu()
        self.menu.aboutToShow.connect(self._fill_presenters)
        self._build_menu()
        self.icon.setContextMenu(self.menu)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._poll)

    # -- menu ---------------------------------------------------------------------------------------
    def _build_menu(self) -> None:
        def action(text: str, slot, checkable: bool = False) -> QAction:
            item = QAction(text, self.menu)
            item.setCheckable(checkable)
            item.triggered.connect(slot)
            self.menu.addAction(item)
            return item

        self.header = self.menu.addAction("livepresenter")
        self.header.setEnabled(False)
        self.menu.addSeparator()
        self.presenter_actions: list[QAction] = []
        self._presenters_end = self.menu.addSeparator()
        self.record_action = action("Start recording", self._toggle_recording)
        self.reset_action = action("Reset reference pose", lambda: self.link.send("reset"))
        self.realface_action = action("Show my real face", lambda on: self.link.send("realface", on=on), True)
        self.pause_action = action("Pause", lambda on: self.link.send("pause" if on else "resume"), True)
        self.menu.addSeparator()
        self.preview_action = action("Open preview", self._open_preview)
        self.studio_action = action("Open studio…", self._open_studio)
        self.start_action = action("Start livepresenter", self.start_daemon)
        self.quit_action = action("Quit", self.quit)
        self._fill_presenters()

    def _fill_presenters(self) -> None:
        """(Re)list the profiles, so that ones added from the CLI appear the next time the menu opens."""
        for item in self.presenter_actions:
            self.menu.removeAction(item)
            item.deleteLater()
        self.presenter_actions = []
        for profile in list_profiles():
            item = QAction(self._thumbnail(profile), profile.display_name, self.menu)
            item.setCheckable(True)
            item.setData(profile.display_name)
            item.triggered.connect(lambda _checked=False, p=profile: self._switch(p))
            self.menu.insertAction(self._presenters_end, item)
            self.presenter_actions.append(item)
        self._refresh()

    def _thumbnail(self, profile: Profile) -> QIcon:
        key = (profile.portrait, profile.crop)
        if key not in self._thumbnails:
            self._thumbnails[key] = presenter_icon(profile)
        return self._thumbnails[key]

    def _refresh(self) -> None:
        """Make the icon and the menu show `self.status`."""
        status = self.status
        connected = status is not None
        recording = bool(status and status.get("recording"))
        if connected:
            flags = [name for name in ("paused", "realface") if status.get(name)] + (["recording"] if recording else [])
            header = f"{status['presenter']} · {status['engine']} · {status['fps']:.0f} fps"
            header += f" · {', '.join(flags)}" if flags else ""
        else:
            header = "starting livepresenter…" if self._daemon is not None else "livepresenter is not running"
        self.header.setText(header)
        self.icon.setToolTip(f"livepresenter: {header}")
        self.icon.setIcon(tray_icon(active=connected and not status.get("paused"), recording=recording))
        on_air = self._switching_to or (status["presenter"] if connected else None)
        for item in self.presenter_actions:
            item.setEnabled(connected)
            item.setChecked(item.data() == on_air)
            # Styles draw a checked action that has an icon as a framed icon, not a check mark: add one.
            item.setText(f"{item.data()}  ✓" if item.data() == on_air else item.data())
        for item in (self.record_action, self.reset_action, self.realface_action, self.pause_action,
                     self.preview_action):
            item.setEnabled(connected)
        self.record_action.setText("Stop recording" if recording else "Start recording")
        self.realface_action.setChecked(bool(status and status.get("realface")))
        self.pause_action.setChecked(bool(status and status.get("paused")))
        self.start_action.setVisible(not connected and self._daemon is None)

    # -- lifecycle ------------------------------------------------------------------------------------
    def start(self) -> None:
        """Attach to the running daemon, or start one; then show the icon and follow the daemon's state."""
        try:
            self._on_status(request("status", timeout_s=2.0))
            if self.run_args:
                log.info("a daemon is already running: attached to it, so the run options are not used")
        except DaemonNotRunningError:
            self.start_daemon()
        except LivepresenterError as exc:  # it holds the socket but does not answer yet (starting up)
            log.info("the daemon does not answer yet (%s); waiting for it", exc)
        self.icon.show()
        self._timer.start(self._poll_ms)

    def start_daemon(self) -> None:
        try:
            self._daemon, self._daemon_log = start_daemon(self.run_args, runtime_dir(create=True))
        except (OSError, LivepresenterError) as exc:
            self.notify(f"cannot start livepresenter: {exc}")
            return
        log.info("started livepresenter (pid %d, log %s)", self._daemon.pid, self._daemon_log)
        self._refresh()

    def quit(self) -> None:
        """Stop the daemon (it finishes cleanly, as on SIGTERM) and leave."""
        try:
            request("quit", timeout_s=QUIT_TIMEOUT_S)
        except DaemonNotRunningError:
            pass
        except LivepresenterError as exc:
            log.warning("the daemon did not take `quit` (%s)", exc)
            if self._daemon is not None:
                self._daemon.terminate()
        self.close()
        self.finished.emit()

    def close(self) -> None:
        """Leave the daemon as it is: stop polling, hide the icon and the preview."""
        self._timer.stop()
        self.preview.close()
        self.icon.hide()
        self.link.close()

    def notify(self, message: str, error: bool = True) -> None:
        (log.warning if error else log.info)("%s", message)
        kind = QSystemTrayIcon.MessageIcon.Warning if error else QSystemTrayIcon.MessageIcon.Information
        self.icon.showMessage("livepresenter", message, kind, 6000)
        self.notified.emit(message)

    # -- actions --------------------------------------------------------------------------------------
    def _switch(self, profile: Profile) -> None:
        self._switching_to = profile.display_name
        self._refresh()
        self.link.send("switch", presenter=profile.name)

    def _toggle_recording(self) -> None:
        self.link.send("record", action="stop" if self.status and self.status.get("recording") else "start")

    def _open_studio(self) -> None:
        """The studio is a window of its own process, so a long render never slows the tray or the daemon."""
        try:
            subprocess.Popen([sys.executable, "-m", "livepresenter", "studio"], start_new_session=True)
        except OSError as exc:
            self.notify(f"cannot open the studio: {exc}")

    def _open_preview(self) -> None:
        self.preview.show()
        self.preview.raise_()

    # -- answers --------------------------------------------------------------------------------------
    def _poll(self) -> None:
        if not self._status_in_flight:
            self._status_in_flight = True
            self.link.send("status")

    def _on_status(self, status: dict[str, Any]) -> None:
        self._daemon = None  # answering: from now on it is simply the daemon
        self.status = status
        self._refresh()

    def _on_answer(self, cmd: str, answer: dict[str, Any]) -> None:
        if cmd == "status":
            self._status_in_flight = False
            self._on_status(answer)
            return
        if cmd == "switch":
            self._switching_to = None
        elif cmd == "record":
            self.notify(f"recording to {answer['path']}" if answer["recording"] else f"saved {answer['path']}",
                        error=False)
        if cmd != "frame":
            self._poll()

    def _on_failure(self, cmd: str, error: LivepresenterError) -> None:
        if cmd == "status":
            self._status_in_flight = False
            if isinstance(error, DaemonNotRunningError):
                self._lost()
            return
        if cmd == "frame":
            return  # the preview shows it
        if cmd == "switch":
            self._switching_to = None
        self.notify(str(error))
        self._refresh()

    def _lost(self) -> None:
        """The daemon does not answer: still starting, failed to start, or gone."""
        if self._daemon is not None:
            if self._daemon.poll() is None:
                return  # still starting
            self.notify(f"livepresenter could not start: {_last_line(self._daemon_log)}")
            self._daemon = None
        elif self.status is not None:
            self.notify("livepresenter stopped", error=False)
        self.status = None
        self._refresh()


def _last_line(path: Path | None) -> str:
    """The last line the daemon wrote (its one-line error), or where to look."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").strip().splitlines() if path else []
    except OSError:
        lines = []
    return lines[-1] if lines else f"see {path}"
