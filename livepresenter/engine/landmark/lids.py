"""Closing eyelids drawn as lids covering the eye, not as an eye squeezed shut.

A warp can only move the portrait's own pixels. Pulling the upper lid down squeezes the iris and the white of the
eye into a glossy slit and stretches the shadow of the eye socket over it: a closed eye became a dark smudge. A
real lid is a curtain: it slides over the eyeball, which does not change, and the skin it brings was folded under
the brow while the eye was open. So the warp narrows an eye at most half-way (a squint keeps its iris and lashes)
and this paints the part of the eye a lid closing further covers with skin: the portrait's own skin from under the eye,
reflected about the lower lid (its grain and tone, meeting the lower lid where the lashes close), shaded towards the
socket's shadow at the top so the lid continues it, with the lashes along the lid's moving edge.
"""

from __future__ import annotations

import cv2
import numpy as np

from livepresenter.engine.landmark.drawing import open_curve, polygon_mask, soft_mask
from livepresenter.face.geometry import eye_distance, face_down, fit_similarity

# Each eye: outer corner, upper lid points, inner corner, lower lid points (outer to inner), whole outline.
_EYES = (
    (36, (37, 38), 39, (41, 40), slice(36, 42)),
    (45, (44, 43), 42, (46, 47), slice(42, 48)),
)
# The open lid's own lashes: the cover reaches this far above the open lid's edge (outer-eye-corner distances) so
# that they go under the closing lid instead of staying behind as a second lash line. Its upper half fades in from
# the socket; its lower half, where those lashes are, is opaque.
_LASH_REACH = 0.04
# The lid's skin is read this far (outer-eye-corner distances) below the lower lid's mirror image of each point,
# clear of the lower lid's rim, and darkened by _LID_SHADE (the lid sits deeper under the brow than the cheek).
_RIM = 0.03
_LID_SHADE = 0.88
# Where the top's colour is taken: this far above the cover, smoothed along it over _TOP_SMOOTHING.
_ABOVE = 0.015
_TOP_SMOOTHING = 0.05
# Lashes along the closing lid's edge: half-thickness (outer-eye-corner distances) and strength (1: the colour of
# the darkest tenth of the open eye: its lashes and pupil).
_LASH_WIDTH = 0.007
_LASH_STRENGTH = 0.75
_FEATHER = 0.004
# How far a lowering lid is still drawn by the warp (a fraction of the eye's opening): a squint narrows the eye and
# keeps its lashes and iris; the cover takes over beyond, fading in over _COVER_RAMP (outer-eye-corner distances)
# so the repainted lash line does not flicker on.
_SQUEEZE = 0.5
_COVER_RAMP = 0.02


class LidCover:
    """Limits how far the warp lowers the upper lids and paints the lid over what a lid closing further covers."""

    def __init__(self, portrait: np.ndarray, landmarks: np.ndarray) -> None:
        self._rest = landmarks.astype(np.float64)
        self._lash = []
        for *_, outline in _EYES:
            eye = polygon_mask(portrait.shape[:2], self._rest[outline])
            pixels = portrait[eye] if eye.any() else portrait.reshape(-1, 3)
            level = pixels.astype(np.float32).mean(1)
            self._lash.append(pixels[level <= np.percentile(level, 10)].astype(np.float32).mean(0))

    def warp_target(self, target: np.ndarray) -> np.ndarray:
        """`target` with each upper lid lowered by at most _SQUEEZE of the eye's opening below where the open lid
        would be (the portrait's own lid carried by the eye's corners): the warp narrows the eye that far, the cover
        closes the rest."""
        out = target.astype(np.float64, copy=True)
        down = face_down(out)
        for outer, lid, inner, lower_lid, _ in _EYES:
            points = list(lid)
            pose = fit_similarity(self._rest[[outer, inner]], out[[outer, inner]])
            open_lid = pose.apply(self._rest[points])
            opening = np.maximum((pose.apply(self._rest[list(lower_lid)]) - open_lid) @ down, 0.0)
            excess = (out[points] - open_lid) @ down - _SQUEEZE * opening
            out[points] -= np.maximum(excess, 0.0)[:, None] * down
        return out.astype(np.float32)

    def __call__(self, image: np.ndarray, target: np.ndarray, warp_target: np.ndarray) -> None:
        """Paint, in place into `image` (warped to `warp_target`), the lids closed to `target`."""
        unit = eye_distance(target)
        down = face_down(target.astype(np.float64))
        for (outer, lid, inner, lower_lid, _), lash in zip(_EYES, self._lash, strict=True):
            closing = target[[outer, *lid, inner]].astype(np.float64)
            open_edge = warp_target[[outer, *lid, inner]].astype(np.float64)
            strength = min(float(((closing - open_edge) @ down).max()) / (_COVER_RAMP * unit), 1.0)
            if strength > 0.0:
                lower = target[[outer, *lower_lid, inner]].astype(np.float64)
                _paint_lid(image, open_edge, closing, lower, lash, strength, unit, down)


def _paint_lid(image: np.ndarray, open_edge: np.ndarray, closing: np.ndarray, lower: np.ndarray, lash: np.ndarray,
               strength: float, unit: float, down: np.ndarray) -> None:
    """One lid, from above its open edge down to its closing edge (each: outer corner, two lid points, inner
    corner); `lower`: the lower lid, the same way round."""
    across = np.array([-down[1], down[0]])
    top = open_curve(open_edge - np.outer([0.3, 1.0, 1.0, 0.3], _LASH_REACH * unit * down))
    bottom = open_curve(closing)
    polygon = np.vstack([top, bottom[::-1]])
    feather, lash_width = max(0.6, _FEATHER * unit), max(0.6, _LASH_WIDTH * unit)
    pad = int(np.ceil(3 * feather + 3 * lash_width)) + 2
    lo = np.maximum(np.floor(polygon.min(0)).astype(int) - pad, 0)
    hi = np.minimum(np.ceil(polygon.max(0)).astype(int) + pad, image.shape[1::-1])
    if np.any(hi - lo < 2):
        return
    rows, cols = np.indices((int(hi[1] - lo[1]), int(hi[0] - lo[0])), dtype=np.float32)
    px = np.stack([cols + lo[0], rows + lo[1]], axis=-1)
    px_across, px_depth = px @ across, px @ down
    top_depth, bottom_depth, lower_depth = (
        _along(curve, across, curve @ down, px_across) for curve in (top, bottom, open_curve(lower))
    )
    t = np.clip((px_depth - top_depth) / np.maximum(bottom_depth - top_depth, 1.0), 0.0, 1.0)

    # The skin under the eye, reflected about the lower lid: the lid's grain and lit tone.
    mirrored = px + (2.0 * (lower_depth - px_depth) + _RIM * unit)[..., None] * down
    skin = cv2.remap(image, mirrored.astype(np.float32), None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    skin = skin.astype(np.float32) * _LID_SHADE
    # At the top, the socket's own shade (with the skin's grain), so the lid continues it without a seam.
    above = _colours_along(image, top - _ABOVE * unit * down, _TOP_SMOOTHING * unit)
    top_colour = np.stack([_along(top, across, above[:, c], px_across) for c in range(3)], axis=-1)
    grain = skin - cv2.GaussianBlur(skin, (0, 0), max(1.0, 0.02 * unit))
    lit = (t * t * (3.0 - 2.0 * t))[..., None]
    colour = (top_colour + grain) * (1.0 - lit) + skin * lit
    lashes = np.exp(-(((px_depth - bottom_depth) / lash_width) ** 2))
    colour += (_LASH_STRENGTH * lashes)[..., None] * (lash - colour)

    fade_in = np.clip((px_depth - top_depth) / (0.5 * _LASH_REACH * unit), 0.0, 1.0)
    inside = soft_mask(t.shape, polygon - lo, feather) * fade_in
    lash_reach = soft_mask(t.shape, polygon - lo, 2 * lash_width)
    alpha = strength * np.maximum(inside, _LASH_STRENGTH * lashes * lash_reach)
    region = image[lo[1] : hi[1], lo[0] : hi[0]]
    region[:] = np.clip(region + alpha[..., None] * (colour - region), 0, 255).astype(np.uint8)


def _colours_along(image: np.ndarray, curve: np.ndarray, smoothing: float) -> np.ndarray:
    """(len(curve), 3) float colours of `image` along `curve`, smoothed along it over `smoothing` pixels."""
    xs, ys = (curve[:, k].astype(np.float32)[None] for k in (0, 1))
    samples = cv2.remap(image, xs, ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
    step = max(float(np.linalg.norm(np.diff(curve, axis=0), axis=1).mean()), 1e-3)
    return cv2.GaussianBlur(samples, (0, 0), sigmaX=max(smoothing / step, 0.5), sigmaY=1e-3)[0]


def _along(curve: np.ndarray, across: np.ndarray, values: np.ndarray, at: np.ndarray) -> np.ndarray:
    """`values` (one per curve point) interpolated at positions `at` across the face (along `across`)."""
    position = curve @ across
    order = np.argsort(position)
    return np.interp(at, position[order], values[order])
