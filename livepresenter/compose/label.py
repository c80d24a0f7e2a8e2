"""The disclosure label ("AI re-enactment of <figure>"): a small semi-transparent box with white text in a corner.

Everything except the blend is computed once per (text, frame size): the text is rasterised with OpenCV's built-in
TrueType sans face (anti-aliased, Unicode, no system fonts needed), and the box+text layer is kept as fixed-point
weights, so `draw` is two integer operations on a few thousand pixels, cheap enough for every live frame.
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np

__all__ = ["MIN_FONT_PX", "Corner", "Label"]

Corner = Literal["bottom-right", "bottom-left", "top-right", "top-left"]

_FONT_FRACTION_OF_HEIGHT = 0.028  # 20 px on a 720-line frame: legible, but small beside the presenter
MIN_FONT_PX = 12  # below this the label stops being read; a narrow frame wraps or shortens the text instead
_PAD_FRACTION_OF_FONT = 0.6  # inner padding and distance from the frame edges, relative to the font size
_WEIGHT = 600  # semi-bold: thin strokes of a 12 px regular face fade to grey once a video codec has smoothed them
_LINE_SPACING = 1.3  # baseline to baseline, relative to the font size
_ELLIPSIS = "…"


def _wordings(text: str) -> list[list[str]]:
    """Ways to set `text`, most faithful first: one line; two lines broken at a word; then, for "... of <name>",
    the name's first names dropped one by one ("of Marie Skłodowska-Curie" -> "of Skłodowska-Curie")."""
    versions = [text]
    head, sep, name = text.rpartition(" of ")
    names = name.split()
    versions += [f"{head}{sep}{' '.join(names[k:])}" for k in range(1, len(names))] if sep else []
    wordings: list[list[str]] = []
    for version in versions:
        words = version.split()
        breaks = [[" ".join(words[:k]), " ".join(words[k:])] for k in range(1, len(words))]
        # The name on a line of its own reads best; otherwise the most even break.
        breaks.sort(key=lambda lines: (not lines[0].endswith(" of"), max(map(len, lines))))
        wordings += [[version], *breaks]
    return wordings


def _ellipsised(line: str, fits) -> str:
    """`line` cut at its end with an ellipsis until `fits(line)`: the last resort on frames too narrow for any
    wording at the smallest readable size."""
    while len(line) > 1 and not fits(line):
        line = line[:-2].rstrip() + _ELLIPSIS
    return line


class Label:
    """A label pre-rendered for frames of `frame_size` (width, height); `draw` blends it into a frame in place.

    The text is set at a size that follows the frame's height and never below MIN_FONT_PX: when it does not fit the
    width, it goes onto two lines, then drops the figure's first names, and only as a last resort is cut short.
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
        preferred_px = max(MIN_FONT_PX, round(frame_h * _FONT_FRACTION_OF_HEIGHT))

        def width(line: str, font_px: int) -> int:
            return cv2.getTextSize(frame_size, line, (0, 0), face, font_px, _WEIGHT)[2]

        def fits(lines: list[str], font_px: int) -> bool:
            return max(width(line, font_px) for line in lines) + 4 * _pad(font_px) <= frame_w

        # The largest size at which some wording fits; among wordings, the most faithful one at that size.
        wordings = _wordings(text.strip())
        for font_px in range(preferred_px, MIN_FONT_PX - 1, -1):
            lines = next((w for w in wordings if fits(w, font_px)), None)
            if lines is not None:
                break
        else:
            font_px = MIN_FONT_PX
            narrowest = min(wordings, key=lambda w: max(width(line, MIN_FONT_PX) for line in w))
            lines = [_ellipsised(line, lambda cut: fits([cut], MIN_FONT_PX)) for line in narrowest]
        pad = _pad(font_px)
        step = round(font_px * _LINE_SPACING)
        rects = [cv2.getTextSize(frame_size, line, (0, 0), face, font_px, _WEIGHT) for line in lines]
        ascent = max(-top for _, top, _, _ in rects)
        descent = max(top + height for _, top, _, height in rects)

        box_w = max(w for _, _, w, _ in rects) + 2 * pad
        box_h = ascent + descent + (len(lines) - 1) * step + 2 * pad
        coverage = np.zeros((box_h, box_w), np.uint8)
        for row, line in enumerate(lines):
            cv2.putText(coverage, line, (pad, pad + ascent + row * step), 255, face, font_px, _WEIGHT)
        text_alpha = coverage.astype(np.float32) / 255.0

        # out = frame * keep/256 + add: the dark box first, then the white text over it.
        keep = (1.0 - box_opacity) * (1.0 - text_alpha)
        self._keep = np.round(keep * 256.0).astype(np.uint16)[..., None]
        self._add = np.round(255.0 * text_alpha).astype(np.uint16)[..., None]

        x0 = pad if corner.endswith("left") else frame_w - pad - box_w
        y0 = pad if corner.startswith("top") else frame_h - pad - box_h
        self.text = text
        self.lines = tuple(lines)
        self.font_px = font_px
        self.box = (x0, y0, x0 + box_w, y0 + box_h)

    def draw(self, frame_rgb: np.ndarray) -> np.ndarray:
        """Blend the label into `frame_rgb` (HxWx3 uint8, the size given at construction) and return it."""
        x0, y0, x1, y1 = self.box
        roi = frame_rgb[y0:y1, x0:x1]
        blended = (roi * self._keep >> 8) + self._add
        roi[...] = blended  # within 0..255 by construction: keep/256 + add/255 <= 1
        return frame_rgb


def _pad(font_px: int) -> int:
    return max(1, round(font_px * _PAD_FRACTION_OF_FONT))
