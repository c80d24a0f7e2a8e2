"""FOMM behind the engine interface: portrait face crop in, feathered paste-back out.

FOMM animates a 256x256 face crop; the stage shows the whole portrait at its own resolution, so the animated crop is
pasted back into the portrait (`paste_back.PasteBack`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from livepresenter.engine.paste_back import PasteBack
from livepresenter.face import Face, TrackedFace


def auto_precision(device: str | None = None) -> str:
    """The fastest precision that stays within the accuracy targets on `device` (default: the GPU
    when torch sees one, else the CPU; decided from CPU features and installed runtimes, see
    `livepresenter.fomm.animator.best_precision`)."""
    import torch

    from livepresenter.fomm.animator import best_precision

    return best_precision(device or ("cuda" if torch.cuda.is_available() else "cpu"))


class FommEngine:
    """The First Order Motion Model with relative keypoint motion, as an AnimationEngine."""

    name = "fomm"

    def __init__(self, checkpoint: Path, config: Path | None = None, device: str | None = None,
                 precision: str = "auto", align_corners: bool = False) -> None:
        from livepresenter.fomm import Animator, load_fomm

        model = load_fomm(checkpoint, config, align_corners=align_corners)  # the precision picks the device
        self.animator = Animator(model, precision=auto_precision(device) if precision == "auto" else precision)
        self._paste: PasteBack | None = None
        self._last: np.ndarray | None = None

    def set_portrait(self, portrait: np.ndarray, face: Face) -> None:
        self._paste = PasteBack(portrait, face, self.animator.size)
        self.animator.set_source(self._paste.source)
        self._last = portrait.copy()

    def set_reference(self, driving: TrackedFace) -> None:
        self.animator.set_reference(driving.crop)

    def animate(self, driving: TrackedFace) -> np.ndarray:
        if self._paste is None or self._last is None:
            raise RuntimeError("FommEngine.set_portrait must be called before animate")
        if not driving.found:
            return self._last
        return self.paste(self.animator.animate(driving.crop))

    def paste(self, crop: np.ndarray) -> np.ndarray:
        """Blend an animated crop (SxSx3 uint8 RGB) into a copy of the portrait."""
        self._last = self._paste(crop)
        return self._last
