"""Per-frame face tracking: detection every few frames, cheap landmark refits in between, a smoothed crop.

Cadence: the detector (dlib HOG, about 20-25 ms on 640x480) runs on the first frame, every `detect_every` frames,
and whenever a refit is not believed; between detections the 68 points are refitted (under 1 ms) inside a box
predicted from the previous frame's landmarks. The shape predictor draws a face even on an empty wall, so each
refit must keep a plausible size and position and still look like the previous frame's face (a tiny grey
thumbnail correlated with the last one); a face that left the frame is therefore dropped at once, not at the next
scheduled detection. A detected face is refitted in the box the detector draws on average (see _framed). A
scheduled detection that finds nothing ends the track (HOG is a frontal detector: a head turned far away counts as
lost, and the engines hold their last pose).

The crop box (see crop.py) is smoothed with a One Euro filter so that a still head gives a still crop while a
moving head is followed within a frame or two. The landmarks handed on are smoothed too (landmark_smoothing.py),
since the landmark engine moves the portrait by them; refits start from the measured points. Their mouth opening is
then read again with what else the frame shows (mouth_reading.py), so that a moustache or a beard does not make
the lips chatter; on a bare face it passes unchanged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import cv2
import numpy as np

from livepresenter.capture.landmark_smoothing import LandmarkSmoother
from livepresenter.capture.landmarks import Box, Landmarker, create_landmarker
from livepresenter.capture.mouth_reading import MouthReading
from livepresenter.capture.smoothing import OneEuroFilter
from livepresenter.errors import ConfigError
from livepresenter.face import CropBox, Face, TrackedFace
from livepresenter.face.crop import CROP_SIZE, crop_box_from_landmarks, crop_image, to_crop_coords
from livepresenter.face.geometry import face_scale, jittered_box

log = logging.getLogger(__name__)

_RETRY_UPSCALED_MAX_SIDE = 2000
"""detect_faces retries at 2x only for images up to this size: HOG time grows with the pixel count."""

_MAX_SCALE_CHANGE = 1.3
_MAX_SHIFT_RADII = 1.0
"""A refit whose face size changes by more than this factor, or whose centre jumps by more than this many face
radii in one frame, is not trusted: the tracker runs the detector instead."""

_MIN_PATCH_CORRELATION = 0.7
_PATCH_PX = 24
_PATCH_SIDE_RADII = 3.0
"""A refit must also still look like the face of the previous frame: a grey 24x24 thumbnail of the face
(3 face radii wide) correlates above this with the previous one. This catches a face that vanished between two
detections, which the landmark geometry alone cannot (see _refit)."""

_REFIT_CONVERGED_RADII = 0.1
_MIN_TRACK_IOU = 0.3


@dataclass(frozen=True)
class TrackerSettings:
    """How the tracker trades speed for robustness, and how much it smooths.

    Args:
        landmarker: backend name, "dlib" or "face-alignment".
        detect_every: run the detector at least every this many frames (1 = every frame).
        score_threshold: lowest detector score kept; None keeps the backend's default (dlib HOG 0.3).
        crop_size: side of the crops handed to the engines, in pixels.
        fps: frame rate assumed when `track` gets no timestamps.
        min_cutoff_hz: One Euro cutoff for a still head (lower: steadier crop, slower to follow slow drifts).
        beta: One Euro speed coefficient for the crop centre, in Hz per (crop side per second) (higher: less lag
            on fast moves, more jitter).
        beta_side: the same for the crop size, lower because the distance to the camera changes slowly while
            the size measured from landmarks jitters most.
        d_cutoff_hz: One Euro cutoff of the speed estimate.
        smooth_landmarks: filter the landmarks handed to the engines (False: each frame's measurement as is).
        pose_min_cutoff_hz, pose_beta: One Euro settings for the landmarks' head pose (centre and log size in
            face radii, angle in radians).
        shape_min_cutoff_hz, shape_beta: the same for the face shape in the head's frame, in face radii; the
            jaw line and lips are not filtered (see landmark_smoothing.py).
        lid_beta: the same for the eyelids, high so that a quick blink keeps its depth.
        read_mouth: re-read the mouth opening under facial hair (mouth_reading.py; False: the landmarker's as is).
    """

    landmarker: str = "dlib"
    detect_every: int = 5
    score_threshold: float | None = None
    crop_size: int = CROP_SIZE
    fps: float = 25.0
    min_cutoff_hz: float = 0.5
    beta: float = 40.0
    beta_side: float = 4.0
    d_cutoff_hz: float = 1.0
    smooth_landmarks: bool = True
    pose_min_cutoff_hz: float = 1.0
    pose_beta: float = 20.0
    shape_min_cutoff_hz: float = 1.5
    shape_beta: float = 3.0
    lid_beta: float = 30.0
    read_mouth: bool = True

    def __post_init__(self) -> None:
        if self.detect_every < 1:
            raise ConfigError(f"tracker detect_every must be >= 1 frame, got {self.detect_every}")
        if self.crop_size < 16:
            raise ConfigError(f"tracker crop_size must be >= 16 px, got {self.crop_size}")
        if self.fps <= 0:
            raise ConfigError(f"tracker fps must be positive, got {self.fps}")
        cutoffs = (self.min_cutoff_hz, self.d_cutoff_hz, self.pose_min_cutoff_hz, self.shape_min_cutoff_hz)
        betas = (self.beta, self.beta_side, self.pose_beta, self.shape_beta, self.lid_beta)
        if min(cutoffs) <= 0 or min(betas) < 0:
            raise ConfigError(
                "tracker One Euro settings need every cutoff (min_cutoff_hz, d_cutoff_hz, pose_min_cutoff_hz, "
                "shape_min_cutoff_hz) > 0 and every beta (beta, beta_side, pose_beta, "
                f"shape_beta, lid_beta) >= 0; got cutoffs {cutoffs}, betas {betas}"
            )

    def landmark_smoother(self) -> LandmarkSmoother:
        """A fresh filter for the landmarks handed to the engines, with these settings."""
        return LandmarkSmoother(
            pose_min_cutoff_hz=self.pose_min_cutoff_hz,
            pose_beta=self.pose_beta,
            shape_min_cutoff_hz=self.shape_min_cutoff_hz,
            shape_beta=self.shape_beta,
            lid_beta=self.lid_beta,
            d_cutoff_hz=self.d_cutoff_hz,
        )


class FaceTracker:
    """Finds the face in portraits (`detect`, `detect_faces`) and follows it through a video (`track`).

    Args:
        settings: see TrackerSettings.
        landmarker: a ready backend (tests, or sharing one between trackers); built from settings when None.
    """

    def __init__(self, settings: TrackerSettings | None = None, *, landmarker: Landmarker | None = None) -> None:
        self.settings = settings or TrackerSettings()
        self._landmarker = landmarker or create_landmarker(
            self.settings.landmarker, score_threshold=self.settings.score_threshold
        )
        self._filter = OneEuroFilter(
            min_cutoff_hz=self.settings.min_cutoff_hz,
            beta=np.array([self.settings.beta, self.settings.beta, self.settings.beta_side]),
            d_cutoff_hz=self.settings.d_cutoff_hz,
        )
        self._landmark_smoother = self.settings.landmark_smoother()
        self._mouth = MouthReading()
        self.reset()

    def reset(self) -> None:
        """Forget the tracked face and the smoothing history (new stream, or the user asked for a fresh start)."""
        self._index = 0
        self._last_t_s: float | None = None
        self._track: _Track | None = None
        self._frames_since_detect = 0
        self._crop_box: CropBox | None = None
        self._crop_unit: float | None = None
        self._filter.reset()
        self._landmark_smoother.reset()
        self._mouth.reset()

    # --- single images ------------------------------------------------------------------------------------------

    def detect_faces(self, image_rgb: np.ndarray) -> list[Face]:
        """Every face in a still image, best score first; retries at 2x when none is found (small faces)."""
        faces = self._landmarker.detect(image_rgb)
        if not faces and max(image_rgb.shape[:2]) <= _RETRY_UPSCALED_MAX_SIDE:
            log.debug("no face at native size, retrying at 2x")
            faces = _detect_upscaled(self._landmarker, image_rgb)
        return faces

    def detect(self, image_rgb: np.ndarray) -> Face | None:
        """The best face in a still image (a portrait), or None."""
        faces = self.detect_faces(image_rgb)
        return faces[0] if faces else None

    # --- video ------------------------------------------------------------------------------------------------

    def track(self, frame_rgb: np.ndarray, timestamp_s: float | None = None) -> TrackedFace:
        """Follow the face into this frame (HxWx3 uint8 RGB).

        `timestamp_s`: capture time in seconds, increasing from frame to frame; the frame index / fps when None.
        A timestamp that does not increase (a video with repeated time stamps, a coarse camera clock) is taken as
        one frame interval after the previous one.
        """
        index = self._index
        self._index += 1
        t_s = index / self.settings.fps if timestamp_s is None else timestamp_s
        if self._last_t_s is not None and t_s <= self._last_t_s:
            t_s = self._last_t_s + 1 / self.settings.fps
        self._last_t_s = t_s
        face = self._locate(frame_rgb)
        size = self.settings.crop_size
        if face is None:
            self._mouth.reset()
            box = self._crop_box or _centred_box(frame_rgb)
            return TrackedFace(index, None, box, crop_image(frame_rgb, box, size), None)
        box = self._smooth(crop_box_from_landmarks(face.landmarks), t_s)
        self._crop_box = box
        if self.settings.smooth_landmarks:
            face = replace(face, landmarks=self._landmark_smoother(face.landmarks, t_s))
        if self.settings.read_mouth:
            face = replace(face, landmarks=self._mouth(frame_rgb, face.landmarks, t_s))
        return TrackedFace(
            index, face, box, crop_image(frame_rgb, box, size), to_crop_coords(face.landmarks, box, size)
        )

    def _locate(self, frame_rgb: np.ndarray) -> Face | None:
        """Refit between scheduled detections; detect on schedule, at start, and when the refit is not trusted."""
        track = self._track
        if track is not None and self._frames_since_detect < self.settings.detect_every - 1:
            refitted = _refit(self._landmarker, frame_rgb, track)
            if refitted is not None:
                self._frames_since_detect += 1
                self._track = refitted
                return refitted.face
            log.debug("refit rejected at frame %d, detecting", self._index - 1)
        self._track = self._redetect(frame_rgb)
        self._frames_since_detect = 0
        return self._track.face if self._track else None

    def _redetect(self, frame_rgb: np.ndarray) -> _Track | None:
        faces = self._landmarker.detect(frame_rgb)
        if not faces:
            if self._track is not None:
                log.debug("face lost at frame %d", self._index - 1)
            return None
        return _Track.start(frame_rgb, self._framed(frame_rgb, self._choose(faces)))

    def _framed(self, frame_rgb: np.ndarray, face: Face) -> Face:
        """The detected face refitted in the box the detector draws on average for it (`Landmarker.framing`), so
        that a driver's points do not depend on which step of the detector's scale pyramid the face falls on.

        Video only: a still portrait keeps the detector's own box, in which the evaluation reads every face too.
        Framed, the bearded and moustached portraits' lips were read elsewhere and their mouth gain calibrated
        against another reading (Pexels mouth correlation 0.62/0.80/0.75 -> 0.25/0.28/0.54, Lincoln/Einstein/Tesla).
        """
        framing = self._landmarker.framing
        if framing is None:
            return face
        centroid, radius = face_scale(face.landmarks)
        x0, y0, x1, y1 = (np.tile(centroid, 2) + radius * framing).tolist()
        box = (x0, y0, x1, y1)
        return replace(face, box=box, landmarks=read_landmarks(self._landmarker, frame_rgb, box))

    def _choose(self, faces: list[Face]) -> Face:
        """Stay on the tracked person when they are still there; otherwise take the best score."""
        if self._track is not None:
            overlaps = [_iou(face.box, self._track.face.box) for face in faces]
            best = int(np.argmax(overlaps))
            if overlaps[best] >= _MIN_TRACK_IOU:
                return faces[best]
        return faces[0]

    def _smooth(self, raw: CropBox, t_s: float) -> CropBox:
        """One Euro on (cx, cy, side) measured in crop sides, so the settings do not depend on the face size."""
        if self._crop_unit is None:
            self._crop_unit = raw.side
        unit = self._crop_unit
        cx, cy, side = (self._filter(np.array([raw.cx, raw.cy, raw.side]) / unit, t_s) * unit).tolist()
        return CropBox(cx=cx, cy=cy, side=side)


@dataclass(frozen=True)
class _Track:
    """The face followed so far, with what the next refit needs to place and check itself.

    box_template: detector box (x0, y0, x1, y1) minus the rigid-landmark centroid, in units of the face radius
        (crop.face_scale), as the last detection placed it. Refits place their box the same way, so the shape
        predictor sees the framing it was trained on.
    patch: the face's appearance in this frame (see _face_patch).
    """

    face: Face
    box_template: np.ndarray
    patch: np.ndarray

    @classmethod
    def start(cls, frame_rgb: np.ndarray, detected: Face) -> _Track:
        centroid, radius = face_scale(detected.landmarks)
        template = (np.asarray(detected.box) - np.tile(centroid, 2)) / radius
        return cls(detected, template, _face_patch(frame_rgb, detected.landmarks))

    def box_for(self, landmarks: np.ndarray) -> Box:
        centroid, radius = face_scale(landmarks)
        x0, y0, x1, y1 = (np.tile(centroid, 2) + radius * self.box_template).tolist()
        return (x0, y0, x1, y1)


def read_landmarks(landmarker: Landmarker, frame_rgb: np.ndarray, box: Box) -> np.ndarray:
    """A video face's 68 points: the mean of the landmarker's readings in `box` scaled by each of its `box_scales`
    about the box's centre, which makes them steadier and sub-pixel (see DlibLandmarker)."""
    readings = [landmarker.landmarks(frame_rgb, jittered_box(box, scale=scale)) for scale in landmarker.box_scales]
    return np.mean(readings, axis=0, dtype=np.float64).astype(np.float32)


def _refit(landmarker: Landmarker, frame_rgb: np.ndarray, track: _Track) -> _Track | None:
    """Landmarks in a box predicted from the last ones (a second pass when the face moved a lot), or None
    when the result is not believable: the shape predictor returns a face shape even on an empty wall."""
    last = track.face.landmarks
    _, last_radius = face_scale(last)
    points = read_landmarks(landmarker, frame_rgb, track.box_for(last))
    if _centre_shift(points, last) > _REFIT_CONVERGED_RADII * last_radius:
        points = read_landmarks(landmarker, frame_rgb, track.box_for(points))
    if not _plausible_step(points, last, frame_rgb.shape):
        return None
    patch = _face_patch(frame_rgb, points)
    if float(patch @ track.patch) < _MIN_PATCH_CORRELATION:
        return None
    face = Face(box=track.box_for(points), landmarks=points, score=track.face.score)
    return _Track(face, track.box_template, patch)


def _face_patch(frame_rgb: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """A tiny grey thumbnail of the face, zero-mean and unit-norm, so that the dot product of two patches is
    their normalised cross-correlation (insensitive to brightness and contrast changes)."""
    centroid, radius = face_scale(landmarks)
    box = CropBox(cx=float(centroid[0]), cy=float(centroid[1]), side=_PATCH_SIDE_RADII * radius)
    grey = crop_image(frame_rgb, box, size=_PATCH_PX).astype(np.float64).mean(axis=2).ravel()
    grey -= grey.mean()
    norm = np.linalg.norm(grey)
    return grey / norm if norm > 1e-6 else grey


def _centre_shift(points: np.ndarray, previous: np.ndarray) -> float:
    return float(np.linalg.norm(face_scale(points)[0] - face_scale(previous)[0]))


def _plausible_step(points: np.ndarray, previous: np.ndarray, frame_shape: tuple[int, ...]) -> bool:
    """A head cannot change size or jump far within one frame, nor be centred outside the frame."""
    centroid, radius = face_scale(points)
    _, previous_radius = face_scale(previous)
    h, w = frame_shape[:2]
    inside = 0 <= centroid[0] < w and 0 <= centroid[1] < h
    ratio = radius / max(previous_radius, 1e-6)
    steady = 1 / _MAX_SCALE_CHANGE <= ratio <= _MAX_SCALE_CHANGE
    return inside and steady and _centre_shift(points, previous) <= _MAX_SHIFT_RADII * previous_radius


def _iou(a: Box, b: Box) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _centred_box(image: np.ndarray) -> CropBox:
    """The crop used before any face was seen: the largest centred square."""
    h, w = image.shape[:2]
    return CropBox(cx=(w - 1) / 2, cy=(h - 1) / 2, side=float(min(h, w)))


def _detect_upscaled(landmarker: Landmarker, image_rgb: np.ndarray) -> list[Face]:
    """Detect on a 2x enlargement and map the results back to the original pixels."""
    h, w = image_rgb.shape[:2]
    big = cv2.resize(image_rgb, (2 * w, 2 * h), interpolation=cv2.INTER_CUBIC)
    return [_halved(face) for face in landmarker.detect(big)]


def _halved(face: Face) -> Face:
    """A face found on a 2x cv2.resize, in the original image's pixels (pixel centres map as x -> 2x + 0.5)."""
    x0, y0, x1, y1 = ((v + 0.5) / 2 - 0.5 for v in face.box)
    landmarks = ((face.landmarks + 0.5) / 2 - 0.5).astype(np.float32)
    return Face(box=(x0, y0, x1, y1), landmarks=landmarks, score=face.score)
