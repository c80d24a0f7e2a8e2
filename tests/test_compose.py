"""Stage and portrait layouts, and the disclosure label."""

from __future__ import annotations

import numpy as np
import pytest

from livepresenter.compose import Label, create_compositor
from livepresenter.compose.stage import PortraitLayout, Stage
from livepresenter.errors import ConfigError


def _portrait(width: int, height: int) -> np.ndarray:
    """A reddish portrait with texture, so placement and scaling show in the pixels."""
    ys, xs = np.mgrid[0:height, 0:width]
    return np.stack([200 + (xs % 50), (ys * 255) // height, np.full_like(xs, 60)], axis=-1).astype(np.uint8)


def test_stage_centres_the_presenter_fitted_to_the_height() -> None:
    portrait = _portrait(300, 400)
    stage = Stage(portrait, (1280, 720))
    frame = stage.compose(portrait)
    assert frame.shape == (720, 1280, 3) and frame.dtype == np.uint8
    x0, y0, x1, y1 = stage.portrait_box
    assert (y0, y1, x1 - x0) == (0, 720, 540)  # 300x400 scaled by 1.8
    assert abs(x0 - (1280 - x1)) <= 1  # centred
    # The presenter's top-left and bottom-right pixels land at the box corners.
    assert np.abs(frame[2, x0 + 2].astype(int) - portrait[1, 1]).max() <= 6
    assert np.abs(frame[717, x1 - 3].astype(int) - portrait[398, 298]).max() <= 6


def test_stage_background_is_a_dark_fill_made_from_the_portrait() -> None:
    portrait = _portrait(300, 400)
    frame = Stage(portrait, (1280, 720)).compose(portrait)
    bars = np.concatenate([frame[:, :300], frame[:, -300:]], axis=1).reshape(-1, 3).astype(float)
    red, green, blue = bars.mean(axis=0)
    assert red > green and red > blue  # the portrait's colour, not a flat grey
    assert bars.mean() < 0.5 * portrait.mean()  # darker than the presenter
    assert bars.std(axis=0).max() < 30  # and soft: the texture is blurred away


def test_wide_portrait_is_letterboxed() -> None:
    portrait = _portrait(400, 100)
    stage = Stage(portrait, (640, 480))
    assert stage.portrait_box == (0, 160, 640, 320)


def test_compose_returns_a_new_frame_each_call() -> None:
    portrait = _portrait(300, 400)
    stage = Stage(portrait, (1280, 720), label="AI re-enactment of Test")
    first = stage.compose(portrait)
    second = stage.compose(np.zeros_like(portrait))
    assert first is not second and not np.shares_memory(first, second)
    assert first[360, 640].sum() > second[360, 640].sum()


def test_label_changes_only_its_corner() -> None:
    portrait = _portrait(300, 400)
    with_label = Stage(portrait, (1280, 720), label="AI re-enactment of Marie Curie")
    plain = Stage(portrait, (1280, 720), label=None).compose(portrait)
    labelled = with_label.compose(portrait)
    x0, y0, x1, y1 = with_label.label.box
    assert x1 > 1280 * 0.75 and y1 > 720 * 0.9  # bottom-right corner
    assert x1 <= 1280 and y1 <= 720
    changed = np.any(labelled != plain, axis=-1)
    ys, xs = np.nonzero(changed)
    assert xs.min() >= x0 and xs.max() < x1 and ys.min() >= y0 and ys.max() < y1
    assert changed[y0:y1, x0:x1].mean() > 0.5  # the box covers its area
    box = labelled[y0:y1, x0:x1].astype(int)
    assert box.max() >= 240  # white text
    assert 0 < (box.sum(axis=-1) < plain[y0:y1, x0:x1].sum(axis=-1)).mean()  # the box darkens what is under it


def test_label_fits_narrow_frames() -> None:
    label = Label("AI re-enactment of Marie Skłodowska-Curie", (200, 260), corner="top-left")
    x0, y0, x1, y1 = label.box
    assert 0 < x0 and x1 < 200 and 0 < y0 and y1 < 260
    frame = np.full((260, 200, 3), 128, np.uint8)
    assert label.draw(frame) is frame
    assert frame[y0:y1, x0:x1].max() >= 240


def test_portrait_layout_drops_one_row_and_column_for_even_size() -> None:
    portrait = _portrait(447, 599)
    layout = PortraitLayout(portrait, label=None)
    assert layout.size == (446, 598)
    frame = layout.compose(portrait)
    np.testing.assert_array_equal(frame, portrait[:598, :446])
    labelled = PortraitLayout(portrait, label="AI re-enactment of Nikola Tesla").compose(portrait)
    assert labelled.shape == (598, 446, 3)
    assert np.any(labelled != frame)


def test_compositors_reject_frames_of_another_size() -> None:
    portrait = _portrait(300, 400)
    for compositor in (Stage(portrait, (1280, 720)), PortraitLayout(portrait)):
        with pytest.raises(ValueError, match=r"\(400, 300, 3\)"):
            compositor.compose(_portrait(256, 256))


def test_create_compositor_by_layout_name() -> None:
    portrait = _portrait(300, 400)
    assert create_compositor("stage", portrait, (640, 360), None).size == (640, 360)
    assert create_compositor("portrait", portrait, (640, 360), None).size == (300, 400)
    with pytest.raises(ConfigError, match="stage, portrait"):
        create_compositor("grid", portrait, (640, 360), None)  # type: ignore[arg-type]
