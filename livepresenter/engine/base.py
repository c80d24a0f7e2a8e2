"""The one interface the pipeline uses for every engine (landmark engine, FOMM).

Contract, in the spirit of pyvirtualcam's backend ABC (documentation and typing only; engines do
not need to inherit):
- `set_portrait(portrait, face)` is called once per presenter with the whole portrait (HxWx3 uint8 RGB)
  and the face found in it; heavy per-portrait work (landmarks, source caches) happens here.
- `set_reference(driving)` fixes the driving frame that relative motion is measured from.
- `animate(driving)` returns the animated portrait, HxWx3 uint8 RGB, at the portrait's own size.
  Called with a TrackedFace whose face may be None; engines then hold their last pose.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from livepresenter.face import Face, TrackedFace


class AnimationEngine(Protocol):
    name: str

    def set_portrait(self, portrait: np.ndarray, face: Face) -> None: ...

    def set_reference(self, driving: TrackedFace) -> None: ...

    def animate(self, driving: TrackedFace) -> np.ndarray: ...
