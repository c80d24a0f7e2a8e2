"""How far to open one portrait's mouth so that the opening reads as the driver's.

A small opening is easy to see on a photograph with bright, full lips and hard to see under a moustache or a
beard, on dark painted lips or on a grey engraving: there, a mouth opened exactly as far as the driver's still
reads as shut, and the portrait seems to mumble. The engine measures this once per portrait: it renders the
portrait's face at the tracker's 256-px framing with the jaw opened by a few amounts (straight and a little
smiling), reads each opening back with the landmarker that drives the engine (a stand-in for a viewer at
video-call size; a few jittered face boxes average out its noise), and keeps the inverse of that response.
Small openings are then widened up to what reads, within fixed bounds (never more than `MAX_GAIN` times or
`MAX_EXTRA` beyond the request, never narrowed below `MIN_GAIN` times); the mapping stays continuous and
increasing, a shut mouth's landmark noise is left alone and wide openings are rendered as requested.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from livepresenter.face.geometry import eye_distance, face_down, jittered_box, lip_opening, lower_jaw

log = logging.getLogger(__name__)

# Jaw openings rendered, in outer-eye-corner distances beyond the portrait's own.
OPENINGS = np.array([0.0, 0.02, 0.04, 0.06, 0.08, 0.11, 0.14, 0.18])
# Mouth corners drawn out and up by these amounts (eye distances): speech is not only a dropping jaw.
_SMILES = (0.0, 0.06)
# Face-box jitters for reading back: (dx, dy) as fractions of the box side, and a scale.
_JITTERS = ((0.0, 0.0, 1.0), (0.03, -0.02, 0.97), (-0.02, 0.03, 1.03))
MIN_GAIN, MAX_GAIN, MAX_EXTRA = 0.7, 2.5, 0.04
# The gain fades in above a shut mouth's landmark noise, and out over wide openings, which read on any face and
# which widened further would pull the face away from the portrait's identity (the alternatives tried are in
# BENCHMARKS.md).
_FADE_IN = (0.01, 0.03)
_FADE_OUT = (0.08, 0.14)

Render = Callable[[np.ndarray], np.ndarray]
"""Target landmarks (68, 2) -> the rendered face image in which they are read back."""
Read = Callable[[np.ndarray, tuple[float, float, float, float]], np.ndarray]
"""(image, face box x0, y0, x1, y1) -> the (68, 2) landmarks read inside that box (a refit, no detection)."""


@dataclass(frozen=True)
class MouthGain:
    """Maps requested mouth openings to rendered ones for one portrait.

    read_back: what each of `OPENINGS` read back as, less the shut mouth's reading, made non-decreasing (empty:
    no gain). own_opening: the portrait's own inner-lip opening, from which openings are counted.
    """

    read_back: np.ndarray
    own_opening: float

    @classmethod
    def identity(cls) -> MouthGain:
        return cls(np.zeros(0), 0.0)

    def opening(self, requested: float) -> float:
        """The opening to render (eye distances beyond the portrait's own) for a requested one: continuous and
        increasing, the extra fading out over wide openings."""
        if requested <= 0.0 or len(self.read_back) == 0 or self.read_back[-1] <= 0.0:
            return requested
        if requested <= self.read_back[-1]:
            needed = float(np.interp(requested, self.read_back, OPENINGS))
        else:
            needed = requested + float(OPENINGS[-1] - self.read_back[-1])
        needed = float(np.clip(needed, MIN_GAIN * requested, min(MAX_GAIN * requested, requested + MAX_EXTRA)))
        fade = _ramp(requested, *_FADE_IN) * (1.0 - _ramp(requested, *_FADE_OUT))
        return requested + fade * (needed - requested)

    def __call__(self, target: np.ndarray) -> np.ndarray:
        """Target landmarks with the jaw opened as far as `opening` says (a copy; float32)."""
        requested = lip_opening(target) - self.own_opening
        extra = self.opening(requested) - requested
        return (lower_jaw(target, extra) if extra != 0.0 else target).astype(np.float32)


def calibrate_mouth_gain(
    landmarks: np.ndarray, face_box: tuple[float, float, float, float], render: Render, read: Read
) -> MouthGain:
    """Measure how openings of this face read back (see the module docstring).

    landmarks and face_box are in the pixels `render` draws in.
    """
    rest = np.asarray(landmarks, dtype=np.float64)

    def read_back(amount: float) -> float:
        """The opening read, averaged over the mouth shapes and the jittered boxes."""
        images = [render(_smile(lower_jaw(rest, amount), smile).astype(np.float32)) for smile in _SMILES]
        return float(np.mean([lip_opening(read(image, jittered_box(face_box, *jitter)))
                              for image in images for jitter in _JITTERS]))

    response = np.array([read_back(amount) for amount in OPENINGS])
    # Increasing (a tiny slope breaks ties), so that its inverse is a function.
    response = np.maximum.accumulate(response - response[0]) + 1e-4 * np.arange(len(OPENINGS))
    log.debug("mouth calibration: openings %s read back as %s", OPENINGS, np.round(response, 3))
    return MouthGain(response, lip_opening(rest))


def _smile(landmarks: np.ndarray, amount: float) -> np.ndarray:
    """Mouth corners (outer and inner) drawn outwards and up by `amount` eye distances."""
    out = landmarks.copy()
    down = face_down(out)
    right = np.array([down[1], -down[0]])
    step = amount * eye_distance(out)
    for side, corners in ((-1.0, (48, 60)), (1.0, (54, 64))):
        out[list(corners)] += step * (side * right - 0.5 * down)
    return out


def _ramp(value: float, start: float, end: float) -> float:
    return float(np.clip((value - start) / (end - start), 0.0, 1.0))
