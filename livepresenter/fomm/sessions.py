"""FOMM for many presenters at once: one source cache per session, one batched pass for frames of any sessions.

A server animates several lecturers' frames together (Triton's dynamic batcher hands them over as one batch): the
keypoint detector and the generator run once on the stacked driving crops, each row against its own session's
cached portrait (encoder features, keypoints) and neutral reference. Relative motion is `normalize_kp` with one
movement scale per row, so a batch gives what `Animator.animate` gives frame by frame.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from livepresenter.fomm.animator import Animator
from livepresenter.fomm.checkpoint import FommModel
from livepresenter.fomm.keypoint_detector import KeypointDict
from livepresenter.fomm.keypoints import movement_scale_of, normalize_kp

IDLE_EXPIRY_S = 300.0  # a session not used for this long is dropped (its client re-sends the presenter)
MAX_SESSIONS = 64      # the least recently used beyond this are dropped (about 4 MB of GPU memory each at vox-256)


@dataclass
class Session:
    """What one client's presenter leaves on the server."""

    features: torch.Tensor
    source_small: torch.Tensor | None
    kp_source: KeypointDict
    kp_reference: KeypointDict | None = None
    movement_scale: float = 1.0
    used: float = 0.0


def _stack(dicts: Sequence[KeypointDict]) -> KeypointDict:
    return {key: torch.cat([d[key] for d in dicts]) for key in dicts[0]}


class SessionAnimator:
    """`set_source` / `set_reference` per session, then `animate(sessions, crops)` for a batch of frames.

    Thread-safe: the server's setup and animation requests arrive on different threads.
    """

    def __init__(self, model: FommModel, precision: str = "fp32", idle_expiry_s: float = IDLE_EXPIRY_S,
                 max_sessions: int = MAX_SESSIONS, clock: Callable[[], float] = time.monotonic) -> None:
        self._animator = Animator(model, precision=precision)  # networks, device and the crop <-> tensor edges
        self.idle_expiry_s = idle_expiry_s
        self.max_sessions = max_sessions
        self._clock = clock
        self._sessions: OrderedDict[str, Session] = OrderedDict()  # least recently used first
        self._lock = threading.Lock()

    @property
    def precision(self) -> str:
        return self._animator.precision.name

    @property
    def device(self) -> torch.device:
        return self._animator.device

    @property
    def size(self) -> int:
        return self._animator.size

    def __len__(self) -> int:
        return len(self._sessions)

    def __contains__(self, session: str) -> bool:
        return session in self._sessions

    @torch.inference_mode()
    def set_source(self, session: str, crop: np.ndarray) -> None:
        """Cache the portrait crop's encoding for `session` (a new session, or a presenter switch: the reference is
        kept only while the client does not send a new one)."""
        image = self._animator.to_tensor(crop)
        features, source_small = self._animator.networks.encode(image)
        kp_source = self._animator.keypoints(image)
        with self._lock:
            self._drop_idle()
            old = self._sessions.pop(session, None)
            state = Session(features, source_small, kp_source, used=self._clock())
            if old is not None and old.kp_reference is not None:
                self._reference(state, old.kp_reference)
            self._sessions[session] = state
            while len(self._sessions) > self.max_sessions:
                self._sessions.popitem(last=False)

    @torch.inference_mode()
    def set_reference(self, session: str, crop: np.ndarray) -> bool:
        """Measure `session`'s motion from this driving crop; False when the session is unknown (expired, or the
        server restarted): the client then sends its presenter again."""
        kp = self._animator.keypoints(self._animator.to_tensor(crop))
        with self._lock:
            state = self._sessions.get(session)
            if state is None:
                return False
            self._reference(state, kp)
            state.used = self._clock()
            return True

    def _reference(self, state: Session, kp_reference: KeypointDict) -> None:
        state.kp_reference = kp_reference
        state.movement_scale = movement_scale_of(state.kp_source, kp_reference)

    @torch.inference_mode()
    def animate(self, sessions: Sequence[str], crops: Sequence[np.ndarray]) -> list[np.ndarray | None]:
        """Animated portrait crops (SxSx3 uint8 RGB), None where the session is unknown. A session without a
        reference takes its first frame as one, as `Animator` does."""
        out: list[np.ndarray | None] = [None] * len(sessions)
        with self._lock:
            self._drop_idle()
            now = self._clock()
            rows = [(i, self._sessions[key]) for i, key in enumerate(sessions) if key in self._sessions]
            for i, state in rows:
                state.used = now
                self._sessions.move_to_end(sessions[i])
            if not rows:
                return out
            images = self._model_input([crops[i] for i, _ in rows])
            kp_driving = self._animator.keypoints(images)
            for row, (_, state) in enumerate(rows):
                if state.kp_reference is None:
                    self._reference(state, {key: value[row:row + 1] for key, value in kp_driving.items()})
            states = [state for _, state in rows]
            kp_source = _stack([s.kp_source for s in states])
            scale = torch.tensor([s.movement_scale for s in states], device=images.device).view(-1, 1, 1)
            kp_norm = normalize_kp(kp_source, kp_driving, _stack([s.kp_reference for s in states]),
                                   adapt_movement_scale=True, use_relative_movement=True, use_relative_jacobian=True,
                                   movement_scale=scale)
            small = None if states[0].source_small is None else torch.cat([s.source_small for s in states])
            prediction = self._animator.networks.generate(torch.cat([s.features for s in states]), small, kp_norm,
                                                          kp_source)
            pixels = Animator.batch_pixels(prediction).cpu().numpy()
        for row, (i, _) in enumerate(rows):
            out[i] = pixels[row]
        return out

    def _model_input(self, crops: list[np.ndarray]) -> torch.Tensor:
        """The crops as one (B, 3, S, S) batch: one upload per crop size (clients send 256 px crops: one in all)."""
        by_size: dict[tuple, list[int]] = {}
        for i, crop in enumerate(crops):
            by_size.setdefault(crop.shape, []).append(i)
        parts, order = [], []
        for rows in by_size.values():
            parts.append(self._animator.to_tensor(np.stack([crops[i] for i in rows])))
            order += rows
        images = torch.cat(parts) if len(parts) > 1 else parts[0]
        return images if order == sorted(order) else images[torch.tensor(np.argsort(order), device=images.device)]

    def warm_up(self, batch_sizes: Sequence[int] = (1, 2)) -> None:
        """Run the first batches before any client waits on them (kernel choice, allocator pools)."""
        size = self.size
        crop = np.full((size, size, 3), 128, np.uint8)
        self.set_source("warm-up", crop)
        for count in batch_sizes:
            self.animate(["warm-up"] * count, [crop] * count)
        with self._lock:
            self._sessions.pop("warm-up", None)

    def _drop_idle(self) -> None:
        """Forget sessions idle longer than the expiry (caller holds the lock)."""
        limit = self._clock() - self.idle_expiry_s
        for key in [k for k, v in self._sessions.items() if v.used < limit]:
            del self._sessions[key]
