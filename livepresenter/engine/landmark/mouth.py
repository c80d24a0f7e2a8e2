"""Mouth interior for a portrait whose mouth is opened wider than it was painted.

The warp can only stretch the portrait's own pixels, so an opened closed-mouth portrait shows a
smear of lip texture between the lips. It is painted over, feathered, inside the target inner-lip
curve: a cavity darker than the portrait's own shadows, lighter towards the lips (shading by a
blurred copy of the mask, so it follows the lip shape rather than forming a bar) and towards the
tongue low down, and, on a wide-open mouth, a hint of teeth: the upper row under the upper lip, the lower row in
shadow above the lower lip, with the lip's shadow on them and faint gaps between teeth.
Colours come from the portrait (lip hue, shadows, highlights), so grayscale photographs stay gray
and paintings keep their palette.
"""

from __future__ import annotations

import cv2
import numpy as np

from livepresenter.engine.landmark.drawing import closed_curve, open_curve, polygon_mask, soft_mask
from livepresenter.face.geometry import INNER_LIPS, OUTER_LIPS, eye_distance, face_down, lip_opening

_UPPER_INNER = np.array([60, 61, 62, 63, 64])
_LOWER_INNER = np.array([60, 67, 66, 65, 64])

# Opening beyond twice the portrait's own, in inter-ocular distances, at which the fill is opaque.
_FULL_OPACITY_GAP = 0.05
# The inside of a mouth gets almost no light: its cavity and rim are this fraction of the face's own shadows. As
# dark as those shadows, an opening merged with a moustache, a beard or dark painted lips and read as shut. On 36
# cross-identity runs (the six portraits as given and re-encoded at 85 % size, three clips) the dlib reading of
# the opening followed the driver's at a mean correlation of 0.75 instead of 0.69 (re-encoded: 0.73, 0.67), 31
# runs better or equal and none worse by more than 0.04, identity distances unchanged (BENCHMARKS.md).
_CAVITY_DARKNESS = 0.3
# Mouth opening (gap / mouth width) over which the teeth fade in: a hint of teeth on a wide-open mouth (a yawn,
# a shout) only. Bright teeth in a speaking or laughing mouth read as a clenched grin, to viewers and to
# landmarkers alike: on the Pexels clip the dlib reading of Newton's inner lips went against the requested
# opening (correlation -0.39; +0.44 without teeth in those frames), and teeth raised identity distances
# (Einstein 0.315 -> 0.282). A dark cavity reads as open.
_TEETH_FADE = (0.35, 0.7)
_TEETH_OPACITY = 0.95
_TEETH_PERCENTILE = 99
# Visible teeth height under the upper lip and above the lower lip: at most these fractions of the
# opening and of the mouth width (a speaking mouth shows mostly teeth; a wide one, the cavity too).
_UPPER_TEETH = (0.55, 0.15)
_LOWER_TEETH = (0.3, 0.08)
# Where one tooth meets the next, across the mouth from its centre (0) to a corner (1): incisors
# wide, the teeth behind them ever narrower as the arch turns away.
_TOOTH_EDGES = np.array([0.0, 0.2, 0.37, 0.51, 0.63], dtype=np.float32)
# Feather of the cavity edge, as a fraction of the opening (at least 0.8 px).
_FEATHER = 0.08


class MouthFill:
    """Paints the mouth interior into warped frames of one portrait."""

    def __init__(self, portrait: np.ndarray, landmarks: np.ndarray) -> None:
        lips, _ = lip_masks(portrait.shape[:2], landmarks)
        lip_colour = portrait[lips].astype(np.float32).mean(0) if lips.any() else np.full(3, 96.0)
        face = polygon_mask(portrait.shape[:2], cv2.convexHull(landmarks[:27]).reshape(-1, 2))
        skin = portrait[face].astype(np.float32)
        brightness = skin.mean(1)
        bright = skin[brightness >= np.percentile(brightness, _TEETH_PERCENTILE)].mean(0)
        # The cavity is darker than the portrait's own deepest shadows whatever the lips' brightness
        # (a sunlit lower lip must not make a grey mouth), tinted with the lips' hue.
        shadow = float(np.percentile(brightness, 3))
        lip_level = float(lip_colour.mean())
        tint = lip_colour / max(lip_level, 1.0)
        self._deep = _CAVITY_DARKNESS * tint * shadow
        self._edge = _CAVITY_DARKNESS * tint * (shadow + 0.3 * max(lip_level - shadow, 0.0))
        self._tongue = tint * (shadow + 0.45 * max(lip_level - shadow, 0.0))
        # Teeth: as bright as the face's highlights (the brightest thing in a mouth, which is what
        # makes it read as open), mostly desaturated; the lower row is drawn in shadow.
        self._teeth = 0.6 * bright.mean() + 0.4 * bright
        self._own_gap = max(lip_opening(landmarks), 0.0)

    def __call__(self, image: np.ndarray, target: np.ndarray) -> None:
        """Paint the interior into `image` (the warped portrait) in place, for target landmarks."""
        # A portrait's own open mouth still looks right stretched to twice its opening.
        opening = lip_opening(target)
        excess = opening - 2.0 * self._own_gap
        gap = opening * eye_distance(target)
        opacity = float(np.clip(excess / _FULL_OPACITY_GAP, 0.0, 1.0))
        if opacity <= 0.0:
            return
        width = float(np.linalg.norm(target[64] - target[60]))
        feather = max(0.8, _FEATHER * gap)
        inner = closed_curve(target[INNER_LIPS])
        pad = int(np.ceil(3 * feather)) + 2
        lo = np.maximum(np.floor(inner.min(0)).astype(int) - pad, 0)
        hi = np.minimum(np.ceil(inner.max(0)).astype(int) + pad, image.shape[1::-1])
        if np.any(hi <= lo):
            return
        shape = (int(hi[1] - lo[1]), int(hi[0] - lo[0]))
        cavity = soft_mask(shape, inner - lo, feather)
        depth = cv2.GaussianBlur(cavity, (0, 0), max(1.0, 0.3 * gap))
        depth /= max(float(depth.max()), 1e-6)
        colour = self._shade(cavity, depth, lo, target, gap, width, feather)
        alpha = (cavity * opacity)[..., None]
        region = image[lo[1] : hi[1], lo[0] : hi[0]]
        region[:] = np.clip(region * (1.0 - alpha) + colour * alpha, 0, 255).astype(np.uint8)

    def _shade(
        self,
        cavity: np.ndarray,
        depth: np.ndarray,
        lo: np.ndarray,
        target: np.ndarray,
        gap: float,
        width: float,
        feather: float,
    ) -> np.ndarray:
        """Interior colour: lip-tinted at the rim, dark deep inside, tongue low, teeth on top."""
        colour = self._edge + depth[..., None] * (self._deep - self._edge)
        down = face_down(target)
        rows, cols = np.indices(cavity.shape, dtype=np.float32)
        above_lower_lip = (target[[65, 66, 67]].mean(0) - lo) @ down - (cols * down[0] + rows * down[1])
        low = np.clip(1.0 - above_lower_lip / max(0.45 * gap, 1.0), 0.0, 1.0) * depth
        colour += (0.5 * low)[..., None] * (self._tongue - colour)
        fade = float(np.clip((gap / width - _TEETH_FADE[0]) / (_TEETH_FADE[1] - _TEETH_FADE[0]), 0, 1))
        if fade > 0.0:
            for curve, sign, height, strength, shade in (
                (open_curve(target[_UPPER_INNER]), 1.0, _UPPER_TEETH, _TEETH_OPACITY, 1.0),
                (open_curve(target[_LOWER_INNER]), -1.0, _LOWER_TEETH, 0.8 * _TEETH_OPACITY, 0.8),
            ):
                band_height = min(height[0] * gap, height[1] * width)
                band = _teeth_band(cavity.shape, curve - lo, sign * band_height * down, width, feather)
                colour += (band * (strength * fade))[..., None] * (shade * self._teeth - colour)
        return colour


def _teeth_band(
    shape: tuple[int, int], lip: np.ndarray, reach: np.ndarray, width: float, feather: float
) -> np.ndarray:
    """Teeth showing from under one inner lip (curve from corner to corner), reaching `reach`
    (a vector into the mouth) at mid-mouth and tapering to the corners. Shaded so it reads as teeth,
    not a grey bar: in the lip's shadow where they meet it, faint gaps between teeth that narrow
    towards the corners, and dimmer there, where the teeth turn away from the light."""
    u = np.linspace(-1.0, 1.0, len(lip))[:, None]
    edge = lip + (1.0 - u**2) * reach
    band = soft_mask(shape, np.vstack([lip, edge[::-1]]), 0.5 * feather)
    under_lip = soft_mask(shape, np.vstack([lip, (lip + 0.3 * (edge - lip))[::-1]]), 0.5 * feather)
    cols = np.arange(shape[1], dtype=np.float32)
    across = (cols - float(lip[:, 0].mean())) / (0.5 * width)
    gaps = np.exp(-(((np.abs(across)[:, None] - _TOOTH_EDGES[None, :]) / 0.025) ** 2)).sum(1)
    light = (1.0 - 0.35 * np.clip(np.abs(across), 0.0, 1.0) ** 2) * (1.0 - 0.2 * gaps)
    return band * (1.0 - 0.25 * under_lip) * light[None, :]


def lip_masks(shape: tuple[int, int], landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks of the lips (between the outer and inner lip outlines) and of the mouth inside them."""
    inside = polygon_mask(shape, landmarks[INNER_LIPS])
    return polygon_mask(shape, landmarks[OUTER_LIPS]) & ~inside, inside
