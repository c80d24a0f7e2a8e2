"""The tray's preview window: the daemon's output, fetched with the `frame` command (a JPEG) while visible.

The daemon often runs headless (a service, or started by the tray), so the preview never shares its process: it
polls the last frame sent, at a few frames per second, which costs the daemon one small JPEG encode per poll.
"""

from __future__ import annotations

import base64
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QLabel

from livepresenter.tray.link import DaemonLink

__all__ = ["PreviewWindow"]

POLL_MS = 125
WIDTH_PX = 640


class PreviewWindow(QLabel):
    def __init__(self, link: DaemonLink) -> None:
        super().__init__()
        self.setWindowTitle("livepresenter preview")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(320, 180)
        self.resize(WIDTH_PX, WIDTH_PX * 9 // 16)
        self.setStyleSheet("background: #141414; color: #ccc")
        self.setText("waiting for the daemon…")
        self.frames_shown = 0
        self._link = link
        self._in_flight = False
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._poll)
        link.answered.connect(self._on_answer)
        link.failed.connect(self._on_failure)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt naming
        self._timer.start(POLL_MS)
        super().showEvent(event)

    def hideEvent(self, event) -> None:  # noqa: N802
        self._timer.stop()
        super().hideEvent(event)

    def _poll(self) -> None:
        if not self._in_flight:
            self._in_flight = True
            self._link.send("frame", max_width=WIDTH_PX)

    def _on_answer(self, cmd: str, answer: dict[str, Any]) -> None:
        if cmd != "frame":
            return
        self._in_flight = False
        pixmap = QPixmap()
        if pixmap.loadFromData(base64.b64decode(answer["jpeg"]), "JPG"):
            self.setPixmap(pixmap.scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                         Qt.TransformationMode.SmoothTransformation))
            self.frames_shown += 1

    def _on_failure(self, cmd: str, error: Exception) -> None:
        if cmd == "frame":
            self._in_flight = False
            self.setText(str(error))
