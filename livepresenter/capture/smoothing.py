"""One Euro filter (Casiez, Roussel & Vogel, CHI 2012), vectorised over numpy arrays.

Why: landmarks jitter by about a pixel from frame to frame even when the head is still, and a jittering crop
makes the whole animated portrait shake. A fixed low-pass filter trades that jitter for lag, which is just as
visible when the head moves. The One Euro filter is a first-order low-pass whose cutoff rises with the measured
speed: at rest the cutoff is `min_cutoff_hz` (heavy smoothing, no jitter); during fast motion it grows by
`beta` per unit of speed (little smoothing, little lag).
"""

from __future__ import annotations

import math

import numpy as np


def _alpha(cutoff_hz: np.ndarray | float, dt_s: float) -> np.ndarray | float:
    """Smoothing factor of an exponential filter with this cutoff, sampled every dt_s seconds."""
    tau = 1.0 / (2.0 * math.pi * cutoff_hz)
    return 1.0 / (1.0 + tau / dt_s)


class OneEuroFilter:
    """Filter a fixed-shape float array sampled at (possibly irregular) timestamps.

    Args:
        min_cutoff_hz: cutoff at rest; lower means less jitter and more lag for slow motion.
        beta: how fast the cutoff grows with speed (Hz per unit/second of the filtered values); a scalar, or an
            array broadcast against the values to tune each component on its own.
        d_cutoff_hz: cutoff of the low-pass applied to the speed estimate itself.
    """

    def __init__(self, *, min_cutoff_hz: float, beta: float | np.ndarray, d_cutoff_hz: float = 1.0) -> None:
        if min_cutoff_hz <= 0 or d_cutoff_hz <= 0 or np.any(np.asarray(beta) < 0):
            raise ValueError(
                f"One Euro parameters must be min_cutoff_hz > 0, d_cutoff_hz > 0, beta >= 0; "
                f"got {min_cutoff_hz}, {d_cutoff_hz}, {beta}"
            )
        self.min_cutoff_hz = min_cutoff_hz
        self.beta = np.asarray(beta, dtype=np.float64)
        self.d_cutoff_hz = d_cutoff_hz
        self.reset()

    def reset(self) -> None:
        """Forget the past: the next sample passes through unchanged."""
        self._value: np.ndarray | None = None
        self._speed: np.ndarray | None = None
        self._t_s = 0.0

    def __call__(self, value: np.ndarray, t_s: float) -> np.ndarray:
        """Return the filtered value at time t_s (seconds, increasing)."""
        value = np.asarray(value, dtype=np.float64)
        if self._value is None or self._speed is None:
            self._value, self._speed, self._t_s = value.copy(), np.zeros_like(value), t_s
            return value.copy()
        dt_s = t_s - self._t_s
        if dt_s <= 0:
            raise ValueError(f"timestamps must increase: got {t_s} after {self._t_s}")
        raw_speed = (value - self._value) / dt_s
        self._speed = self._speed + _alpha(self.d_cutoff_hz, dt_s) * (raw_speed - self._speed)
        cutoff_hz = self.min_cutoff_hz + self.beta * np.abs(self._speed)
        self._value = self._value + _alpha(cutoff_hz, dt_s) * (value - self._value)
        self._t_s = t_s
        return self._value.copy()
