"""FOMM from a shared GPU server, with the landmark engine on the laptop for every frame the server cannot give.

Tracking, paste-back, label, virtual camera and recording stay local; only face crops travel
(`livepresenter.remote`). When the server is unreachable, refuses the token or answers late, the frame comes from
the local landmark engine, said once in the log; the first frame the server gives in time switches back.
"""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np

from livepresenter.engine.paste_back import PasteBack
from livepresenter.face import Face, TrackedFace
from livepresenter.face.crop import CROP_SIZE

log = logging.getLogger(__name__)

OFFLINE_DEADLINE_S = 30.0  # render and eval wait this long for a frame: nobody watches them live


class RemoteEngine:
    """An AnimationEngine whose frames come from `livepresenter serve`, else from the local landmark engine."""

    name = "remote"

    def __init__(self, server: str, token: str | None = None, tls_ca: Path | None = None, live: bool = True) -> None:
        from livepresenter.engine.landmark import LandmarkEngine
        from livepresenter.remote.client import DEADLINE_S, RemoteAnimator

        self.remote = RemoteAnimator(server, token, tls_ca, deadline_s=DEADLINE_S if live else OFFLINE_DEADLINE_S,
                                     offline=not live)
        self.fallback = LandmarkEngine()
        self.on_server: bool | None = None  # None until the first frame
        self._paste: PasteBack | None = None
        self._last: np.ndarray | None = None

    def set_portrait(self, portrait: np.ndarray, face: Face) -> None:
        self._paste = PasteBack(portrait, face, CROP_SIZE)
        self.remote.set_source(self._paste.source)
        self.fallback.set_portrait(portrait, face)
        self._last = portrait.copy()

    def set_reference(self, driving: TrackedFace) -> None:
        self.remote.set_reference(driving.crop)
        self.fallback.set_reference(driving)

    def animate(self, driving: TrackedFace) -> np.ndarray:
        if self._paste is None or self._last is None:
            raise RuntimeError("RemoteEngine.set_portrait must be called before animate")
        if not driving.found:
            return self._last
        crop = self.remote.animate(driving.crop)
        self._say(crop is not None)
        if crop is None:
            self._last = self.fallback.animate(driving)
        else:
            if crop.shape[0] != CROP_SIZE:  # the server's model size (256 for vox)
                crop = cv2.resize(crop, (CROP_SIZE, CROP_SIZE), interpolation=cv2.INTER_LINEAR)
            self._last = self._paste(crop)
        return self._last

    def _say(self, on_server: bool) -> None:
        """One log line per change between the server and the local engine (not for the frames before the server
        has the presenter)."""
        if on_server == self.on_server or (not on_server and self.remote.sending_presenter):
            return
        if on_server:
            log.info("remote FOMM on %s%s (round trip %.0f ms)", self.remote.server,
                     " again" if self.on_server is False else "", self.remote.rtt_ms or 0)
        else:
            log.warning("remote server %s: %s; showing the local landmark engine until it answers again",
                        self.remote.server, self.remote.reason)
        self.on_server = on_server

    def status(self) -> dict:
        """What `livepresenter status` shows of the engine."""
        return {"server": self.remote.server, "on_server": bool(self.on_server),
                "round_trip_ms": None if self.remote.rtt_ms is None else round(self.remote.rtt_ms, 1),
                "fallback_reason": None if self.on_server else self.remote.reason}

    def close(self) -> None:
        self.remote.close()
