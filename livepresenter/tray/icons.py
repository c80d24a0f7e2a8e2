"""The tray icon, drawn rather than shipped: a head-and-shoulders badge, grey while the daemon is away or paused,
with a red dot while recording; and presenter thumbnails for the menu."""

from __future__ import annotations

from PySide6.QtCore import QRect, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap

from livepresenter.presenter.profiles import Profile

__all__ = ["BADGE_RGB", "presenter_icon", "tray_icon"]

BADGE_RGB = (31, 138, 138)
"""The badge colour while streaming (the Xvfb test finds the icon in the tray by it)."""
_IDLE_RGB = (120, 120, 120)
_RECORDING_RGB = (220, 30, 30)
_SIZE_PX = 64
_THUMBNAIL_PX = 32


def tray_icon(active: bool, recording: bool) -> QIcon:
    pixmap = QPixmap(_SIZE_PX, _SIZE_PX)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(*(BADGE_RGB if active else _IDLE_RGB)))
    painter.drawRoundedRect(QRectF(2, 2, _SIZE_PX - 4, _SIZE_PX - 4), 12, 12)
    painter.setBrush(QColor(255, 255, 255))
    painter.drawEllipse(QRectF(22, 10, 20, 24))                    # head
    painter.drawRoundedRect(QRectF(12, 38, 40, 24), 12, 12)       # shoulders
    if recording:
        painter.setBrush(QColor(*_RECORDING_RGB))
        painter.setPen(QColor(255, 255, 255))
        painter.drawEllipse(QRectF(38, 2, 24, 24))
    painter.end()
    return QIcon(pixmap)


def presenter_icon(profile: Profile) -> QIcon:
    """A square thumbnail of the profile's portrait (its crop applied), centred on the upper part (the face)."""
    pixmap = QPixmap(str(profile.portrait))
    if pixmap.isNull():
        return QIcon()
    if profile.crop is not None:
        pixmap = pixmap.copy(QRect(profile.crop.x, profile.crop.y, profile.crop.width, profile.crop.height))
    side = min(pixmap.width(), pixmap.height())
    top = max(0, min(pixmap.height() - side, round(pixmap.height() * 0.35 - side / 2)))
    square = pixmap.copy(QRect((pixmap.width() - side) // 2, top, side, side))
    return QIcon(square.scaled(_THUMBNAIL_PX, _THUMBNAIL_PX, Qt.AspectRatioMode.KeepAspectRatio,
                               Qt.TransformationMode.SmoothTransformation))
