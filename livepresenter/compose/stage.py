"""Layouts: turn the engine's animated portrait into the output frame (virtual camera, recording, render).

Both layouts do their heavy work once, in the constructor (background, placement, label raster), so that
`compose` is a resize, a paste and a small blend: the live pipeline calls it for every frame at 30 fps.
"""

from __future__ import annotations

from typing import Literal, Protocol

import cv2
import numpy as np

from livepresenter.compose.label import Label
from livepresenter.errors import ConfigError

__all__ = ["LAYOUTS", "Compositor", "Layout", "PortraitLayout", "Stage", "create_compositor"]

Layout = Literal["stage", "portrait"]
LAYOUTS: tuple[Layout, ...] = ("stage", "portrait")

_BACKGROUND_BRIGHTNESS = 0.35  # the blurred fill stays well behind the presenter
_BACKGROUND_BLUR_FRACTION = 0.04  # blur sigma relative to the stage diagonal
_BACKGROUND_BLUR_DOWNSCALE = 8  # blur at 1/8 size: same look, a hundredth of the work


class Compositor(Protocol):
    """size: (width, height) of every frame `compose` returns (HxWx3 uint8 RGB, a new array each call)."""

    size: tuple[int, int]

    def compose(self, animated_rgb: np.ndarray) -> np.ndarray: ...


def _check_shape(animated_rgb: np.ndarray, expected: tuple[int, ...]) -> None:
    if animated_rgb.shape != expected or animated_rgb.dtype != np.uint8:
        raise ValueError(
            f"animated portrait is {animated_rgb.shape} {animated_rgb.dtype}, expected {expected} uint8 "
            "(engines return the portrait's own size)"
        )


class Stage:
    """The presenter centred on a `size` (width, height) canvas, fitted inside it (pillarbox or letterbox).

    The bars show a blurred, darkened fill made from the still portrait, so the frame reads as one picture
    rather than a photo on a flat colour.
    """

    def __init__(self, portrait_rgb: np.ndarray, size: tuple[int, int], label: str | None = None) -> None:
        stage_w, stage_h = size
        portrait_h, portrait_w = portrait_rgb.shape[:2]
        scale = min(stage_w / portrait_w, stage_h / portrait_h)
        fit_w, fit_h = max(1, round(portrait_w * scale)), max(1, round(portrait_h * scale))
        x0, y0 = (stage_w - fit_w) // 2, (stage_h - fit_h) // 2
        self.size = size
        self.portrait_box = (x0, y0, x0 + fit_w, y0 + fit_h)
        self._fit_size = (fit_w, fit_h)
        self._interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        self._portrait_shape = portrait_rgb.shape
        self._background = _background(portrait_rgb, size)
        self.label = Label(label, size) if label else None

    def compose(self, animated_rgb: np.ndarray) -> np.ndarray:
        _check_shape(animated_rgb, self._portrait_shape)
        x0, y0, x1, y1 = self.portrait_box
        frame = self._background.copy()
        frame[y0:y1, x0:x1] = cv2.resize(animated_rgb, self._fit_size, interpolation=self._interpolation)
        return self.label.draw(frame) if self.label else frame


class PortraitLayout:
    """The animated portrait alone at its own size, less one row/column where needed for even H.264 sizes."""

    def __init__(self, portrait_rgb: np.ndarray, label: str | None = None) -> None:
        height, width = portrait_rgb.shape[:2]
        self.size = (width - width % 2, height - height % 2)
        self._portrait_shape = portrait_rgb.shape
        self.label = Label(label, self.size) if label else None

    def compose(self, animated_rgb: np.ndarray) -> np.ndarray:
        _check_shape(animated_rgb, self._portrait_shape)
        width, height = self.size
        frame = animated_rgb[:height, :width].copy()
        return self.label.draw(frame) if self.label else frame


def create_compositor(
    layout: Layout, portrait_rgb: np.ndarray, size: tuple[int, int], label: str | None
) -> Compositor:
    """The compositor for a layout name; `size` is used by the stage layout only."""
    if layout == "stage":
        return Stage(portrait_rgb, size, label)
    if layout == "portrait":
        return PortraitLayout(portrait_rgb, label)
    raise ConfigError(f"unknown layout {layout!r}: choose one of {', '.join(LAYOUTS)}")


def _background(portrait_rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The portrait scaled to cover the whole stage, blurred heavily and darkened."""
    stage_w, stage_h = size
    portrait_h, portrait_w = portrait_rgb.shape[:2]
    scale = max(stage_w / portrait_w, stage_h / portrait_h)
    cover_w, cover_h = max(stage_w, round(portrait_w * scale)), max(stage_h, round(portrait_h * scale))
    cover = cv2.resize(portrait_rgb, (cover_w, cover_h), interpolation=cv2.INTER_AREA)
    x0, y0 = (cover_w - stage_w) // 2, (cover_h - stage_h) // 2
    fill = cover[y0 : y0 + stage_h, x0 : x0 + stage_w]
    small_size = (max(1, stage_w // _BACKGROUND_BLUR_DOWNSCALE), max(1, stage_h // _BACKGROUND_BLUR_DOWNSCALE))
    small = cv2.resize(fill, small_size, interpolation=cv2.INTER_AREA)
    sigma = _BACKGROUND_BLUR_FRACTION * float(np.hypot(*small_size))
    blurred = cv2.GaussianBlur(small, (0, 0), sigmaX=sigma, borderType=cv2.BORDER_REFLECT)
    dark = cv2.convertScaleAbs(blurred, alpha=_BACKGROUND_BRIGHTNESS)
    return cv2.resize(dark, (stage_w, stage_h), interpolation=cv2.INTER_LINEAR)
