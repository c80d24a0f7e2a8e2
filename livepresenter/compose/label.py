"""The disclosure label ("AI re-enactment of <figure>"): a small semi-transparent box with white text in a corner.

Everything except the blend is computed once per (text, frame size): the text is rasterised with OpenCV's built-in
TrueType sans face (anti-aliased, Unicode, no system fonts needed), and the box+text layer is kept as fixed-point
weights, so `draw` is two integer operations on a few thousand pixels, cheap enough for every live frame.
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np

__all__ = ["Corner", "Label"]

Corner = Literal["bottom-right", "bottom-left", "top-right", "top-left"]

_FONT_FRACTION_OF_HEIGHT = 0.028  # 20 px on a 720-line frame: legible, but small beside the presenter
_MIN_FONT_PX = 12
_PAD_FRACTION_OF_FONT = 0.6  # inner padding and distance from the frame edges, relative to the font size


class Label:
    """A label pre-rendered for frames of `frame_size` (width, height); `draw` blends it into a frame in place.

    box_opacity: how much the dark box hides what is under it (0..1); the text itself is opaque white.
    """

    def __init__(
        self,
        text: str,
        frame_size: tuple[int, int],
        corner: Corner = "bottom-right",
        box_opacity: float = 0.6,
    ) -> None:
        if not text.strip():
            raise ValueError("label text is empty: pass label=None to draw no label")
        frame_w, frame_h = frame_size
        face = cv2.FontFace("sans")
        font_px = max(_MIN_FONT_PX, round(frame_h * _FONT_FRACTION_OF_HEIGHT))
        pad = round(font_px * _PAD_FRACTION_OF_FONT)
        # Long names on narrow portraits: shrink the text until the box fits between the margins.
        _, text_top, text_w, text_h = cv2.getTextSize(frame_size, text, (0, 0), face, font_px)
        while text_w + 4 * pad > frame_w and font_px > 1:
            font_px -= 1
            pad = max(1, round(font_px * _PAD_FRACTION_OF_FONT))
            _, text_top, text_w, text_h = cv2.getTextSize(frame_size, text, (0, 0), face, font_px)

        box_w, box_h = text_w + 2 * pad, text_h + 2 * pad
        coverage = np.zeros((box_h, box_w), np.uint8)
        cv2.putText(coverage, text, (pad, pad - text_top), 255, face, font_px)
        text_alpha = coverage.astype(np.float32) / 255.0

        # out = frame * keep/256 + add: the dark box first, then the white text over it.
        keep = (1.0 - box_opacity) * (1.0 - text_alpha)
        self._keep = np.round(keep * 256.0).astype(np.uint16)[..., None]
        self._add = np.round(255.0 * text_alpha).astype(np.uint16)[..., None]

        x0 = pad if corner.endswith("left") else frame_w - pad - box_w
        y0 = pad if corner.startswith("top") else frame_h - pad - box_h
        self.text = text
        self.box = (x0, y0, x0 + box_w, y0 + box_h)

    def draw(self, frame_rgb: np.ndarray) -> np.ndarray:
        """Blend the label into `frame_rgb` (HxWx3 uint8, the size given at construction) and return it."""
        x0, y0, x1, y1 = self.box
        roi = frame_rgb[y0:y1, x0:x1]
        blended = (roi * self._keep >> 8) + self._add
        roi[...] = blended  # within 0..255 by construction: keep/256 + add/255 <= 1
        return frame_rgb
