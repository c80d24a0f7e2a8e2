"""ReferencePicker: the reference is a neutral estimate over the driving frames whose face shape matches the
portrait's best, stable to re-encoding the clip and to the noise of a presenter holding still."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest

from livepresenter.capture import FaceTracker, ReferencePicker
from livepresenter.capture.reference import SHUT_LIPS_NOISE, neutral_landmarks, shape_distance
from livepresenter.engine.landmark.transfer import RelativeTransfer
from livepresenter.evaluate.derived import FACE_SHAPES, stretched
from livepresenter.face import CropBox, Face, TrackedFace
from livepresenter.face.geometry import STABLE_POINTS, eye_distance, face_scale, face_turn, lip_opening, lower_jaw
from livepresenter.media.image import load_image_rgb
from tests.capture_testdata import read_frames, reencoded, reencoded_clip, webcam_sized

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


def brows_raised(points: np.ndarray) -> np.ndarray:
    _, radius = face_scale(points)
    raised = points.copy()
    raised[17:27, 1] -= 0.15 * radius
    return raised


def turned(points: np.ndarray) -> np.ndarray:
    """A crude head turn: the face half on one side of the nose is foreshortened, the nose moves over."""
    centre_x = points[27:31, 0].mean()
    out = points.copy()
    far_side = out[:, 0] > centre_x
    out[far_side, 0] = centre_x + 0.6 * (out[far_side, 0] - centre_x)
    out[27:36, 0] += 0.1 * (points[16, 0] - points[0, 0])
    return out


def yaw_proxy(points: np.ndarray) -> float:
    """Where the nose tip sits between the two jaw ends, along the eye line (a rolled head is not read as turned):
    about 0.5 frontal, lower or higher when turned."""
    return (1.0 + face_turn(points)) / 2.0


def mouth_opening(points: np.ndarray) -> float:
    return float(np.linalg.norm(points[66] - points[62]) / face_scale(points)[1])


@pytest.fixture
def frontal_neutral(driving_dir: Path) -> np.ndarray:
    """Real landmarks of a frontal, closed-mouth face (GRID clip, first frame, before the speech)."""
    face = FaceTracker().detect(read_frames(driving_dir / "grid_bbaf2n_256.mp4", 0, 1)[0])
    assert face is not None
    return face.landmarks.astype(np.float64)


_PORTRAITS = ("abraham_lincoln_1863_alexander_gardner.jpg", "einstein_1947_orren_jack_turner.jpg",
              "isaac_newton_1689_godfrey_kneller.jpg", "marie_curie_c1920.jpg", "mona_lisa_leonardo.jpg",
              "nikola_tesla_c1890_napoleon_sarony.jpg")
_WINDOW_FRAMES = 50
"""render's reference window: 2 s of a 25 fps clip."""


@functools.cache
def _tracked_clip(path: Path, reencode: bool = False, count: int | None = None) -> tuple[TrackedFace, ...]:
    tracker = FaceTracker()
    frames = read_frames(path, 0, count)
    return tuple(tracker.track(frame) for frame in (reencoded_clip(frames) if reencode else frames))


@functools.cache
def _portrait_landmarks(path: Path) -> np.ndarray:
    face = FaceTracker().detect(load_image_rgb(path))
    assert face is not None
    return face.landmarks.astype(np.float64)


def _reference(clip: tuple[TrackedFace, ...], portrait: np.ndarray) -> TrackedFace:
    picker = ReferencePicker(portrait, window_frames=_WINDOW_FRAMES)
    for t in clip:
        picker.offer(t)
    assert picker.done and picker.best is not None and picker.best.face is not None
    return picker.best


def test_shape_distance_ignores_position_size_and_roll(frontal_neutral: np.ndarray) -> None:
    moved = similar(frontal_neutral, 25.0, 2.7, (-300.0, 41.0))
    assert shape_distance(moved, frontal_neutral) < 1e-6
    assert shape_distance(mouth_open(frontal_neutral), frontal_neutral) > 0.05
    assert shape_distance(turned(frontal_neutral), frontal_neutral) > 0.05


@pytest.mark.parametrize("neutral_at", [0, 1, 2])
def test_prefers_the_frontal_neutral_frame(frontal_neutral: np.ndarray, neutral_at: int) -> None:
    """Portrait: the same neutral frontal shape, rolled and scaled. The candidate matching it (seen at another
    roll, size and place, with landmark noise) wins over one with raised brows and a turned one, in any order."""
    portrait = similar(frontal_neutral, -8.0, 4.0, (500.0, 300.0))
    noise = np.random.default_rng(3).normal(0.0, 0.5, frontal_neutral.shape)
    neutral = similar(frontal_neutral, 15.0, 1.3, (20.0, -10.0)) + noise
    candidates = [similar(brows_raised(frontal_neutral), 0.0, 1.1, (5, 5)), turned(frontal_neutral)]
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
    """The Pexels clip turns from about 0.43 to 0.71 on the yaw proxy; Lincoln faces the camera (about 0.5),
    Einstein is turned one way (about 0.72) and Curie the other (about 0.33, further than any frame). The reference
    must be turned the same way as the portrait, as nearly as the clip allows (within 0.1 of its nearest frame's
    turn). (Measured along the eye line: the reference rests at the clip's mean roll, which an x-only proxy read as
    a turn.)"""
    clip = _tracked_clip(driving_dir / "pexels_wolfganglanger_expressions_360.mp4")
    yaws = [yaw_proxy(t.face.landmarks) for t in clip if t.face is not None]
    assert min(yaws) < 0.45 and max(yaws) > 0.7, "the clip covers both directions"
    portrait_face = FaceTracker().detect(load_image_rgb(portraits_dir / portrait))
    assert portrait_face is not None
    wanted = yaw_proxy(portrait_face.landmarks)
    nearest = min(abs(yaw - wanted) for yaw in yaws)

    picker = ReferencePicker(portrait_face.landmarks, window_frames=len(clip))
    for t in clip:
        picker.offer(t)
    assert picker.best is not None and picker.best.face is not None
    assert abs(yaw_proxy(picker.best.face.landmarks) - wanted) < nearest + 0.1


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


def test_neutral_landmarks_average_noise_and_keep_the_pose(frontal_neutral: np.ndarray) -> None:
    """Noisy copies of one face at slightly different poses: the estimate is the face at their mean pose, nearer the
    truth than any single copy; one copy alone is returned unchanged."""
    rng = np.random.default_rng(5)
    copies = [similar(frontal_neutral, rng.normal(0, 1.0), 1 + rng.normal(0, 0.01), tuple(rng.normal(0, 1.0, 2)))
              + rng.normal(0.0, 0.7, frontal_neutral.shape) for _ in range(20)]
    estimate = neutral_landmarks(copies, [1.0] * len(copies))
    truth = np.mean(copies, axis=0)  # noise and pose offsets average out here, up to second-order terms

    def error(points: np.ndarray) -> float:
        return float(np.linalg.norm(points - truth, axis=1).mean())

    assert error(estimate) < 0.1
    assert error(estimate) < 0.3 * min(error(c) for c in copies)
    assert np.allclose(neutral_landmarks(copies[:1], [1.0]), copies[0])


@pytest.mark.parametrize("clip_name", ["grid_bbaf2n_256.mp4", "grid_brbk7n_256.mp4"])
def test_reencoded_driver_moves_the_portrait_alike(driving_dir: Path, portraits_dir: Path, clip_name: str) -> None:
    """Issue 20: the same clip re-encoded at high quality must move every portrait as the original does. The
    portrait landmarks the engine is driven to, frame by frame, stay within 3 px (2 px on average over the
    portraits). A single best frame failed this: on bbaf2n the re-encode picked frame 40 instead of 0 for Lincoln and
    Curie, and the whole head sat about 25 px elsewhere for the entire clip."""
    clip = _tracked_clip(driving_dir / clip_name, count=60)
    again = _tracked_clip(driving_dir / clip_name, reencode=True, count=60)
    errors = []
    for name in _PORTRAITS:
        portrait = _portrait_landmarks(portraits_dir / name)
        moved = RelativeTransfer(portrait, _reference(clip, portrait).face.landmarks)  # type: ignore[union-attr]
        moved_again = RelativeTransfer(portrait, _reference(again, portrait).face.landmarks)  # type: ignore[union-attr]
        errors.append(np.mean([np.linalg.norm(moved(a.face.landmarks) - moved_again(b.face.landmarks), axis=1).mean()
                               for a, b in zip(clip, again, strict=True) if a.face is not None and b.face is not None]))
    assert max(errors) < 3.0, dict(zip(_PORTRAITS, errors, strict=True))
    assert np.mean(errors) < 2.0, dict(zip(_PORTRAITS, errors, strict=True))


def test_longer_face_driver_rests_the_portrait_where_the_clip_does(driving_dir: Path, portraits_dir: Path) -> None:
    """Issue 20's face-shape check at the reference: the same clip stretched into a 15 % longer face makes the same
    motion, so the portrait must rest where the clip itself rests it (the engine's targets, averaged over the frames,
    within 2 % of the portrait's eye distance of each other). Matching the portrait on every landmark failed this:
    on brbk7n the stretch changed which frames joined the estimate (31 -> 9) and Curie's rested 6 % off."""
    frames = read_frames(driving_dir / "grid_brbk7n_256.mp4", 0, 60)
    centre = tuple(float(v) for v in _tracked_clip(driving_dir / "grid_brbk7n_256.mp4", count=60)[0]
                   .face.landmarks.mean(axis=0))  # type: ignore[union-attr]
    tracker = FaceTracker()
    longer = tuple(tracker.track(stretched(f, centre, FACE_SHAPES["longer_face"])) for f in frames)
    clip = _tracked_clip(driving_dir / "grid_brbk7n_256.mp4", count=60)
    offsets = {}
    for name in _PORTRAITS:
        portrait = _portrait_landmarks(portraits_dir / name)
        moved = RelativeTransfer(portrait, _reference(clip, portrait).face.landmarks)  # type: ignore[union-attr]
        moved_longer = RelativeTransfer(portrait, _reference(longer, portrait).face.landmarks)  # type: ignore[union-attr]
        apart = np.mean([moved(a.face.landmarks) - moved_longer(b.face.landmarks)  # type: ignore[union-attr]
                         for a, b in zip(clip, longer, strict=True)], axis=0)
        offsets[name] = float(np.linalg.norm(apart, axis=1).mean()) / eye_distance(portrait)
    assert max(offsets.values()) < 0.02, offsets


def test_neutral_driver_leaves_the_portrait_still(driving_dir: Path, portraits_dir: Path) -> None:
    """A presenter holding a neutral face (one still frame, re-captured with fresh shake and sensor noise every
    frame) must leave every portrait at rest: its landmarks (the mean over the clip of the engine's targets, as
    the tracker's frame-to-frame jitter is not the reference's doing) within a pixel of the portrait's own. With a
    single best frame as reference, that frame's noise offset the portrait by up to 3 px for the whole clip."""
    still = webcam_sized(read_frames(driving_dir / "grid_bbaf2n_256.mp4", 0, 1)[0])
    rng = np.random.default_rng(0)
    tracker = FaceTracker()
    clip = tuple(tracker.track(reencoded(still, rng)) for _ in range(60))
    assert all(t.face is not None for t in clip)
    for name in _PORTRAITS:
        portrait = _portrait_landmarks(portraits_dir / name)
        moved = RelativeTransfer(portrait, _reference(clip, portrait).face.landmarks)  # type: ignore[union-attr]
        rest = np.mean([moved(t.face.landmarks) for t in clip], axis=0)  # type: ignore[union-attr]
        # The portrait's own rest as the transfer gives it: lips the tracker reads crossed (a moustache can make it)
        # are uncrossed whatever the reference.
        at_rest = RelativeTransfer(portrait, portrait)(portrait)
        offset = np.linalg.norm(rest - at_rest, axis=1)
        assert offset.max() < 1.0, f"{name}: a landmark rests {offset.max():.2f} px off"


def test_reference_mouth_closes_to_the_drivers_narrowest_opening(frontal_neutral: np.ndarray) -> None:
    """A portrait with a parted mouth; the reference's mouth is still the driver's shut one (the frame with the
    narrowest opening the driver showed, not the portrait's opening), placed at the mean pose of every face seen. A
    driver resting with lips apart then leaves the portrait's mouth at rest."""
    rest = lip_opening(frontal_neutral)
    parted = lower_jaw(frontal_neutral, 0.08)
    picker = ReferencePicker(similar(parted, 5.0, 3.0, (400.0, 200.0)), window_frames=3)
    picker.offer(tracked(0, parted))
    picker.offer(tracked(1, similar(frontal_neutral, 0.0, 1.0, (12.0, -6.0))))
    picker.offer(tracked(2, similar(lower_jaw(frontal_neutral, 0.5 * SHUT_LIPS_NOISE), 0.0, 1.0, (6.0, -3.0))))
    assert picker.done and picker.best is not None and picker.best.face is not None
    # The two frames shut within the tracker's noise both make the mouth: their mean opening.
    assert lip_opening(picker.best.face.landmarks) == pytest.approx(rest + 0.25 * SHUT_LIPS_NOISE, abs=1e-3)
    rested_at = picker.best.face.landmarks[STABLE_POINTS].mean(axis=0)
    assert np.allclose(rested_at, frontal_neutral[STABLE_POINTS].mean(axis=0) + (6.0, -3.0), atol=0.05)
