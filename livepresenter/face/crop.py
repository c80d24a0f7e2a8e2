"""The square face crop the engines see, and the mapping between image and crop pixels.

Framing (VoxCeleb-like, as the FOMM vox-256 model was trained on): the face is centred, with the forehead and
the top of the hair, the chin and a little neck inside the crop. Centre and size come only from the framing
landmarks (`geometry.FRAMING_POINTS`: jaw tops 0-2 and 14-16, nose 27-35, eyes 36-47): the mouth, chin and brows
move when the person talks or frowns, and a crop that breathes with the mouth would shake the animated portrait.

- size: `side = FRAMING_SIDE * s`, s = RMS distance of the rigid points from their centroid. At 6.2 the 68-point
  box is about 0.5 of the crop wide and 0.55 tall, between the two framings in ../shared/media/driving (GRID,
  VoxCeleb-style, 7.4; the tight Pexels crop, 5.3).
- centre: the rigid centroid (near the top of the nose) moved down by FRAMING_DOWN * s, so the face from hairline
  to chin sits in the middle and the eyes land a little above the crop's centre, as in VoxCeleb.

Coordinates follow OpenCV: pixel centres at integer positions. `crop_matrix` is the one place that defines the
image->crop mapping; `crop_image`, `to_crop_coords` and `from_crop_coords` all use it, so they agree exactly.
"""

from __future__ import annotations

import cv2
import numpy as np

from livepresenter.face.geometry import face_scale
from livepresenter.face.types import CropBox

CROP_SIZE = 256
"""Side of the face crops handed to the engines, in pixels: the vox-256 models' input."""
FRAMING_SIDE = 6.2
FRAMING_DOWN = 0.25


def crop_box_from_landmarks(landmarks: np.ndarray) -> CropBox:
    """The VoxCeleb-like square crop for one set of (68, 2) landmarks (see the module docstring)."""
    if landmarks.shape != (68, 2):
        raise ValueError(f"expected (68, 2) landmarks, got {landmarks.shape}")
    centroid, radius = face_scale(landmarks)
    return CropBox(cx=float(centroid[0]), cy=float(centroid[1] + FRAMING_DOWN * radius), side=FRAMING_SIDE * radius)


def crop_matrix(box: CropBox, size: int) -> np.ndarray:
    """2x3 affine matrix taking image pixels to crop pixels (a scale and a shift, no rotation)."""
    if box.side <= 0 or size <= 0:
        raise ValueError(f"crop side and size must be positive, got side={box.side}, size={size}")
    scale = size / box.side
    # The box centre lands on the crop centre, (size - 1) / 2 with pixel centres at integers; the box edges
    # cx +- side / 2 land on the crop's outer edges, -0.5 and size - 0.5.
    centre = (size - 1) / 2
    return np.array([[scale, 0.0, centre - scale * box.cx], [0.0, scale, centre - scale * box.cy]], dtype=np.float64)


def to_crop_coords(points: np.ndarray, box: CropBox, size: int) -> np.ndarray:
    """Map (N, 2) image pixel coordinates into the size x size crop of `box`; float32."""
    m = crop_matrix(box, size)
    return (np.asarray(points, dtype=np.float64) @ m[:, :2].T + m[:, 2]).astype(np.float32)


def from_crop_coords(points: np.ndarray, box: CropBox, size: int) -> np.ndarray:
    """Inverse of `to_crop_coords`: crop pixels back to image pixels; float32."""
    m = crop_matrix(box, size)
    return ((np.asarray(points, dtype=np.float64) - m[:, 2]) / np.diag(m[:, :2])).astype(np.float32)


def crop_image(image: np.ndarray, box: CropBox, size: int = CROP_SIZE) -> np.ndarray:
    """Resample the square `box` of an HxWxC image to size x size (sub-pixel exact, edges replicated).

    Replicating the border keeps crops near or past the image edge valid (no black bars for the engines to animate).
    When shrinking by 2x or more, the source is blurred first so fine detail (hair, print grain) does not alias.
    """
    m = crop_matrix(box, size)
    shrink = box.side / size
    if shrink >= 2.0:
        image, m = _blurred_region(image, box, m, sigma=0.5 * shrink)
    return cv2.warpAffine(image, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _blurred_region(image: np.ndarray, box: CropBox, m: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Blur only the part of the image the crop reads (plus the kernel's reach) and shift `m` to match."""
    h, w = image.shape[:2]
    reach = box.side / 2 + 3 * sigma + 2
    # Clamped so the region is never empty, even for a box wholly outside the image.
    x0 = int(np.clip(box.cx - reach, 0, w - 1))
    x1 = int(np.clip(box.cx + reach + 1, x0 + 1, w))
    y0 = int(np.clip(box.cy - reach, 0, h - 1))
    y1 = int(np.clip(box.cy + reach + 1, y0 + 1, h))
    region = cv2.GaussianBlur(image[y0:y1, x0:x1], (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)
    shifted = m.copy()
    shifted[:, 2] += m[:, :2] @ np.array([x0, y0], dtype=np.float64)
    return region, shifted
