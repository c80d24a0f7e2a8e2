"""FOMM behind the engine interface: crop from the portrait, feathered paste-back into it."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from livepresenter.capture.tracker import FaceTracker
from livepresenter.engine.fomm_engine import FommEngine
from livepresenter.engine.paste_back import feather_mask
from livepresenter.face import TrackedFace
from livepresenter.face.crop import crop_box_from_landmarks, crop_image


@pytest.fixture(scope="module")
def einstein(portraits_dir):
    image = cv2.cvtColor(cv2.imread(str(portraits_dir / "einstein_1947_orren_jack_turner.jpg")), cv2.COLOR_BGR2RGB)
    face = FaceTracker().detect(image)
    assert face is not None
    return image, face


@pytest.fixture(scope="module")
def engine(fomm_fixtures, einstein):
    engine = FommEngine(fomm_fixtures / "dev-vox256-narrow-cpk.pth.tar", fomm_fixtures / "dev-vox256-narrow.yaml")
    engine.set_portrait(*einstein)
    return engine


def test_feather_mask_fades_to_the_border():
    mask = feather_mask(256)
    assert mask[128, 128] == pytest.approx(1.0) and mask[0, 0] < 0.01 and mask[128, 0] < 0.05
    assert np.all(np.diff(mask[128, :128]) >= 0)


def test_paste_of_the_source_crop_restores_the_portrait(engine, einstein):
    image, face = einstein
    crop = crop_image(image, crop_box_from_landmarks(face.landmarks), 256)
    out = engine.paste(crop)
    assert out.shape == image.shape and out.dtype == np.uint8
    # Resampling to 256 and back loses detail only; the mean error stays small.
    assert np.abs(out.astype(int) - image).mean() < 4


def test_paste_changes_only_the_face_region(engine, einstein):
    image, face = einstein
    out = engine.paste(np.full((256, 256, 3), 255, np.uint8))
    changed = np.abs(out.astype(int) - image).sum(axis=2) > 0
    ys, xs = np.nonzero(changed)
    box = crop_box_from_landmarks(face.landmarks)
    half = box.side / 2
    # All four edges of the changed region lie inside the crop box, and the feathering reaches close to each of
    # them (a region cut short on one side, or spilling past it, fails one of the eight bounds).
    for low, high, centre in ((xs.min(), xs.max(), box.cx), (ys.min(), ys.max(), box.cy)):
        assert centre - half - 1 <= low <= centre - half + 0.2 * box.side
        assert centre + half - 0.2 * box.side <= high <= centre + half + 1
    assert not changed[:20, :20].any()  # far corner untouched
    cx, cy = int(box.cx), int(box.cy)
    assert out[cy, cx].min() == 255  # centre fully replaced


def test_animate_returns_portrait_sized_frames_and_holds_without_face(engine, einstein):
    image, face = einstein
    box = crop_box_from_landmarks(face.landmarks)
    crop = crop_image(image, box, 256)
    driving = TrackedFace(index=0, face=face, crop_box=box, crop=crop, crop_landmarks=None)
    engine.set_reference(driving)
    first = engine.animate(driving)
    assert first.shape == image.shape
    lost = TrackedFace(index=1, face=None, crop_box=box, crop=np.zeros_like(crop), crop_landmarks=None)
    assert engine.animate(lost) is first
