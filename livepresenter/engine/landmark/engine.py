"""The landmark engine: animates a portrait from driving landmarks with no learned weights.

Meets the `AnimationEngine` protocol. Motion is read from the tracker's full-frame landmarks
(`TrackedFace.face.landmarks`), not the crop's, because the crop box follows the head and would
hide head translation; relative transfer makes the pixel frame irrelevant otherwise.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from livepresenter.engine.landmark.lids import LidCover
from livepresenter.engine.landmark.lip_line import settle_shut_lips
from livepresenter.engine.landmark.mouth import MouthFill
from livepresenter.engine.landmark.mouth_gain import MouthGain, calibrate_mouth_gain
from livepresenter.engine.landmark.transfer import RelativeTransfer, uncross_closing_pairs
from livepresenter.engine.landmark.warp import DenseWarp, WarpSettings
from livepresenter.face import Face, TrackedFace
from livepresenter.face.crop import CROP_SIZE, crop_box_from_landmarks, crop_image, to_crop_coords
from livepresenter.face.geometry import face_down

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LandmarkEngineSettings:
    """warp: dense-warp tuning. fill_mouth: paint the interior of a mouth opened wider than the
    portrait's (off only for debugging the warp). calibrate_mouth: measure at `prepare` how this
    portrait's mouth openings read and widen small ones that would read as shut (mouth_gain.py)."""

    warp: WarpSettings = field(default_factory=WarpSettings)
    fill_mouth: bool = True
    calibrate_mouth: bool = True


class LandmarkEngine:
    """Portrait animation by relative landmark transfer and a dense smooth warp."""

    name = "landmark"

    def __init__(self, settings: LandmarkEngineSettings | None = None) -> None:
        self._settings = settings or LandmarkEngineSettings()
        self._portrait: np.ndarray | None = None
        self._landmarks: np.ndarray | None = None
        self._warp: DenseWarp | None = None
        self._mouth: MouthFill | None = None
        self._lids: LidCover | None = None
        self._transfer: RelativeTransfer | None = None
        self._gain = MouthGain.identity()
        self._last: np.ndarray | None = None

    @property
    def portrait_landmarks(self) -> np.ndarray:
        """The portrait's own (68, 2) landmarks: the rest pose for synthetic (idle) targets."""
        if self._landmarks is None:
            raise RuntimeError("LandmarkEngine.set_portrait() must be called first")
        return self._landmarks.copy()

    def set_portrait(self, portrait: np.ndarray, face: Face) -> None:
        """Precompute the warp and mouth colours for this portrait; forget any reference."""
        self._portrait = np.ascontiguousarray(portrait)
        settled = settle_shut_lips(self._portrait, face.landmarks)
        # A lid or lip pair read past itself would be uncrossed in every target, so a driver at rest would still
        # move the portrait (Newton's inner lips, read 1 px crossed: identity 0.054 from its own photograph).
        self._landmarks = uncross_closing_pairs(settled, face_down(settled)).astype(np.float32)
        self._warp = DenseWarp(self._portrait, self._landmarks, self._settings.warp)
        self._mouth = MouthFill(self._portrait, self._landmarks)
        self._lids = LidCover(self._portrait, self._landmarks)
        self._gain = self._calibrate(face) if self._settings.calibrate_mouth else MouthGain.identity()
        self._transfer = None
        self._last = None
        log.debug("landmark engine prepared: portrait %s, warp region %s", portrait.shape, self._warp.region)

    def set_reference(self, driving: TrackedFace) -> None:
        """Measure later motion relative to this frame (ignored when it has no face)."""
        if driving.face is None:
            log.debug("reference frame %d has no face; keeping the previous reference", driving.index)
            return
        self._transfer = RelativeTransfer(self.portrait_landmarks, driving.face.landmarks)

    def animate(self, driving: TrackedFace) -> np.ndarray:
        """The portrait moved as the driving face moved since the reference.

        With no face in the frame the last output is held. If no reference was set, the first frame
        with a face becomes the reference.
        """
        if driving.face is None:
            return self._held()
        if self._transfer is None:
            self.set_reference(driving)
        assert self._transfer is not None
        return self.animate_landmarks(self._transfer(driving.face.landmarks))

    def animate_landmarks(self, target: np.ndarray) -> np.ndarray:
        """The portrait warped so its landmarks land on `target` ((68, 2), portrait pixels).

        Lower level than `animate`: the pipeline drives it with synthetic targets (blinks,
        breathing around `portrait_landmarks`) when the face is lost.
        """
        if self._warp is None or self._mouth is None or self._lids is None:
            raise RuntimeError("LandmarkEngine.set_portrait() must be called first")
        target = self._gain(target)
        warp_target = self._lids.warp_target(target)
        out = self._warp(warp_target)
        if self._settings.fill_mouth:
            self._mouth(out, target)
        self._lids(out, target, warp_target)
        self._last = out
        return out.copy()

    def _calibrate(self, face: Face) -> MouthGain:
        """The mouth gain, measured on the portrait's face at the tracker's 256-px framing (cheap to render)."""
        from livepresenter.capture.landmarks import create_landmarker

        assert self._portrait is not None and self._landmarks is not None
        box = crop_box_from_landmarks(self._landmarks)
        view = crop_image(self._portrait, box, CROP_SIZE)
        landmarks = to_crop_coords(self._landmarks, box, CROP_SIZE)
        corners = to_crop_coords(np.reshape(face.box, (2, 2)), box, CROP_SIZE).ravel()
        warp = DenseWarp(view, landmarks, self._settings.warp)
        mouth = MouthFill(view, landmarks)
        landmarker = create_landmarker("dlib")

        def render(target: np.ndarray) -> np.ndarray:
            image = warp(target)
            if self._settings.fill_mouth:
                mouth(image, target)
            return image

        return calibrate_mouth_gain(
            landmarks, tuple(float(v) for v in corners), render, landmarker.landmarks
        )

    def _held(self) -> np.ndarray:
        if self._last is not None:
            return self._last.copy()
        if self._portrait is None:
            raise RuntimeError("LandmarkEngine.set_portrait() must be called first")
        return self._portrait.copy()
