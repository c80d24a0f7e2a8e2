"""An animated face crop back into the whole portrait, for the engines that animate crops (FOMM, local or remote).

The crop is warped back through the inverse of the crop mapping and blended with a mask that fades to zero towards
the crop's edges, so no square seam shows.
"""

from __future__ import annotations

import cv2
import numpy as np

from livepresenter.face import Face
from livepresenter.face.crop import crop_box_from_landmarks, crop_image, crop_matrix

FEATHER = 0.12  # fraction of the crop side over which the paste-back fades out


def feather_mask(size: int, feather: float = FEATHER) -> np.ndarray:
    """size x size float32 alpha: 1 in the middle, smooth (cosine) fall to 0 at the border."""
    ramp = np.clip((np.arange(size) + 0.5) / (feather * size), 0, 1)
    ramp = 0.5 - 0.5 * np.cos(np.pi * np.minimum(ramp, ramp[::-1]))
    return np.outer(ramp, ramp).astype(np.float32)


class PasteBack:
    """The portrait's face crop (`source`, size x size) and the way back from an animated crop to the portrait."""

    def __init__(self, portrait: np.ndarray, face: Face, size: int) -> None:
        box = crop_box_from_landmarks(face.landmarks)
        self.source = crop_image(portrait, box, size)
        height, width = portrait.shape[:2]
        # Integer region of the portrait covered by the crop; paste-back works only there.
        half = box.side / 2
        self._roi = (max(0, int(np.floor(box.cx - half))), max(0, int(np.floor(box.cy - half))),
                     min(width, int(np.ceil(box.cx + half)) + 1), min(height, int(np.ceil(box.cy + half)) + 1))
        x0, y0, x1, y1 = self._roi
        from_crop = cv2.invertAffineTransform(crop_matrix(box, size))
        from_crop[:, 2] -= (x0, y0)
        self._from_crop = from_crop
        alpha = cv2.warpAffine(feather_mask(size), from_crop, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR)
        self._alpha = alpha[..., None]
        self._portrait = portrait

    def __call__(self, crop: np.ndarray) -> np.ndarray:
        """A copy of the portrait with the animated crop (SxSx3 uint8 RGB) blended in."""
        x0, y0, x1, y1 = self._roi
        out = self._portrait.copy()
        region = out[y0:y1, x0:x1].astype(np.float32)
        warped = cv2.warpAffine(crop, self._from_crop, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
        out[y0:y1, x0:x1] = (region + self._alpha * (warped - region)).round().astype(np.uint8)
        return out
