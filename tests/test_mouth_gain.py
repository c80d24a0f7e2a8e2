"""The mouth gain: small openings that read as shut on a portrait are widened, within bounds; shut mouths
are left alone and wide ones are rendered as requested; on a real bearded portrait the calibrated engine's small openings read as
more open than the uncalibrated engine's."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from livepresenter.capture import FaceTracker
from livepresenter.engine.landmark import LandmarkEngine
from livepresenter.engine.landmark.engine import LandmarkEngineSettings
from livepresenter.engine.landmark.mouth_gain import MAX_EXTRA, MAX_GAIN, MIN_GAIN, OPENINGS, MouthGain
from livepresenter.face.crop import crop_box_from_landmarks, crop_image
from livepresenter.face.geometry import lip_opening, lower_jaw

# A face whose openings read back only once past 0.06 (a moustache), and one that over-reads them by half.
DEAD_ZONE = MouthGain(np.clip(OPENINGS - 0.06, 0.0, None), 0.0)
OVER_READ = MouthGain(1.5 * OPENINGS, 0.0)


def _rest_face() -> np.ndarray:
    """A plausible frontal 68-point face (outer eye corners 140 px apart), mouth shut."""
    angles = np.linspace(np.pi, 2 * np.pi, 17)
    jaw = np.stack([300 + 130 * np.cos(angles + np.pi), 300 - 160 * np.sin(angles + np.pi)], axis=1)
    brows = np.stack([np.r_[np.linspace(200, 280, 5), np.linspace(320, 400, 5)], np.full(10, 230.0)], axis=1)
    nose = np.array([[300, 260], [300, 285], [300, 310], [300, 335], [280, 345], [290, 348], [300, 350],
                     [310, 348], [320, 345]], dtype=float)
    eye = np.array([[-20, 0], [-10, -6], [5, -6], [20, 0], [5, 6], [-10, 6]], dtype=float)
    eyes = np.vstack([eye + (250, 270), eye + (350, 270)])
    outer = np.array([[260, 400], [275, 392], [290, 388], [300, 390], [310, 388], [325, 392], [340, 400],
                      [325, 410], [310, 414], [300, 415], [290, 414], [275, 410]], dtype=float)
    inner = np.array([[268, 400], [290, 398], [300, 399], [310, 398], [332, 400], [310, 400], [300, 401],
                      [290, 400]], dtype=float)
    return np.vstack([jaw, brows, nose, eyes, outer, inner])


def test_rest_face_is_shut() -> None:
    face = _rest_face()
    assert face.shape == (68, 2)
    assert np.linalg.norm(face[45] - face[36]) == pytest.approx(140.0)
    assert abs(lip_opening(face)) < 0.02


@pytest.mark.parametrize("requested", [0.03, 0.04, 0.06])
def test_small_openings_are_widened_within_bounds(requested: float) -> None:
    rendered = DEAD_ZONE.opening(requested)
    assert requested < rendered <= min(MAX_GAIN * requested, requested + MAX_EXTRA) + 1e-9


def test_over_read_openings_are_narrowed_but_not_below_the_floor() -> None:
    rendered = OVER_READ.opening(0.05)
    assert MIN_GAIN * 0.05 - 1e-9 <= rendered < 0.05


@pytest.mark.parametrize("requested", [-0.02, 0.0, 0.005])
def test_shut_mouths_are_left_as_requested(requested: float) -> None:
    """Landmark noise on a shut mouth is not amplified into a flutter."""
    assert DEAD_ZONE.opening(requested) == requested


def test_wide_openings_keep_their_ups_and_downs() -> None:
    """Wide openings read on any face: the extra fades out while the rendered opening still grows with the
    requested one, and the widest are rendered as requested."""
    requested = np.linspace(0.08, 0.3, 221)
    rendered = np.array([DEAD_ZONE.opening(r) for r in requested])
    assert (np.diff(rendered) / np.diff(requested)).min() > 0.3
    assert DEAD_ZONE.opening(0.15) == 0.15 and DEAD_ZONE.opening(0.25) == 0.25


def test_gain_is_continuous_and_never_narrows_an_under_read_mouth() -> None:
    requested = np.linspace(0.0, 0.2, 401)
    rendered = np.array([DEAD_ZONE.opening(r) for r in requested])
    assert np.all(rendered >= requested - 1e-12)
    assert np.abs(np.diff(rendered)).max() < 0.01


def test_gain_opens_the_jaw_of_target_landmarks() -> None:
    face = _rest_face()
    target = lower_jaw(face, 0.04)
    widened = DEAD_ZONE(target)
    assert lip_opening(widened) == pytest.approx(DEAD_ZONE.opening(lip_opening(target)), abs=1e-4)
    np.testing.assert_array_equal(widened[17:48], target[17:48].astype(np.float32))
    np.testing.assert_array_equal(MouthGain.identity()(target), target.astype(np.float32))


def _read_opening(image: np.ndarray) -> float:
    face = FaceTracker().detect(image)
    assert face is not None, "no face found in the rendered view"
    return lip_opening(face.landmarks)


def test_calibrated_engine_makes_small_openings_read_on_a_bearded_portrait(portraits_dir: Path) -> None:
    """Lincoln's shaved upper lip over a beard: dlib reads small jaw openings as nearly shut. Seen by fresh
    detection on the tracker's framing, the calibrated engine's small openings read clearly wider."""
    portrait = cv2.cvtColor(cv2.imread(str(portraits_dir / "abraham_lincoln_1863_alexander_gardner.jpg")),
                            cv2.COLOR_BGR2RGB)
    face = FaceTracker().detect(portrait)
    assert face is not None
    plain = LandmarkEngine(LandmarkEngineSettings(calibrate_mouth=False))
    calibrated = LandmarkEngine()
    for engine in (plain, calibrated):
        engine.set_portrait(portrait, face)
    rest = plain.portrait_landmarks
    box = crop_box_from_landmarks(rest)
    shut = _read_opening(crop_image(portrait, box))
    opened = {name: np.mean([_read_opening(crop_image(engine.animate_landmarks(
                  lower_jaw(rest, amount).astype(np.float32)), box)) - shut for amount in (0.03, 0.04, 0.05)])
              for name, engine in (("plain", plain), ("calibrated", calibrated))}
    assert opened["calibrated"] > opened["plain"] + 0.01, opened
    assert opened["calibrated"] > 0.6 * 0.04, opened
