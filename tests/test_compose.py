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


LONG_NAME = "AI re-enactment of Marie Skłodowska-Curie"


def _text_rows(box: np.ndarray) -> np.ndarray:
    """Indices of the box's rows that hold bright (text) pixels."""
    return np.nonzero((box.max(axis=-1) >= 200).any(axis=1))[0]


@pytest.mark.parametrize(("width", "height"), [(200, 260), (256, 256), (640, 360), (1280, 720)])
def test_label_stays_legible_at_every_frame_size(width: int, height: int) -> None:
    label = Label(LONG_NAME, (width, height), corner="top-left")
    x0, y0, x1, y1 = label.box
    assert 0 < x0 and x1 < width and 0 < y0 and y1 < height
    assert label.font_px >= 12
    assert "Curie" in " ".join(label.lines)  # the surname is never cut
    frame = np.full((height, width, 3), 128, np.uint8)
    assert label.draw(frame) is frame
    box = frame[y0:y1, x0:x1].astype(int)
    assert box.max() >= 240  # white text at full brightness
    assert (box.max(axis=-1) >= 240).sum() >= 40 * len(label.lines)  # strokes, not a stray pixel
    rows = _text_rows(box)
    assert rows.max() - rows.min() + 1 >= 9 * len(label.lines)  # glyphs at least ~9 px tall on each line
    assert (box.sum(axis=-1) < 3 * 128).mean() > 0.5  # the box darkens the grey under the text


def test_long_label_wraps_before_the_name_on_a_narrow_frame() -> None:
    label = Label(LONG_NAME, (200, 260))
    assert label.lines == ("AI re-enactment of", "Marie Skłodowska-Curie")
    box = Label(LONG_NAME, (200, 260)).draw(np.zeros((260, 200, 3), np.uint8))[slice(*label.box[1::2])]
    rows = _text_rows(box)
    gaps = np.diff(rows)
    assert gaps.max() > 1  # two separate lines of text, one above the other


def test_label_drops_first_names_when_two_lines_do_not_fit() -> None:
    label = Label(LONG_NAME, (160, 200))
    assert label.font_px == 12
    assert label.lines == ("AI re-enactment of", "Skłodowska-Curie")


def test_label_keeps_one_line_where_it_fits() -> None:
    wide = Label(LONG_NAME, (1280, 720))
    assert wide.lines == (LONG_NAME,) and wide.font_px == 20


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
