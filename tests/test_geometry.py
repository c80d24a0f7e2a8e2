"""The face-geometry floor: the measures every stage shares, on synthetic faces where the answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from livepresenter.face.geometry import (
    CLOSING_PAIRS,
    LIDS,
    LOWER_LIDS,
    UPPER_LIDS,
    eye_distance,
    face_down,
    face_scale,
    lip_opening,
)


def frontal_face(lip_gap_px: float = 0.0) -> np.ndarray:
    """Level eyes with outer corners 100 px apart, inner lips `lip_gap_px` apart, the rest on a grid."""
    points = np.stack(np.meshgrid(np.arange(10), np.arange(7)), -1).reshape(-1, 2)[:68].astype(np.float64) * 20 + 40
    points[36:48, 1] = 100.0
    points[36:42, 0] = [50.0, 60.0, 70.0, 80.0, 70.0, 60.0]  # outer corner 36, inner corner 39
    points[42:48, 0] = [120.0, 130.0, 140.0, 150.0, 140.0, 130.0]  # inner corner 42, outer corner 45
    points[61:64] = [(90.0, 170.0), (100.0, 170.0), (110.0, 170.0)]
    points[[67, 66, 65]] = points[61:64] + (0.0, lip_gap_px)
    return points


def rotated(points: np.ndarray, degrees: float, scale: float = 1.0) -> np.ndarray:
    angle = np.radians(degrees)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return (points - 100.0) @ rotation.T * scale + 300.0


def test_lip_opening_is_in_eye_distances_whatever_the_size_and_tilt() -> None:
    face = frontal_face(lip_gap_px=20.0)
    assert eye_distance(face) == pytest.approx(100.0)
    assert lip_opening(face) == pytest.approx(0.2)
    assert lip_opening(rotated(face, 25.0, scale=3.0)) == pytest.approx(0.2)
    assert lip_opening(frontal_face()) == pytest.approx(0.0)
    assert lip_opening(frontal_face(lip_gap_px=-4.0)) < 0  # crossed lips read as negative, not as open


def test_face_down_follows_the_eye_line() -> None:
    np.testing.assert_allclose(face_down(frontal_face()), (0.0, 1.0), atol=1e-12)
    np.testing.assert_allclose(face_down(rotated(frontal_face(), 90.0)), (-1.0, 0.0), atol=1e-12)


def test_face_scale_ignores_the_mouth() -> None:
    shut, wide = frontal_face(), frontal_face(lip_gap_px=60.0)
    wide[48:60] += (0.0, 30.0)
    (centre_shut, radius_shut), (centre_wide, radius_wide) = face_scale(shut), face_scale(wide)
    np.testing.assert_allclose(centre_shut, centre_wide)
    assert radius_shut == radius_wide


def test_point_sets_agree_with_each_other() -> None:
    assert set(LIDS) == set(UPPER_LIDS) | set(LOWER_LIDS)
    lid_pairs = {tuple(pair) for pair in CLOSING_PAIRS[3:]}
    assert lid_pairs == {(int(u), int(lo)) for u, lo in zip(UPPER_LIDS, LOWER_LIDS, strict=True)}
