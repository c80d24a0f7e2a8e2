"""ReferencePicker: the reference driving frame is the one whose face shape matches the portrait's."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest

from livepresenter.capture import FaceTracker, ReferencePicker
from livepresenter.capture.reference import shape_distance
from livepresenter.face import CropBox, Face, TrackedFace
from livepresenter.face.geometry import face_scale
from livepresenter.media.image import load_image_rgb
from tests.capture_testdata import read_frames

_CROP = np.zeros((256, 256, 3), dtype=np.uint8)


def tracked(index: int, landmarks: np.ndarray | None) -> TrackedFace:
    """A TrackedFace carrying only what the picker reads."""
    box = CropBox(cx=128.0, cy=128.0, side=256.0)
    if landmarks is None:
        return TrackedFace(index, None, box, _CROP, None)
    face = Face(box=(0.0, 0.0, 1.0, 1.0), landmarks=landmarks.astype(np.float32), score=1.0)
    return TrackedFace(index, face, box, _CROP, landmarks.astype(np.float32))


def similar(points: np.ndarray, angle_deg: float, scale: float, shift: tuple[float, float]) -> np.ndarray:
    """The same face shape seen rolled, nearer or farther, and elsewhere in the frame."""
    a = np.deg2rad(angle_deg)
    rotation = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return scale * (points @ rotation.T) + np.asarray(shift)


def mouth_open(points: np.ndarray) -> np.ndarray:
    _, radius = face_scale(points)
    opened = points.copy()
    opened[np.r_[5:12, 55:60, 64:68], 1] += 0.35 * radius  # jaw and lower lip drop
    return opened


def turned(points: np.ndarray) -> np.ndarray:
    """A crude head turn: the face half on one side of the nose is foreshortened, the nose moves over."""
    centre_x = points[27:31, 0].mean()
    out = points.copy()
    far_side = out[:, 0] > centre_x
    out[far_side, 0] = centre_x + 0.6 * (out[far_side, 0] - centre_x)
    out[27:36, 0] += 0.1 * (points[16, 0] - points[0, 0])
    return out


def yaw_proxy(points: np.ndarray) -> float:
    """Where the nose tip sits between the two jaw ends: about 0.5 frontal, lower or higher when turned."""
    return float((points[30, 0] - points[0, 0]) / (points[16, 0] - points[0, 0]))


def mouth_opening(points: np.ndarray) -> float:
    return float(np.linalg.norm(points[66] - points[62]) / face_scale(points)[1])


@pytest.fixture
def frontal_neutral(driving_dir: Path) -> np.ndarray:
    """Real landmarks of a frontal, closed-mouth face (GRID clip, first frame, before the speech)."""
    face = FaceTracker().detect(read_frames(driving_dir / "grid_bbaf2n_256.mp4", 0, 1)[0])
    assert face is not None
    return face.landmarks.astype(np.float64)


@functools.cache
def _tracked_clip(path: Path) -> tuple[TrackedFace, ...]:
    tracker = FaceTracker()
    return tuple(tracker.track(frame) for frame in read_frames(path))


def test_shape_distance_ignores_position_size_and_roll(frontal_neutral: np.ndarray) -> None:
    moved = similar(frontal_neutral, 25.0, 2.7, (-300.0, 41.0))
    assert shape_distance(moved, frontal_neutral) < 1e-6
    assert shape_distance(mouth_open(frontal_neutral), frontal_neutral) > 0.05
    assert shape_distance(turned(frontal_neutral), frontal_neutral) > 0.05


@pytest.mark.parametrize("neutral_at", [0, 1, 2])
def test_prefers_the_frontal_neutral_frame(frontal_neutral: np.ndarray, neutral_at: int) -> None:
    """Portrait: the same neutral frontal shape, rolled and scaled. The candidate matching it (seen at another
    roll, size and place, with landmark noise) wins over a mouth-open and a turned one, in any order."""
    portrait = similar(frontal_neutral, -8.0, 4.0, (500.0, 300.0))
    noise = np.random.default_rng(3).normal(0.0, 0.5, frontal_neutral.shape)
    neutral = similar(frontal_neutral, 15.0, 1.3, (20.0, -10.0)) + noise
    candidates = [similar(mouth_open(frontal_neutral), 0.0, 1.1, (5, 5)), turned(frontal_neutral)]
    candidates.insert(neutral_at, neutral)

    picker = ReferencePicker(portrait, window_frames=10)
    for index, points in enumerate(candidates):
        picker.offer(tracked(index, points))
    assert picker.best is not None and picker.best.index == neutral_at


def test_window_reset_and_frames_without_face(frontal_neutral: np.ndarray) -> None:
    picker = ReferencePicker(frontal_neutral, window_frames=3)
    assert not picker.offer(tracked(0, None))
    assert picker.best is None and not picker.done
    assert picker.offer(tracked(1, mouth_open(frontal_neutral))), "the first face is taken at once"
    assert not picker.offer(tracked(2, turned(mouth_open(frontal_neutral))))
    assert picker.done and picker.best is not None and picker.best.index == 1
    assert not picker.offer(tracked(3, frontal_neutral)), "the window is over"

    picker.reset()
    assert picker.best is None and not picker.done and picker.best_distance == float("inf")
    assert picker.offer(tracked(4, frontal_neutral))
    assert picker.best is not None and picker.best.index == 4 and picker.best_distance < 1e-6


@pytest.mark.parametrize(
    "portrait",
    ["abraham_lincoln_1863_alexander_gardner.jpg", "einstein_1947_orren_jack_turner.jpg", "marie_curie_c1920.jpg"],
)
def test_real_clip_picks_a_frame_turned_like_the_portrait(
    driving_dir: Path, portraits_dir: Path, portrait: str
) -> None:
    """The Pexels clip turns from about 0.3 to 0.8 on the yaw proxy; Lincoln faces the camera (about 0.5),
    Einstein is turned one way (about 0.7) and Curie the other (about 0.3). The chosen frame must be turned the
    same way as the portrait, and from the first seconds the picker would be allowed to see."""
    clip = _tracked_clip(driving_dir / "pexels_wolfganglanger_expressions_360.mp4")
    yaws = [yaw_proxy(t.face.landmarks) for t in clip if t.face is not None]
    assert min(yaws) < 0.35 and max(yaws) > 0.7, "the clip covers both directions"
    portrait_face = FaceTracker().detect(load_image_rgb(portraits_dir / portrait))
    assert portrait_face is not None

    picker = ReferencePicker(portrait_face.landmarks, window_frames=len(clip))
    for t in clip:
        picker.offer(t)
    assert picker.best is not None and picker.best.face is not None
    assert abs(yaw_proxy(picker.best.face.landmarks) - yaw_proxy(portrait_face.landmarks)) < 0.1


def test_real_speech_clip_picks_a_closed_mouth_frame(driving_dir: Path, portraits_dir: Path) -> None:
    clip = _tracked_clip(driving_dir / "grid_bbaf2n_256.mp4")
    lincoln = FaceTracker().detect(load_image_rgb(portraits_dir / "abraham_lincoln_1863_alexander_gardner.jpg"))
    assert lincoln is not None
    picker = ReferencePicker(lincoln.landmarks, window_frames=len(clip))
    for t in clip:
        picker.offer(t)
    assert picker.best is not None and picker.best.face is not None
    openings = [mouth_opening(t.face.landmarks) for t in clip if t.face is not None]
    assert mouth_opening(picker.best.face.landmarks) <= np.percentile(openings, 40)
