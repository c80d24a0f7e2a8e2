"""The contact sheet: one row per portrait, each showing the portrait and, for a few driving frames, the driving
frame beside the animated output, so the numbers can be checked by eye.

Columns are chosen from what the clips show, not by file name: every clip's widest-open mouth, and the strongest
head turn among all clips. Outputs are shown as the 256-px face crop the metrics look at.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from livepresenter.errors import InputError
from livepresenter.evaluate.runner import ClipEvaluation, Snapshot

__all__ = ["contact_sheet", "write_png"]

_BACKGROUND = (255, 255, 255)
_INK = (20, 20, 20)
_MUTED = (110, 110, 110)
_MARGIN = 16
_PAIR_GAP = 14  # between two (driving, output) pairs
_INNER_GAP = 3  # between the driving frame and its output
_FONT_PX = 15


@dataclass(frozen=True)
class _Column:
    clip: str
    snapshot: Snapshot


def _columns(evaluations: Sequence[ClipEvaluation]) -> list[_Column]:
    """Each clip's widest mouth, then the strongest head turn of all clips."""
    columns = [_Column(ev.driving.stem, s) for ev in evaluations for s in ev.snapshots if s.reason == "mouth open"]
    turns = [_Column(ev.driving.stem, s) for ev in evaluations for s in ev.snapshots if s.reason == "head turn"]
    if turns:
        columns.append(max(turns, key=lambda column: column.snapshot.strength))
    return columns


class _Canvas:
    """A white RGB image with text and image pasting in sheet coordinates."""

    def __init__(self, width: int, height: int) -> None:
        self.image = np.full((height, width, 3), _BACKGROUND, np.uint8)
        self._font = cv2.FontFace("sans")

    def text(self, text: str, x: int, y_top: int, *, colour: tuple[int, int, int] = _INK, px: int = _FONT_PX,
             bold: bool = False, max_width: int | None = None) -> None:
        """Draw `text` with its top at `y_top`, shrunk until it fits in `max_width` pixels."""
        size = self.image.shape[1::-1]
        _, top, text_w, _ = cv2.getTextSize(size, text, (0, 0), self._font, px)
        while max_width and text_w > max_width and px > 8:
            px -= 1
            _, top, text_w, _ = cv2.getTextSize(size, text, (0, 0), self._font, px)
        cv2.putText(self.image, text, (x, y_top - top), colour, self._font, px, 600 if bold else 0)

    def paste(self, image_rgb: np.ndarray, x: int, y: int, side: int) -> None:
        """Paste the centre square of `image_rgb`, resized to side x side."""
        h, w = image_rgb.shape[:2]
        square = min(h, w)
        y0, x0 = (h - square) // 2, (w - square) // 2
        tile = cv2.resize(image_rgb[y0:y0 + square, x0:x0 + square], (side, side), interpolation=cv2.INTER_AREA)
        self.image[y:y + side, x:x + side] = tile


def contact_sheet(evaluations: Sequence[ClipEvaluation], credits: Sequence[str] = (), width: int = 1600) -> np.ndarray:
    """The sheet as HxWx3 uint8 RGB; `credits` are printed in the footer, one line each."""
    columns = _columns(evaluations)
    portraits = [run for run in evaluations[0].cross] if evaluations else []
    if not columns or not portraits:
        raise ValueError("the contact sheet needs evaluations with portraits and snapshots (keep_snapshots=True)")
    pairs = len(columns)
    cell = (width - 2 * _MARGIN - _PAIR_GAP * pairs - _INNER_GAP * pairs) // (2 * pairs + 1)
    line = round(_FONT_PX * 1.6)
    header = 2 * line + 3 * line
    row = cell + line
    footer = line * (2 + len(credits))
    canvas = _Canvas(width, _MARGIN + header + row * len(portraits) + footer + _MARGIN)

    y = _MARGIN
    engine = evaluations[0].engine
    canvas.text(f"livepresenter eval: {engine} engine. Each portrait driven by real clips; "
                "driving frame, then the animated portrait's face.", _MARGIN, y, bold=True, px=_FONT_PX + 3)
    y += 2 * line
    pair_x = [_MARGIN + cell + _PAIR_GAP + i * (2 * cell + _INNER_GAP + _PAIR_GAP) for i in range(pairs)]
    for x, column in zip(pair_x, columns, strict=True):
        span = 2 * cell + _INNER_GAP
        canvas.text(column.clip, x, y, bold=True, max_width=span)
        canvas.text(f"frame {column.snapshot.index}, {column.snapshot.reason}", x, y + line, max_width=span)
        canvas.text("driving", x, y + 2 * line, colour=_MUTED)
        canvas.text("output", x + cell + _INNER_GAP, y + 2 * line, colour=_MUTED)
    canvas.text("portrait", _MARGIN, y + 2 * line, colour=_MUTED)
    y += 3 * line

    for p, run in enumerate(portraits):
        canvas.paste(run.portrait_view, _MARGIN, y, cell)
        canvas.text(run.presenter.name, _MARGIN, y + cell + 3, max_width=cell)
        for x, column in zip(pair_x, columns, strict=True):
            canvas.paste(column.snapshot.driving_rgb, x, y, cell)
            canvas.paste(column.snapshot.outputs[p], x + cell + _INNER_GAP, y, cell)
        y += row

    y += line // 2
    for credit in credits:
        canvas.text(credit, _MARGIN, y, colour=_MUTED, max_width=width - 2 * _MARGIN)
        y += line
    return canvas.image


def write_png(image_rgb: np.ndarray, path: Path) -> None:
    if not path.parent.is_dir():
        raise InputError(f"folder {path.parent} does not exist: create it or choose another --report folder")
    if not cv2.imwrite(str(path), cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9]):
        raise InputError(f"cannot write {path}: check that the folder is writable")
