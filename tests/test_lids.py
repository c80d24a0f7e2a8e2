"""Closing eyelids: drawn as lid skin over the eye, not as the eye squeezed into a dark slit (engine/landmark/lids.py)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from livepresenter.engine.landmark import LandmarkEngine
from livepresenter.engine.landmark.lids import LidCover
from livepresenter.engine.landmark.warp import DenseWarp, WarpSettings
from livepresenter.face.geometry import eye_distance, face_down
from livepresenter.media.image import load_image_rgb
from tests.capture_testdata import detect_face

CURIE = "marie_curie_c1920.jpg"
UPPER_LIDS = [37, 38, 43, 44]
LOWER_LIDS = [41, 40, 47, 46]  # each below the upper lid point at the same index


@pytest.fixture(scope="module")
def curie(portraits_dir: Path) -> tuple[np.ndarray, LandmarkEngine]:
    portrait = load_image_rgb(portraits_dir / CURIE)
    engine = LandmarkEngine()
    engine.set_portrait(portrait, detect_face(portrait))
    return portrait, engine


def _lids_lowered(landmarks: np.ndarray, fraction: float) -> np.ndarray:
    """The landmarks with each upper lid point moved `fraction` of the way to the lower lid below it."""
    target = landmarks.copy()
    target[UPPER_LIDS] += fraction * (landmarks[LOWER_LIDS] - landmarks[UPPER_LIDS])
    return target


def _grey_inside(image: np.ndarray, polygon: np.ndarray, erode: int = 2) -> np.ndarray:
    mask = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(polygon).astype(np.int32)], 1)
    mask = cv2.erode(mask, np.ones((2 * erode + 1, 2 * erode + 1), np.uint8))
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[mask == 1].astype(float)


def test_a_closed_eye_is_lid_skin_not_a_squeezed_eye(curie: tuple[np.ndarray, LandmarkEngine]) -> None:
    portrait, engine = curie
    rest = engine.portrait_landmarks
    closed = _lids_lowered(rest, 1.0)
    down, unit = face_down(rest), eye_distance(rest)
    for outline in (slice(36, 42), slice(42, 48)):
        eye = rest[outline]
        under_eye = np.vstack([eye[[0, 5, 4, 3]] + 0.05 * unit * down, (eye[[0, 5, 4, 3]] + 0.15 * unit * down)[::-1]])
        skin = np.median(_grey_inside(portrait, under_eye))
        covered = np.median(_grey_inside(engine.animate_landmarks(closed), eye))
        squeezed = np.median(_grey_inside(DenseWarp(portrait, rest, WarpSettings())(closed), eye))
        # Measured: her open eye is 0.30-0.35 of the grey level of the skin under it, and the warp alone keeps a closed
        # one as dark (0.25-0.34: the socket's shadow pulled over a squeezed iris); the lid is skin, in the socket's
        # shade towards the brow (0.57-0.61).
        assert np.median(_grey_inside(portrait, eye)) < 0.4 * skin
        assert squeezed < 0.4 * skin
        assert covered > 0.5 * skin


def test_open_and_narrowed_eyes_are_left_to_the_warp(curie: tuple[np.ndarray, LandmarkEngine]) -> None:
    portrait, engine = curie
    rest = engine.portrait_landmarks
    warp = DenseWarp(portrait, rest, WarpSettings())
    for fraction in (0.0, -0.2, 0.4):  # open, widened, narrowed less than half-way: no lid is painted
        target = _lids_lowered(rest, fraction)
        assert np.array_equal(engine.animate_landmarks(target), warp(target))
    assert not np.array_equal(engine.animate_landmarks(_lids_lowered(rest, 0.8)), warp(_lids_lowered(rest, 0.8)))


def test_the_warp_narrows_an_eye_at_most_half_way(curie: tuple[np.ndarray, LandmarkEngine]) -> None:
    portrait, engine = curie
    rest = engine.portrait_landmarks
    cover = LidCover(portrait, rest)
    moved = rest + (12.0, -5.0)  # the head moved: the limit follows the eye's corners
    for fraction, held in ((1.0, 0.5), (0.3, 0.3), (-0.2, -0.2)):
        target = _lids_lowered(moved, fraction)
        warped = cover.warp_target(target)
        # Held at `held` of the way down (measured along the face's down direction), nothing else changed.
        depth = (warped[UPPER_LIDS] - _lids_lowered(moved, held)[UPPER_LIDS]) @ face_down(moved)
        np.testing.assert_allclose(depth, 0.0, atol=1e-3)
        across = np.array([-face_down(moved)[1], face_down(moved)[0]])
        np.testing.assert_allclose((warped - target) @ across, 0.0, atol=1e-3)
        others = np.setdiff1d(np.arange(68), UPPER_LIDS)
        np.testing.assert_array_equal(warped[others], target[others])
