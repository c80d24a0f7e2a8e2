"""The studio's player: the result decoded frame by frame (PyAV) on a QTimer, play/pause, sound through
`AudioOutput` when there is an output device (otherwise silent, said once)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from livepresenter.media import Frame, VideoReader
from livepresenter.studio.sound import AudioOutput

__all__ = ["VideoPlayer", "show_rgb"]

TICK_MS = 10


def show_rgb(label: QLabel, image_rgb: np.ndarray) -> None:
    """Show an HxWx3 uint8 RGB image in `label`, scaled to fit it."""
    height, width, _ = image_rgb.shape
    image = QImage(np.ascontiguousarray(image_rgb).data, width, height, 3 * width, QImage.Format.Format_RGB888)
    pixmap = QPixmap.fromImage(image)  # copies: the array may go away
    label.setPixmap(pixmap.scaled(label.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                  Qt.TransformationMode.SmoothTransformation))


class VideoPlayer(QWidget):
    """`load(path)` shows the first frame; Play/Pause; at the end it rewinds. `notice(text)` is emitted once when
    the sound cannot be played."""

    notice = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.screen = QLabel("the generated video plays here")
        self.screen.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.screen.setMinimumSize(QSize(480, 270))
        self.screen.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.screen.setStyleSheet("background: #202020; color: #aaaaaa;")
        self.play_button = QPushButton("Play")
        self.play_button.setEnabled(False)
        self.play_button.clicked.connect(self.toggle)
        self.position = QLabel("")
        controls = QHBoxLayout()
        controls.addWidget(self.play_button)
        controls.addWidget(self.position, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.screen, 1)
        layout.addLayout(controls)
        self.path: Path | None = None
        self.frames_shown = 0
        self._reader: VideoReader | None = None
        self._frames: Iterator[Frame] | None = None
        self._frame: Frame | None = None
        self._clock_start = 0.0  # time.monotonic() at which the video's time 0 is (would have been) shown
        self._audio: AudioOutput | None = None  # opened on first play: PortAudio is slow to start
        self._told_silent = False
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._tick)

    @property
    def playing(self) -> bool:
        return self._timer.isActive()

    def load(self, path: Path) -> None:
        self.pause()
        self.path, self._reader = path, VideoReader(path)
        if self._audio is not None:
            self._audio.load(path)
        self._rewind()
        self.play_button.setEnabled(True)

    def toggle(self) -> None:
        self.pause() if self.playing else self.play()

    def play(self) -> None:
        if self._reader is None:
            return
        if self._audio is None:
            self._audio = AudioOutput()
            if not self._audio.unavailable:
                self._audio.load(self._reader.path)
        position = self._frame.time_s if self._frame else 0.0
        self._clock_start = time.monotonic() - position
        self._audio.play(position)
        # Said once, whether the machine has no output at all or its output failed on first use.
        if self._audio.unavailable and not self._told_silent:
            self._told_silent = True
            self.notice.emit(f"playing without sound: {self._audio.unavailable}")
        self._timer.start(TICK_MS)
        self.play_button.setText("Pause")

    def pause(self) -> None:
        self._timer.stop()
        if self._audio is not None:
            self._audio.stop()
        self.play_button.setText("Play")

    def _rewind(self) -> None:
        assert self._reader is not None
        self._frames = iter(self._reader)
        self._frame = None
        self._show(next(self._frames, None))

    def _show(self, frame: Frame | None) -> None:
        if frame is None:
            return
        self._frame = frame
        self.frames_shown += 1
        show_rgb(self.screen, frame.image)
        self.position.setText(f"{frame.time_s:.1f} s")

    def _tick(self) -> None:
        """Show the frame due now, skipping frames when decoding falls behind the clock."""
        assert self._frames is not None
        assert self._reader is not None
        now_s = time.monotonic() - self._clock_start
        frame_s = 1 / float(self._reader.fps)
        current, due = self._frame, None
        while current is None or current.time_s + frame_s <= now_s:
            current = due = next(self._frames, None)
            if due is None:  # the end: back to the start, paused
                self.pause()
                self._rewind()
                return
        if due is not None:
            self._show(due)
