"""FOMM behind the engine interface: portrait face crop in, feathered paste-back out.

FOMM animates a 256x256 face crop; the stage shows the whole portrait at its own resolution, so
the animated crop is warped back into the portrait through the inverse of the crop mapping and
blended with a mask that fades to zero towards the crop's edges (no visible square seam).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from livepresenter.face import Face, TrackedFace
from livepresenter.face.crop import crop_box_from_landmarks, crop_image, crop_matrix

FEATHER = 0.12  # fraction of the crop side over which the paste-back fades out


def feather_mask(size: int, feather: float = FEATHER) -> np.ndarray:
    """size x size float32 alpha: 1 in the middle, smooth (cosine) fall to 0 at the border."""
    ramp = np.clip((np.arange(size) + 0.5) / (feather * size), 0, 1)
    ramp = 0.5 - 0.5 * np.cos(np.pi * np.minimum(ramp, ramp[::-1]))
    return np.outer(ramp, ramp).astype(np.float32)


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
        self._portrait: np.ndarray | None = None
        self._last: np.ndarray | None = None

    def set_portrait(self, portrait: np.ndarray, face: Face) -> None:
        size = self.animator.size
        box = crop_box_from_landmarks(face.landmarks)
        self.animator.set_source(crop_image(portrait, box, size))
        height, width = portrait.shape[:2]
        to_crop = crop_matrix(box, size)
        # Integer region of the portrait covered by the crop; paste-back works only there.
        half = box.side / 2
        self._roi = (max(0, int(np.floor(box.cx - half))), max(0, int(np.floor(box.cy - half))),
                     min(width, int(np.ceil(box.cx + half)) + 1), min(height, int(np.ceil(box.cy + half)) + 1))
        x0, y0, x1, y1 = self._roi
        from_crop = cv2.invertAffineTransform(to_crop)
        from_crop[:, 2] -= (x0, y0)
        self._from_crop = from_crop
        alpha = cv2.warpAffine(feather_mask(size), from_crop, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR)
        self._alpha = alpha[..., None]
        self._portrait = portrait
        self._last = portrait.copy()

    def set_reference(self, driving: TrackedFace) -> None:
        self.animator.set_reference(driving.crop)

    def animate(self, driving: TrackedFace) -> np.ndarray:
        if self._portrait is None or self._last is None:
            raise RuntimeError("FommEngine.set_portrait must be called before animate")
        if not driving.found:
            return self._last
        return self.paste(self.animator.animate(driving.crop))

    def paste(self, crop: np.ndarray) -> np.ndarray:
        """Blend an animated crop (SxSx3 uint8 RGB) into a copy of the portrait."""
        x0, y0, x1, y1 = self._roi
        out = self._portrait.copy()
        region = out[y0:y1, x0:x1].astype(np.float32)
        warped = cv2.warpAffine(crop, self._from_crop, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
        out[y0:y1, x0:x1] = (region + self._alpha * (warped - region)).round().astype(np.uint8)
        self._last = out
        return out
