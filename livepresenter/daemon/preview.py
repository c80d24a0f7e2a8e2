"""The preview window (PySide6): the composed output with fps and latency, and keyboard controls.

Keys: R show my real face, P pause, Space reset the reference pose, Q or Esc quit. The window polls
the orchestrator's latest composed frame; closing it stops the pipeline.
"""

from __future__ import annotations

import logging
import os
import sys

log = logging.getLogger(__name__)

HELP = "R real face · P pause · Space reset pose · Q quit"


def display_available() -> bool:
    """Whether Qt can open a window here (Linux needs X11 or Wayland unless a platform is forced)."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def run_with_preview(orchestrator) -> None:
    """Run the orchestrator with a preview window on this (the main) thread until either stops."""
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtGui import QColor, QFont, QImage, QPainter
    from PySide6.QtWidgets import QApplication, QWidget

    class PreviewWindow(QWidget):
        def __init__(self) -> None:
            super().__init__()
            width, height = orchestrator.settings.size
            self.setWindowTitle(f"livepresenter — {orchestrator.presenter.name}")
            self.resize(min(width, 960), min(height, 540))
            self._image: QImage | None = None
            self._frame = None
            self._timer = QTimer(self)
            self._timer.timeout.connect(self._tick)
            self._timer.start(15)

        def _tick(self) -> None:
            if orchestrator.stopping.is_set():
                self.close()
                return
            frame = orchestrator.preview_slot.take(timeout=0)
            if frame is not None:
                self._frame = frame  # keep the buffer alive while QImage points at it
                height, width = frame.shape[:2]
                self._image = QImage(frame.data, width, height, 3 * width, QImage.Format.Format_RGB888)
                self.update()

        def paintEvent(self, event) -> None:  # noqa: N802 - Qt naming
            painter = QPainter(self)
            painter.fillRect(self.rect(), QColor(20, 20, 20))
            if self._image is not None:
                scaled = self._image.scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                            Qt.TransformationMode.SmoothTransformation)
                painter.drawImage((self.width() - scaled.width()) // 2, (self.height() - scaled.height()) // 2, scaled)
            status = orchestrator.status()
            flags = " · ".join(name for name in ("realface", "paused") if status[name])
            text = (f"{status['fps']:.1f} fps · {status['latency_ms']:.0f} ms · {status['engine']}"
                    f"{' · ' + flags if flags else ''}   {HELP}")
            painter.setFont(QFont("Sans", 10))
            painter.fillRect(0, 0, self.width(), 22, QColor(0, 0, 0, 150))
            painter.setPen(QColor(255, 255, 255))
            painter.drawText(8, 16, text)
            painter.end()

        def keyPressEvent(self, event) -> None:  # noqa: N802
            key = event.key()
            if key == Qt.Key.Key_R:
                orchestrator.set_realface(not orchestrator.realface)
            elif key == Qt.Key.Key_P:
                orchestrator.set_paused(not orchestrator.paused)
            elif key == Qt.Key.Key_Space:
                orchestrator.reset_reference()
            elif key in (Qt.Key.Key_Q, Qt.Key.Key_Escape):
                self.close()

        def closeEvent(self, event) -> None:  # noqa: N802
            orchestrator.stop()
            event.accept()

    app = QApplication.instance() or QApplication([])
    window = PreviewWindow()
    window.show()
    orchestrator.start()
    try:
        limit = orchestrator.settings.max_seconds
        if limit is not None:
            QTimer.singleShot(int(limit * 1000), orchestrator.stop)
        app.exec()
    finally:
        orchestrator.close()
