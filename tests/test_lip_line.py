"""Shut lips the landmarker reads as parted (engine/landmark/lip_line.py), on real portraits and video frames."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from livepresenter.engine.landmark import LandmarkEngine
from livepresenter.engine.landmark import engine as engine_module
from livepresenter.engine.landmark.lip_line import settle_shut_lips
from livepresenter.face import Face
from livepresenter.face.geometry import eye_distance, face_down, lip_opening, lower_jaw
from livepresenter.media.image import load_image_rgb
from tests.capture_testdata import detect_face, read_frames, resaved

LINCOLN = "abraham_lincoln_1863_alexander_gardner.jpg"
PAIRS = [(61, 67), (62, 66), (63, 65)]


@pytest.fixture(scope="module")
def resaved_lincoln(portraits_dir: Path) -> tuple[np.ndarray, Face]:
    """Lincoln's photograph scaled to 85 % and saved as JPEG (quality 80): dlib then puts the lower inner-lip
    points in the middle of his sunlit lower lip."""
    image = resaved(load_image_rgb(portraits_dir / LINCOLN))
    return image, detect_face(image)


def _grey_at(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    grey = cv2.GaussianBlur(image.astype(np.float32).mean(axis=2), (0, 0), 1.5)
    rows, cols = np.round(points[:, 1]).astype(int), np.round(points[:, 0]).astype(int)
    return grey[rows, cols]


def test_misread_shut_lips_move_to_where_they_meet(resaved_lincoln: tuple[np.ndarray, Face]) -> None:
    image, face = resaved_lincoln
    read = face.landmarks.astype(np.float64)
    assert lip_opening(read) > 0.025, "precondition: dlib reads this shut mouth as parted"
    settled = settle_shut_lips(image, face.landmarks).astype(np.float64)
    assert abs(lip_opening(settled)) < 0.005
    upper, lower = np.array(PAIRS).T
    # Each pair now sits on one point, on the dark line between the lips: darker than where dlib put the lower
    # inner lip (on the lip) and between dlib's two inner points (or just past the upper one).
    assert np.allclose(settled[upper], settled[lower])
    assert np.all(_grey_at(image, settled[upper]) < _grey_at(image, read[lower]) - 20)
    down = face_down(read)
    depth = (settled[upper] - read[upper]) @ down
    assert np.all(depth > -0.03 * eye_distance(read))
    assert np.all(depth < ((read[lower] - read[upper]) @ down))
    untouched = np.setdiff1d(np.arange(68), np.r_[upper, lower])
    assert np.array_equal(settled[untouched], face.landmarks[untouched])


def test_open_mouths_are_left_as_read(driving_dir: Path) -> None:
    """A speaker's open mouth (dark inside) keeps the landmarker's points."""
    frames = read_frames(driving_dir / "pexels_wolfganglanger_expressions_360.mp4", 60, 1)
    face = detect_face(frames[0])
    assert lip_opening(face.landmarks) > 0.15
    assert np.array_equal(settle_shut_lips(frames[0], face.landmarks), face.landmarks.astype(np.float32))


def _mouth_darkness(engine: LandmarkEngine, image: np.ndarray, amount: float) -> float:
    """Median grey inside the inner lips of the portrait rendered with the jaw opened by `amount` eye distances
    from rest, over the median grey of the lips."""
    target = lower_jaw(engine.portrait_landmarks, amount).astype(np.float32)
    grey = engine.animate_landmarks(target).astype(np.float32).mean(axis=2)
    inner = np.zeros(grey.shape, np.uint8)
    cv2.fillPoly(inner, [np.round(target[60:68]).astype(np.int32)], 1)
    inner = cv2.erode(inner, np.ones((3, 3), np.uint8)).astype(bool)
    lips = np.zeros(grey.shape, np.uint8)
    cv2.fillPoly(lips, [np.round(target[48:60]).astype(np.int32)], 1)
    return float(np.median(grey[inner]) / np.median(grey[lips.astype(bool) & ~inner]))


def test_a_small_opening_of_a_misread_mouth_is_dark(resaved_lincoln: tuple[np.ndarray, Face],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Opened a little (a speaking mouth), the resaved Lincoln shows a dark mouth. Without settling the lips the
    misread rest opening gates the cavity off, and the opening shows the split lower lip."""
    image, face = resaved_lincoln
    engine = LandmarkEngine()
    engine.set_portrait(image, face)
    assert _mouth_darkness(engine, image, 0.03) < 0.5
    monkeypatch.setattr(engine_module, "settle_shut_lips", lambda image, landmarks: landmarks.astype(np.float32))
    as_read = LandmarkEngine()
    as_read.set_portrait(image, face)
    assert _mouth_darkness(as_read, image, 0.03) > 0.8
