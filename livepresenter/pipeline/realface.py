"""“Show my real face”: the webcam around the face, framed like the portrait it replaces."""

from __future__ import annotations

import cv2
import numpy as np

from livepresenter.face import CropBox


def realface_view(frame: np.ndarray, box: CropBox, size: tuple[int, int]) -> np.ndarray:
    """The region around `box` with the aspect of `size` (width, height), resampled to that size.

    The face crop's side becomes the shorter side of the view, so the face fills it as it fills
    the engines' crop; edges past the frame are replicated.
    """
    width, height = size
    scale = min(width, height) / box.side
    matrix = np.array([[scale, 0, width / 2 - scale * box.cx], [0, scale, height / 2 - scale * box.cy]], np.float64)
    return cv2.warpAffine(frame, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
