"""The crop geometry the engines rely on: framing from landmarks, exact image<->crop mapping, valid edges."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from livepresenter.capture.landmarks import DlibLandmarker
from livepresenter.face import CropBox
from livepresenter.face.crop import crop_box_from_landmarks, crop_image, from_crop_coords, to_crop_coords
from livepresenter.media.image import load_image_rgb


@pytest.fixture
def curie(portraits_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    image = load_image_rgb(portraits_dir / "marie_curie_c1920.jpg")
    (face,) = DlibLandmarker().detect(image)
    return image, face.landmarks


def test_identity_crop_returns_the_image() -> None:
    image = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    box = CropBox(cx=31.5, cy=31.5, side=64.0)
    np.testing.assert_array_equal(crop_image(image, box, size=64), image)


def test_coords_round_trip_and_box_maps_to_crop_edges() -> None:
    box = CropBox(cx=200.3, cy=150.7, side=123.4)
    points = np.array([[10.0, 20.0], [200.3, 150.7], [500.0, -30.0]], dtype=np.float32)
    np.testing.assert_allclose(from_crop_coords(to_crop_coords(points, box, 256), box, 256), points, atol=1e-3)
    corners = np.array([[box.cx - box.side / 2, box.cy - box.side / 2], [box.cx + box.side / 2, box.cy]])
    np.testing.assert_allclose(to_crop_coords(corners, box, 256), [[-0.5, -0.5], [255.5, 127.5]], atol=1e-4)


def test_a_marked_point_lands_where_to_crop_coords_says() -> None:
    """The crop pixels and the crop coordinates agree to a fraction of a pixel (upscaling, sub-pixel box)."""
    image = np.full((240, 320, 3), 20, dtype=np.uint8)
    cv2.circle(image, (150, 100), 3, (255, 255, 255), -1)
    box = CropBox(cx=140.37, cy=111.81, side=97.3)
    crop = crop_image(image, box, size=256).astype(np.float64)[..., 0] - 20
    ys, xs = np.mgrid[: crop.shape[0], : crop.shape[1]]
    found = np.array([(crop * xs).sum(), (crop * ys).sum()]) / crop.sum()
    expected = to_crop_coords(np.array([[150.0, 100.0]]), box, 256)[0]
    assert np.abs(found - expected).max() < 0.3, (found, expected)


def test_crop_past_the_image_edge_replicates_instead_of_black() -> None:
    image = np.full((100, 100, 3), 90, dtype=np.uint8)
    crop = crop_image(image, CropBox(cx=5.0, cy=95.0, side=80.0), size=64)
    assert crop.shape == (64, 64, 3) and crop.dtype == np.uint8
    assert crop.min() == 90


def test_strong_downscale_does_not_alias() -> None:
    """A 1-px checkerboard shrunk 4x must come out flat grey, not as a moire pattern."""
    board = ((np.indices((512, 512)).sum(axis=0) % 2) * 255).astype(np.uint8)
    image = np.repeat(board[..., None], 3, axis=2)
    crop = crop_image(image, CropBox(cx=250.2, cy=255.5, side=387.3), size=100)
    assert abs(crop.mean() - 127.5) < 5
    assert crop.std() < 6


def test_framing_on_a_real_portrait(curie: tuple[np.ndarray, np.ndarray]) -> None:
    _, landmarks = curie
    box = crop_box_from_landmarks(landmarks)
    in_crop = to_crop_coords(landmarks, box, 256)
    assert in_crop.min() > 10 and in_crop.max() < 246, "the whole face is inside with a margin"
    width, height = in_crop.max(axis=0) - in_crop.min(axis=0)
    assert 0.4 * 256 < width < 0.65 * 256 and 0.4 * 256 < height < 0.7 * 256
    eyes_y = in_crop[36:48, 1].mean()
    chin_y = in_crop[8, 1]
    assert 0.3 * 256 < eyes_y < 0.5 * 256 < chin_y < 0.9 * 256


def test_framing_ignores_the_mouth_and_follows_position_and_size(curie: tuple[np.ndarray, np.ndarray]) -> None:
    _, landmarks = curie
    box = crop_box_from_landmarks(landmarks)
    talking = landmarks.copy()
    talking[np.r_[5:12, 55:60, 64:68], 1] += 15.0  # jaw and lower lip drop
    assert crop_box_from_landmarks(talking) == box
    moved = crop_box_from_landmarks(landmarks * 0.5 + np.float32([30, -12]))
    assert moved.cx == pytest.approx(box.cx * 0.5 + 30, abs=1e-3)
    assert moved.cy == pytest.approx(box.cy * 0.5 - 12, abs=1e-3)
    assert moved.side == pytest.approx(box.side * 0.5, rel=1e-5)


def test_crop_of_a_real_portrait_is_rgb_uint8(curie: tuple[np.ndarray, np.ndarray]) -> None:
    image, landmarks = curie
    crop = crop_image(image, crop_box_from_landmarks(landmarks), size=256)
    assert crop.shape == (256, 256, 3) and crop.dtype == np.uint8
    assert 40 < crop.mean() < 220
