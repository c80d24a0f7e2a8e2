"""Where a portrait's shut lips meet, when the landmarker put the inner-lip points elsewhere.

On a closed mouth the 68-point landmarker sometimes places the lower inner-lip points (65-67) inside the lower
lip rather than on the line where the lips meet (a sunlit lower lip, a beard below it, JPEG re-encoding of the
same photograph moved them there). The portrait then seems to have its mouth a little open: the engine takes
that as the rest opening (no cavity is painted until the mouth is opened twice as far, and small openings are
not widened), and opening the jaw splits the lower lip along the misplaced points instead of parting the lips.

The pixels settle it. A slightly open mouth is darker inside than its lips (teeth show only in a wider one); if
the region between the inner-lip points of a mouth read as at most slightly open is no darker than the lips
around it, the mouth is shut, and its lips meet along the darkest line between the upper and lower lip (their
shadow). Each upper/lower inner-lip pair moves onto that line.
"""

from __future__ import annotations

import cv2
import numpy as np

from livepresenter.engine.landmark.mouth import lip_masks
from livepresenter.face.geometry import eye_distance, face_down, lip_opening

# (upper inner, lower inner, upper outer, lower outer) lip points on one line across the mouth.
_COLUMNS = np.array([(61, 67, 50, 58), (62, 66, 51, 57), (63, 65, 52, 56)])
_SAMPLES = 48
# Inner-lip openings (outer-eye-corner distances) up to which a reading may be a shut mouth misread. Wider ones
# are open whatever the pixels inside (teeth can be brighter than the lips).
_SLIGHT_OPENING = 0.06
# The meeting line is looked for between the landmarker's own upper and lower inner-lip points, widened by this
# fraction of the lips' total height: the lips' outer edges are kept out, because the shadow under the lower lip
# (and a beard there) or a moustache above the upper one is often darker than the line where the lips meet.
_MARGIN = 0.1
# Half-width of the strip averaged across the mouth at each column, in outer-eye-corner distances: wide enough
# to average out grain and brush strokes, narrow enough to follow the lip line's curve.
_STRIP = 0.02


def settle_shut_lips(image_rgb: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """The landmarks with a shut mouth's inner-lip pairs moved onto the line where the lips meet (a copy, float32);
    unchanged when the mouth is open (read wider than a slight opening, or darker inside than its lips) or its
    lips cannot be measured."""
    points = np.asarray(landmarks, dtype=np.float64)
    if lip_opening(points) > _SLIGHT_OPENING:
        return points.astype(np.float32)
    grey = image_rgb.astype(np.float32).mean(axis=2)
    lips, interior = lip_masks(grey.shape, points)
    if not interior.any() or not lips.any() or grey[interior].mean() < grey[lips].mean():
        return points.astype(np.float32)
    down = face_down(points)
    across = np.array([-down[1], down[0]])
    half_strip = _STRIP * eye_distance(points)
    out = points.copy()
    for upper, lower, outer_upper, outer_lower in _COLUMNS:
        centre = 0.5 * (points[upper] + points[lower])
        top = (points[outer_upper] - centre) @ down
        bottom = (points[outer_lower] - centre) @ down
        margin = _MARGIN * (bottom - top)
        low = max(top + margin, (points[upper] - centre) @ down - margin)
        high = min(bottom - margin, (points[lower] - centre) @ down + margin)
        if high - low < 1.0:
            continue
        depth = np.linspace(low, high, _SAMPLES)
        offsets = np.linspace(-half_strip, half_strip, 5)
        line = centre + depth[:, None, None] * down + offsets[None, :, None] * across
        profile = cv2.remap(grey, line[..., 0].astype(np.float32), line[..., 1].astype(np.float32),
                            cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).mean(axis=1)
        meet = centre + depth[int(np.argmin(profile))] * down
        out[upper] = out[lower] = meet
    return out.astype(np.float32)
