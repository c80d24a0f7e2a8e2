"""User config (checkpoint precedence, broken files, sizes), engine selection, and presenter resolution."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import pytest

from livepresenter.config import CHECKPOINT_ENV, CONFIG_DIR_ENV, parse_size, resolve_checkpoint
from livepresenter.engine.registry import create_engine
from livepresenter.errors import ConfigError, InputError
from livepresenter.presenter import load_presenter


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty config folder in place of the user's, and no checkpoint in the environment."""
    folder = tmp_path / "config"
    folder.mkdir()
    monkeypatch.setenv(CONFIG_DIR_ENV, str(folder))
    monkeypatch.delenv(CHECKPOINT_ENV, raising=False)
    return folder


def test_checkpoint_precedence_cli_then_env_then_config(config_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_checkpoint(None) is None
    (config_dir / "config.toml").write_text('[fomm]\ncheckpoint = "weights/vox.pth.tar"\n')
    assert resolve_checkpoint(None) == config_dir / "weights" / "vox.pth.tar"  # relative to the config folder
    monkeypatch.setenv(CHECKPOINT_ENV, "/env/vox.pth.tar")
    assert resolve_checkpoint(None) == Path("/env/vox.pth.tar")
    assert resolve_checkpoint("/cli/vox.pth.tar") == Path("/cli/vox.pth.tar")


def test_broken_config_is_a_warning_not_a_crash(config_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    (config_dir / "config.toml").write_text("[fomm\ncheckpoint = \n")
    with caplog.at_level(logging.WARNING):
        assert resolve_checkpoint(None) is None
    assert "config.toml" in caplog.text
    (config_dir / "config.toml").write_text("[fomm]\ncheckpoint = 3\n")
    assert resolve_checkpoint(None) is None


@pytest.mark.parametrize("text, size", [("1280x720", (1280, 720)), (" 640 X 360 ", (640, 360))])
def test_parse_size(text: str, size: tuple[int, int]) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["1280", "1280x", "0x720", "axb", "1280x720x3", "-640x360"])
def test_parse_size_rejects_other_forms(text: str) -> None:
    with pytest.raises(ConfigError, match="WIDTHxHEIGHT"):
        parse_size(text)


def test_unknown_engine_names_the_choices(config_dir: Path) -> None:
    with pytest.raises(ConfigError, match="unknown engine 'fom'.*auto, landmark, fomm"):
        create_engine("fom")


def test_fomm_without_checkpoint_says_how_to_give_one(config_dir: Path) -> None:
    with pytest.raises(ConfigError) as error:
        create_engine("fomm")
    message = str(error.value)
    assert "--checkpoint" in message and CHECKPOINT_ENV in message and str(config_dir / "config.toml") in message


def test_auto_without_checkpoint_is_the_landmark_engine(config_dir: Path) -> None:
    assert create_engine("auto").name == "landmark"


def test_remote_engine_takes_its_server_and_token_from_the_config(config_dir: Path) -> None:
    from livepresenter.studio.jobs import available_engines

    with pytest.raises(ConfigError, match="needs a server: pass --server HOST:PORT or set remote.server"):
        create_engine("remote")
    assert available_engines() == ["landmark"]
    (config_dir / "token").write_text("t0ken\n")
    (config_dir / "config.toml").write_text('[remote]\nserver = "gpu.example.edu:9001"\ntoken_file = "token"\n')
    engine = create_engine("remote")
    assert engine.name == "remote" and engine.remote.server == "gpu.example.edu:9001"
    assert engine.remote.deadline_s == 0.25
    assert create_engine("remote", live=False).remote.deadline_s == 30  # render and eval wait for the server
    assert create_engine("auto").name == "landmark"  # the network only when asked for
    assert available_engines() == ["landmark", "remote"]
    (config_dir / "token").write_text("")
    with pytest.raises(ConfigError, match="token file .* is empty"):
        create_engine("remote")
    with pytest.raises(ConfigError, match="HOST:PORT"):
        create_engine("remote", server="gpu:http", token_file=config_dir / "config.toml")


def test_image_presenter_is_named_from_the_file_stem(portraits_dir: Path) -> None:
    presenter = load_presenter(str(portraits_dir / "marie_curie_c1920.jpg"))
    assert (presenter.name, presenter.label) == ("Marie Curie", "AI re-enactment of Marie Curie")
    assert presenter.portrait_rgb.shape == (1305, 960, 3)  # a grayscale JPEG, as three channels
    assert load_presenter(str(portraits_dir / "einstein_1947_orren_jack_turner.jpg")).name == "Einstein"


def test_profile_presenter_and_unknown_names(tmp_path: Path) -> None:
    profile = tmp_path / "ada"
    profile.mkdir()
    (profile / "profile.toml").write_text('name = "Ada Lovelace"\nlabel = "AI Ada"\n')
    portrait_bgr = np.zeros((40, 30, 3), np.uint8)
    portrait_bgr[..., 2] = 255  # red in OpenCV's BGR order
    cv2.imwrite(str(profile / "portrait.png"), portrait_bgr)
    presenter = load_presenter("ada", profiles_dir=tmp_path)
    assert (presenter.name, presenter.label) == ("Ada Lovelace", "AI Ada")
    assert presenter.portrait_rgb[0, 0].tolist() == [255, 0, 0]  # RGB inside the package
    with pytest.raises(ConfigError, match=r"'newton'.*profiles: ada"):
        load_presenter("newton", profiles_dir=tmp_path)


def test_unreadable_portrait_is_an_input_error(tmp_path: Path) -> None:
    fake = tmp_path / "portrait.jpg"
    fake.write_text("not an image")
    with pytest.raises(InputError, match="cannot read image .*portrait.jpg"):
        load_presenter(str(fake))
    with pytest.raises(InputError, match="missing.jpg does not exist"):
        load_presenter(str(tmp_path / "missing.jpg"))


def test_bundled_profile_resolves_by_name() -> None:
    presenter = load_presenter("grace_hopper")
    assert presenter.name == "Grace Hopper" and presenter.label == "AI re-enactment of Grace Hopper"
    assert presenter.portrait_rgb.ndim == 3 and presenter.source.name.startswith("portrait.")


def test_huge_jpeg_portrait_is_decoded_smaller(tmp_path):
    """20 MP, over the 16 MP limit: read at half size (libjpeg scales while decoding)."""
    from livepresenter.media.image import MAX_IMAGE_PIXELS, image_header, load_image_rgb

    ys, xs = np.mgrid[0:4000, 0:5000]
    big = np.stack([xs % 256, ys % 256, (xs + ys) % 256], axis=-1).astype(np.uint8)
    path = tmp_path / "big.jpg"
    cv2.imwrite(str(path), big)
    assert image_header(path) == ("jpeg", 5000, 4000) and 5000 * 4000 > MAX_IMAGE_PIXELS
    image = load_image_rgb(path)
    assert image.shape == (2000, 2500, 3)
    # The content survives the reduction: a pixel's colour matches the big image's at the same place.
    assert np.abs(image[1000, 1250].astype(int) - big[2000, 2500, ::-1].astype(int)).max() < 40


def test_huge_png_portrait_is_refused_with_the_limit(tmp_path):
    from livepresenter.media.image import load_image_rgb

    path = tmp_path / "big.png"
    cv2.imwrite(str(path), np.zeros((4200, 4200, 3), np.uint8))
    with pytest.raises(InputError, match=r"big\.png is 4200x4200, over the limit of 16.8 megapixels"):
        load_image_rgb(path)


def test_header_size_of_the_test_portraits(portraits_dir):
    from livepresenter.media.image import image_header

    assert image_header(portraits_dir / "einstein_1947_orren_jack_turner.jpg") == ("jpeg", 900, 1200)
    assert image_header(portraits_dir / "mona_lisa_leonardo.jpg") == ("jpeg", 602, 602)
