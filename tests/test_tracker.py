"""FaceTracker on real media: portraits, real driving clips, and a still portrait re-encoded as a live camera."""

from __future__ import annotations

from itertools import product
from pathlib import Path

import cv2
import numpy as np
import pytest

from livepresenter.capture import FaceTracker, TrackerSettings
from livepresenter.capture.landmark_smoothing import SPEECH_POINTS
from livepresenter.capture.landmarks import DlibLandmarker, create_landmarker, missing_face_alignment_weights
from livepresenter.capture.smoothing import OneEuroFilter
from livepresenter.errors import ConfigError
from livepresenter.face import Face, TrackedFace
from livepresenter.face.crop import crop_box_from_landmarks, crop_image
from livepresenter.face.geometry import face_scale, fit_similarity, lip_opening
from livepresenter.media.image import load_image_rgb
from tests.capture_testdata import read_frames, reencoded, webcam_sized

PORTRAITS = [
    "abraham_lincoln_1863_alexander_gardner.jpg",
    "einstein_1947_orren_jack_turner.jpg",
    "marie_curie_c1920.jpg",
    "nikola_tesla_c1890_napoleon_sarony.jpg",
    "mona_lisa_leonardo.jpg",
    "isaac_newton_1689_godfrey_kneller.jpg",
]

CLIP_SEGMENTS = [  # (file, first frame, frames): the Pexels segment has head turns and laughter
    ("grid_bbaf2n_256.mp4", 0, 30),
    ("grid_brbk7n_256.mp4", 30, 30),
    ("pexels_wolfganglanger_expressions_360.mp4", 140, 40),
]


def assert_plausible_face(face: Face, image_shape: tuple[int, ...]) -> None:
    """68 points inside the image and around the detector box, in anatomical order."""
    points = face.landmarks
    assert points.shape == (68, 2) and points.dtype == np.float32
    h, w = image_shape[:2]
    assert (points >= -2).all() and (points[:, 0] < w + 2).all() and (points[:, 1] < h + 2).all()
    x0, y0, x1, y1 = face.box
    margin = 0.25 * (x1 - x0)
    assert (points[:, 0] > x0 - margin).all() and (points[:, 0] < x1 + margin).all()
    assert (points[:, 1] > y0 - margin).all() and (points[:, 1] < y1 + margin).all()
    eyes_y, nose_tip_y, mouth_y, chin_y = points[36:48, 1].mean(), points[30, 1], points[48:68, 1].mean(), points[8, 1]
    assert eyes_y < nose_tip_y < mouth_y < chin_y
    assert points[36:42, 0].mean() < points[27, 0] < points[42:48, 0].mean(), "image-left eye, nose, image-right eye"


@pytest.fixture(scope="module")
def landmarker() -> DlibLandmarker:
    return DlibLandmarker()


# --- portraits and single images ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PORTRAITS)
def test_every_portrait_gives_a_face(portraits_dir: Path, landmarker: DlibLandmarker, name: str) -> None:
    image = load_image_rgb(portraits_dir / name)
    face = FaceTracker(landmarker=landmarker).detect(image)
    assert face is not None
    assert face.score >= 0.3
    assert_plausible_face(face, image.shape)


def test_no_face_gives_none(portraits_dir: Path, landmarker: DlibLandmarker) -> None:
    tracker = FaceTracker(landmarker=landmarker)
    mona_lisa_landscape = load_image_rgb(portraits_dir / "mona_lisa_leonardo.jpg")[:150, :150]
    noise = np.random.default_rng(1).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    assert tracker.detect(mona_lisa_landscape) is None
    assert tracker.detect(noise) is None
    assert tracker.detect_faces(noise) == []


def test_several_faces_are_all_reported_best_first(portraits_dir: Path, landmarker: DlibLandmarker) -> None:
    lincoln = cv2.resize(load_image_rgb(portraits_dir / PORTRAITS[0]), (400, 525), interpolation=cv2.INTER_AREA)
    curie = cv2.resize(load_image_rgb(portraits_dir / PORTRAITS[2]), (400, 544), interpolation=cv2.INTER_AREA)
    group = np.concatenate([lincoln[:520], curie[:520]], axis=1)
    faces = FaceTracker(landmarker=landmarker).detect_faces(group)
    assert len(faces) == 2
    assert faces[0].score >= faces[1].score
    assert sorted(face.box[0] < 400 for face in faces) == [False, True], "one face in each half"


class _BoxScaledLandmarker(DlibLandmarker):
    """dlib with its detector's boxes scaled about their centre, and the points fitted in them: the detector's
    boxes come in steps of its image pyramid, and a GRID speaker's face made 15 % wider fell on a step that drew them
    about 40 % larger than it does for most faces (its shut mouth then read 0.11 eye distances open)."""

    def __init__(self, scale: float) -> None:
        super().__init__()
        self.scale = scale

    def detect(self, image_rgb: np.ndarray) -> list[Face]:
        scaled = []
        for face in super().detect(image_rgb):
            centre, half = np.reshape(face.box, (2, 2)).mean(0), self.scale * np.ptp(np.reshape(face.box, (2, 2)), 0) / 2
            box = (*(centre - half).tolist(), *(centre + half).tolist())
            scaled.append(Face(box=box, landmarks=self.landmarks(image_rgb, box), score=face.score))
        return scaled


def _tracked(frame: np.ndarray, landmarker: DlibLandmarker) -> Face:
    face = FaceTracker(TrackerSettings(smooth_landmarks=False, read_mouth=False), landmarker=landmarker).track(frame).face
    assert face is not None
    return face


@pytest.mark.parametrize("clip", ["grid_bbaf2n_256.mp4", "grid_brbk7n_256.mp4"])
def test_points_do_not_depend_on_the_detectors_box_size(driving_dir: Path, clip: str) -> None:
    """The tracker refits a face it detects in a video in the box the detector draws on average, so its points stay
    within 0.06 face radii whatever box the detector drew, where the detector's own points moved by 0.23-0.26 radii
    and a shut mouth read open (0.12 eye distances; 0.02-0.05 in the framed box)."""
    (frame,) = read_frames(driving_dir / clip, 0, 1)
    usual = _tracked(frame, _BoxScaledLandmarker(1.0))
    radius = face_scale(usual.landmarks)[1]
    for scale in (0.85, 1.2, 1.4):
        landmarker = _BoxScaledLandmarker(scale)
        raw = landmarker.detect(frame)[0].landmarks
        points = _tracked(frame, landmarker).landmarks
        assert np.linalg.norm(points - usual.landmarks, axis=1).mean() < 0.06 * radius
        assert lip_opening(points) == pytest.approx(lip_opening(usual.landmarks), abs=0.02)
        if scale == 1.4:  # what the refit corrects
            assert np.linalg.norm(raw - usual.landmarks, axis=1).mean() > 0.15 * radius


class _SingleReadingLandmarker(DlibLandmarker):
    box_scales = (1.0,)


@pytest.mark.parametrize("clip", ["grid_bbaf2n_256.mp4", "grid_brbk7n_256.mp4"])
def test_a_face_moved_by_a_fraction_of_a_pixel_is_read_where_it_went(driving_dir: Path, clip: str) -> None:
    """dlib returns whole pixels: one reading of a GRID face (about 100 px) shifted by 0.1-1 px errs by 0.63-0.68 px
    on average; the tracker's mean over its box scales by 0.45."""
    (frame,) = read_frames(driving_dir / clip, 0, 1)
    settings = TrackerSettings(smooth_landmarks=False, read_mouth=False)

    def error(landmarker: DlibLandmarker) -> float:
        errors = []
        still = FaceTracker(settings, landmarker=landmarker).track(frame).face
        for shift in product(np.linspace(0.1, 1.0, 10), (0.0, 0.3, 0.6)):
            moved = cv2.warpAffine(frame, np.float32([[1, 0, shift[0]], [0, 1, shift[1]]]), frame.shape[1::-1],
                                   flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
            read = FaceTracker(settings, landmarker=landmarker).track(moved).face
            assert still is not None and read is not None
            errors.append(np.linalg.norm(read.landmarks - still.landmarks - shift, axis=1).mean())
        return float(np.mean(errors))

    assert error(_SingleReadingLandmarker()) > 0.6
    assert error(DlibLandmarker()) < 0.53


def test_small_face_is_found_by_upsampling(portraits_dir: Path, landmarker: DlibLandmarker) -> None:
    """Newton's face shrunk to ~60 px, below the HOG window, on a webcam-sized canvas."""
    newton = load_image_rgb(portraits_dir / "isaac_newton_1689_godfrey_kneller.jpg")
    small = cv2.resize(newton, None, fx=0.4, fy=0.4, interpolation=cv2.INTER_AREA)
    canvas = np.full((480, 640, 3), 128, dtype=np.uint8)
    canvas[200 : 200 + small.shape[0], 300 : 300 + small.shape[1]] = small
    face = FaceTracker(landmarker=landmarker).detect(canvas)
    assert face is not None
    assert_plausible_face(face, canvas.shape)
    assert 300 < face.landmarks[:, 0].mean() < 300 + small.shape[1]


# --- video tracking -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("clip", "start", "count"), CLIP_SEGMENTS)
def test_tracks_every_frame_of_real_clips(
    driving_dir: Path, landmarker: DlibLandmarker, clip: str, start: int, count: int
) -> None:
    """Every frame has a face; landmarks refitted between detections agree with a fresh detection."""
    frames = read_frames(driving_dir / clip, start, count)
    tracker = FaceTracker(TrackerSettings(detect_every=5, smooth_landmarks=False), landmarker=landmarker)
    for frame in frames:
        tracked = tracker.track(frame)
        assert tracked.face is not None, f"lost at frame {start + tracked.index}"
        assert_plausible_face(tracked.face, frame.shape)
        assert tracked.crop.shape == (256, 256, 3) and tracked.crop.dtype == np.uint8
        assert tracked.crop_landmarks is not None
        assert (tracked.crop_landmarks > 0).all() and (tracked.crop_landmarks < 256).all()
        if tracked.index % 5:  # a refit frame: compare with what the detector finds from scratch
            (fresh,) = landmarker.detect(frame)
            _, radius = face_scale(fresh.landmarks)
            error = np.linalg.norm(tracked.face.landmarks - fresh.landmarks, axis=1).mean()
            assert error < 0.1 * radius, f"frame {start + tracked.index}: refit off by {error:.1f} px"


@pytest.mark.parametrize("background", ["blank", "landscape"])
def test_frames_without_face_hold_the_last_crop(
    driving_dir: Path, portraits_dir: Path, landmarker: DlibLandmarker, background: str
) -> None:
    """The face vanishes between two scheduled detections (frame 4 of 5): a refit alone would still return a
    face shape there, so this checks that the tracker notices at once."""
    frames = read_frames(driving_dir / "grid_bbaf2n_256.mp4", 0, 3)
    if background == "blank":
        empty = np.full_like(frames[0], 128)
    else:
        empty = cv2.resize(load_image_rgb(portraits_dir / "mona_lisa_leonardo.jpg")[:150, :150], frames[0].shape[1::-1])
    tracker = FaceTracker(TrackerSettings(detect_every=5), landmarker=landmarker)

    before_any_face = tracker.track(empty)
    assert not before_any_face.found and before_any_face.crop_landmarks is None
    assert before_any_face.crop.shape == (256, 256, 3)

    seen = [tracker.track(frame) for frame in frames][-1]
    lost = tracker.track(empty)
    assert lost.index == 4
    assert lost.face is None and lost.crop_landmarks is None
    assert lost.crop_box == seen.crop_box
    assert np.array_equal(lost.crop, crop_image(empty, seen.crop_box, 256)), "a crop of the current frame"
    assert tracker.track(frames[0]).found, "found again at once"


@pytest.fixture
def webcam_portrait(portraits_dir: Path) -> np.ndarray:
    """Curie at webcam scale (480 px tall)."""
    return webcam_sized(load_image_rgb(portraits_dir / "marie_curie_c1920.jpg"))


def _track_reencoded(
    image: np.ndarray, shifts: list[float], landmarker: DlibLandmarker, settings: TrackerSettings | None = None
) -> list[TrackedFace]:
    """Track `image` re-encoded once per shift (a fresh camera frame each time), moved `shift` px right."""
    rng = np.random.default_rng(7)
    tracker = FaceTracker(settings, landmarker=landmarker)
    return [tracker.track(reencoded(image, rng, (shift, 0.0))) for shift in shifts]


def test_still_head_gives_still_crop(webcam_portrait: np.ndarray, landmarker: DlibLandmarker) -> None:
    measured = TrackerSettings(smooth_landmarks=False)  # face.landmarks as measured, to compare the crop with
    tracked = _track_reencoded(webcam_portrait, [0.0] * 40, landmarker, measured)[10:]
    assert all(t.face is not None for t in tracked)
    raw = np.array([[b.cx, b.cy] for b in (crop_box_from_landmarks(t.face.landmarks) for t in tracked)])
    smoothed = np.array([[t.crop_box.cx, t.crop_box.cy] for t in tracked])
    assert raw.std(axis=0).max() > 0.1, "the frames really differ (otherwise this test proves nothing)"
    assert smoothed.std(axis=0).max() < 0.5
    assert (smoothed.std(axis=0) < 0.5 * raw.std(axis=0)).all(), "the smoothing itself removes most jitter"
    assert np.std([t.crop_box.side for t in tracked]) < 1.0


def test_crop_follows_a_step_within_two_frames(webcam_portrait: np.ndarray, landmarker: DlibLandmarker) -> None:
    """The head jumps 20 px right at frame 20: by the second frame after the jump the crop is within 3 px of
    the new place (a lagging filter is still ~5-10 px short there), and it does not overshoot afterwards."""
    step_at, step_px = 20, 20.0
    tracked = _track_reencoded(webcam_portrait, [0.0] * step_at + [step_px] * 10, landmarker)
    centres = np.array([[t.crop_box.cx, t.crop_box.cy] for t in tracked])
    before = centres[10:step_at].mean(axis=0)
    target_x = before[0] + step_px
    assert abs(centres[step_at + 1, 0] - target_x) < 3.0
    assert np.abs(centres[step_at + 1 :, 0] - target_x).max() < 3.0
    assert np.abs(centres[step_at:, 1] - before[1]).max() < 2.0, "no vertical motion invented"


def test_still_head_gives_still_landmarks(webcam_portrait: np.ndarray, landmarker: DlibLandmarker) -> None:
    """The landmarks handed to the engines jitter less than half as much as measured, except the jaw and lips,
    which speech moves and which are left as measured."""

    def jitter(smooth: bool) -> np.ndarray:
        tracked = _track_reencoded(webcam_portrait, [0.0] * 40, landmarker, TrackerSettings(smooth_landmarks=smooth))
        return np.linalg.norm(np.array([t.face.landmarks for t in tracked[10:]]).std(axis=0), axis=1)

    measured, smoothed = jitter(False), jitter(True)
    held = np.setdiff1d(np.arange(68), SPEECH_POINTS)
    assert measured[held].mean() > 0.2, "the frames really differ (otherwise this test proves nothing)"
    assert smoothed[held].mean() < 0.5 * measured[held].mean()
    np.testing.assert_allclose(smoothed[SPEECH_POINTS], measured[SPEECH_POINTS], atol=1e-4)


def test_landmarks_follow_a_step_within_two_frames(webcam_portrait: np.ndarray, landmarker: DlibLandmarker) -> None:
    step_at, step_px = 20, 20.0
    tracked = _track_reencoded(webcam_portrait, [0.0] * step_at + [step_px] * 10, landmarker)
    centres = np.array([t.face.landmarks.mean(axis=0) for t in tracked])
    target_x = centres[10:step_at, 0].mean() + step_px
    assert np.abs(centres[step_at + 1 :, 0] - target_x).max() < 1.0


def test_smoothing_keeps_the_speakers_lip_motion(driving_dir: Path, landmarker: DlibLandmarker) -> None:
    """On a real speaker the inner-lip gap (points 62-66 over the eye distance) is the one measured, frame by frame."""
    frames = read_frames(driving_dir / "grid_bbaf2n_256.mp4", 0, 75)

    def lip_gaps(smooth: bool) -> np.ndarray:
        tracker = FaceTracker(TrackerSettings(smooth_landmarks=smooth), landmarker=landmarker)
        return np.array([lip_opening(tracker.track(frame).face.landmarks) for frame in frames])

    measured, smoothed = lip_gaps(False), lip_gaps(True)
    assert measured.std() > 0.01, "the speaker's mouth really moves in this clip"
    assert np.corrcoef(measured, smoothed)[0, 1] > 0.99
    assert 0.95 < smoothed.std() / measured.std() < 1.05


def test_smoothing_keeps_blinks(driving_dir: Path, landmarker: DlibLandmarker) -> None:
    """The GRID speaker blinks at frame 21: the lids close most of the way in that frame and all the way by the next
    (with the face shape's settings they close less than half as far in that frame)."""
    frames = read_frames(driving_dir / "grid_brbk7n_256.mp4", 0, 28)

    def openness(smooth: bool) -> np.ndarray:
        tracker = FaceTracker(TrackerSettings(smooth_landmarks=smooth), landmarker=landmarker)
        points = np.array([tracker.track(frame).face.landmarks for frame in frames])
        lids = np.linalg.norm(points[:, [37, 38, 43, 44]] - points[:, [41, 40, 47, 46]], axis=2).mean(axis=1)
        return lids / np.linalg.norm(points[:, 36] - points[:, 45], axis=1)

    measured, smoothed = openness(False), openness(True)
    assert measured[21] < 0.6 * measured[14:18].mean(), "a real blink at frame 21"
    depth = measured[14:18].mean() - measured[21]
    assert smoothed[14:18].mean() - smoothed[21] > 0.75 * depth
    assert smoothed[14:18].mean() - smoothed[21:23].min() > 0.9 * depth


def test_repeated_timestamps_do_not_stop_tracking(driving_dir: Path, landmarker: DlibLandmarker) -> None:
    """A video or camera that stamps two frames alike (or goes back in time) is tracked on, not an error."""
    frames = read_frames(driving_dir / "grid_bbaf2n_256.mp4", 0, 4)
    tracker = FaceTracker(landmarker=landmarker)
    tracked = [tracker.track(frame, t_s) for frame, t_s in zip(frames, [1.0, 1.0, 0.9, 1.2], strict=True)]
    assert all(t.found for t in tracked)


def test_reset_forgets_the_track(driving_dir: Path, landmarker: DlibLandmarker) -> None:
    frames = read_frames(driving_dir / "grid_bbaf2n_256.mp4", 0, 2)
    tracker = FaceTracker(landmarker=landmarker)
    tracker.track(frames[0])
    tracker.reset()
    again = tracker.track(np.full_like(frames[0], 128))
    assert again.index == 0
    assert again.crop_box.cx == pytest.approx(127.5) and again.crop_box.side == 256


# --- configuration and backends -------------------------------------------------------------------------------


def test_bad_settings_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="detect_every"):
        TrackerSettings(detect_every=0)
    with pytest.raises(ConfigError, match="One Euro"):
        TrackerSettings(min_cutoff_hz=0)
    with pytest.raises(ConfigError, match="pose_beta"):
        TrackerSettings(pose_beta=-1.0)


def test_unknown_landmarker_names_the_choices() -> None:
    with pytest.raises(ConfigError, match="dlib, face-alignment"):
        create_landmarker("mediapipe")


def test_face_alignment_without_weights_says_where_they_go(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(ConfigError) as raised:
        create_landmarker("face-alignment")
    message = str(raised.value)
    assert "\n" not in message
    try:
        import face_alignment  # noqa: F401
    except ImportError:
        assert "pip install 'livepresenter[face-alignment]'" in message
    else:
        assert str(tmp_path / "hub" / "checkpoints") in message
        assert "s3fd" in message and "2DFAN4" in message


def test_face_alignment_weight_check(tmp_path: Path) -> None:
    assert len(missing_face_alignment_weights(tmp_path)) == 2
    (tmp_path / "s3fd-619a316812.pth").touch()
    (missing,) = missing_face_alignment_weights(tmp_path)
    assert missing.startswith("2DFAN4-cd938726ad.zip")
    (tmp_path / "2DFAN4-cd938726ad.zip").touch()
    assert missing_face_alignment_weights(tmp_path) == []


# --- landmark smoothing --------------------------------------------------------------------------------------


def _face_points(webcam_portrait: np.ndarray, landmarker: DlibLandmarker) -> np.ndarray:
    (face,) = landmarker.detect(webcam_portrait)
    return face.landmarks.astype(np.float64)


def test_head_motion_moves_the_face_without_distorting_it(
    webcam_portrait: np.ndarray, landmarker: DlibLandmarker
) -> None:
    """A head turning, growing and sliding at once: the filter may lag the pose, but the filtered points are always
    the same face under a similarity (points filtered one by one would smear the motion into the expression), the
    jaw and lips are where they were measured, and the face catches up."""
    face = _face_points(webcam_portrait, landmarker)
    centre = face.mean(axis=0)
    smoother = TrackerSettings().landmark_smoother()
    outputs, inputs = [], []
    for i in range(50):
        k = min(i, 25) / 25  # moves for one second, then holds
        angle, scale, shift = 0.4 * k, 1.0 + 0.3 * k, np.array([60.0, -20.0]) * k
        rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        inputs.append(centre + shift + scale * (face - centre) @ rotation.T)
        outputs.append(smoother(inputs[-1], i / 25))
    filtered = np.setdiff1d(np.arange(68), SPEECH_POINTS)
    for seen, out in zip(inputs, outputs, strict=True):
        residual = fit_similarity(face[filtered], out[filtered]).apply(face[filtered]) - out[filtered]
        assert np.abs(residual).max() < 0.01
        np.testing.assert_allclose(out[SPEECH_POINTS], seen[SPEECH_POINTS], atol=0.01)
    assert np.abs(outputs[12] - inputs[12]).max() > 0.5, "the pose is really filtered"
    assert np.abs(outputs[-1] - inputs[-1]).max() < 0.1


def test_speech_points_pass_and_the_rest_is_filtered(webcam_portrait: np.ndarray, landmarker: DlibLandmarker) -> None:
    """A still head whose jaw opens and whose brows jump at 5 Hz: jaw and lips come out exactly as measured, the
    brows' flicker is damped."""
    face = _face_points(webcam_portrait, landmarker)
    radius = face_scale(face)[1]
    smoother = TrackerSettings().landmark_smoother()
    brows, jaw = np.r_[17:27], np.r_[5:12, 55:60, 65:68]
    waves, brow_shifts = [], []
    for i in range(50):
        wave = 0.15 * radius * np.sin(2 * np.pi * 5 * i / 25)
        moved = face.copy()
        moved[jaw, 1] += abs(wave)
        moved[brows, 1] += wave
        out = smoother(moved, i / 25)
        np.testing.assert_allclose(out[SPEECH_POINTS], moved[SPEECH_POINTS], atol=0.01)
        waves.append(wave)
        brow_shifts.append((out[brows, 1] - face[brows, 1]).mean())
    assert np.std(brow_shifts[10:]) < 0.5 * np.std(waves[10:])


# --- One Euro filter ------------------------------------------------------------------------------------------


def test_one_euro_smooths_rest_and_keeps_up_with_motion() -> None:
    rng = np.random.default_rng(5)
    still = OneEuroFilter(min_cutoff_hz=0.5, beta=40.0)
    noisy = 1.0 + rng.normal(0.0, 0.001, (200, 2))  # ~0.3 px of landmark noise on a 300 px crop, in crop sides
    out = np.array([still(v, i / 25) for i, v in enumerate(noisy)])[50:]
    assert out.std(axis=0).max() < 0.4 * 0.001

    def ramp_lag(beta: float) -> float:
        moving = OneEuroFilter(min_cutoff_hz=0.5, beta=beta)
        ramp = [moving(np.array([0.05 * i]), i / 25)[0] for i in range(50)]
        return 0.05 * 49 - ramp[-1]

    assert ramp_lag(40.0) < 0.01
    assert ramp_lag(0.0) > 0.2, "without the speed term the same filter lags far behind"
