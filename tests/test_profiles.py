"""Presenter profiles: the bundled Grace Hopper, `profiles add|list|show|remove` with their checks, and
`--presenter NAME` resolving user profiles. User profiles go to a temporary data folder, never $HOME."""

from __future__ import annotations

import logging
import tomllib
from pathlib import Path

import cv2
import numpy as np
import pytest

from livepresenter.capture import FaceTracker
from livepresenter.cli.main import main
from livepresenter.errors import ConfigError, ExitStatus
from livepresenter.face.geometry import face_turn
from livepresenter.presenter import load_presenter, profiles

REPO = Path(__file__).resolve().parents[1]
EINSTEIN = "einstein_1947_orren_jack_turner.jpg"
NEWTON = "isaac_newton_1689_godfrey_kneller.jpg"
TESLA = "nikola_tesla_c1890_napoleon_sarony.jpg"
LINCOLN = "abraham_lincoln_1863_alexander_gardner.jpg"


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv(profiles.DATA_DIR_ENV, str(tmp_path / "data"))
    return tmp_path / "data"


def add(*args: str) -> int:
    return main(["profiles", "add", *args])


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_bundled_grace_hopper_is_listed_with_its_rights(capsys):
    (hopper,) = profiles.list_profiles()
    assert (hopper.name, hopper.display_name, hopper.bundled) == ("grace_hopper", "Grace Hopper", True)
    assert hopper.died == 1992
    assert "public domain" in hopper.rights.lower() and "Navy" in hopper.source
    assert main(["profiles", "list"]) == 0
    assert capsys.readouterr().out.split()[:3] == ["grace_hopper", "Grace", "Hopper"]
    assert load_presenter("grace_hopper").name == "Grace Hopper"


def test_add_a_historical_figure_and_put_it_on_air_by_name(portraits_dir, data_dir, capsys):
    image = portraits_dir / EINSTEIN
    code = add("einstein", "--image", str(image), "--rights", "Public domain in the US", "--died", "1955",
               "--display-name", "Albert Einstein", "--years", "1879–1955", "--source", "Orren Jack Turner, 1947")
    assert code == 0, capsys.readouterr().err
    folder = data_dir / "profiles" / "einstein"
    assert (folder / "portrait.jpg").read_bytes() == image.read_bytes()
    written = tomllib.loads((folder / "profile.toml").read_text(encoding="utf-8"))
    assert written == {"name": "Albert Einstein", "years": "1879–1955", "source": "Orren Jack Turner, 1947",
                       "rights": "Public domain in the US", "died": 1955}
    presenter = load_presenter("einstein")
    assert (presenter.name, presenter.label) == ("Albert Einstein", "AI re-enactment of Albert Einstein")
    assert presenter.portrait_rgb.shape == (1200, 900, 3)

    capsys.readouterr()
    assert main(["profiles", "show", "einstein"]) == 0
    shown = capsys.readouterr().out
    assert "Public domain in the US" in shown and "1955" in shown and "yours" in shown
    assert main(["profiles", "list"]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == ["einstein", "grace_hopper"]


def test_a_living_person_needs_consent_instead_of_a_year_of_death(portraits_dir, capsys):
    code = add("jane", "--image", str(portraits_dir / EINSTEIN), "--rights", "Photo by the presenter",
               "--consent", "Jane Doe, in writing, 2025-03-01")
    assert code == 0, capsys.readouterr().err
    jane = profiles.find_profile("jane")
    assert (jane.display_name, jane.consent, jane.died) == ("Jane", "Jane Doe, in writing, 2025-03-01", None)


@pytest.mark.parametrize("extra, message", [
    ([], "give --died YEAR for a historical figure, or --consent"),
    (["--died", "1955", "--consent", "me, today"], "exactly one of them"),
    (["--died", "2999"], "in the future"),
    (["--consent", "  "], "--consent is empty"),
])
def test_figure_or_consent_is_required(portraits_dir, capsys, extra, message):
    assert add("x", "--image", str(portraits_dir / EINSTEIN), "--rights", "PD", *extra) == ExitStatus.USAGE
    assert message in one_error_line(capsys)


def test_rights_are_required(portraits_dir, capsys):
    assert add("x", "--image", str(portraits_dir / EINSTEIN), "--rights", " ", "--died", "1955") == ExitStatus.USAGE
    assert "needs --rights" in one_error_line(capsys)
    with pytest.raises(SystemExit):  # argparse: "the following arguments are required: --rights"
        add("x", "--image", str(portraits_dir / EINSTEIN), "--died", "1955")


@pytest.mark.parametrize("name", ["../evil", "a/b", ".hidden", "with space", "x" * 49, ""])
def test_unsafe_names_are_refused(portraits_dir, data_dir, capsys, name):
    assert add(name, "--image", str(portraits_dir / EINSTEIN), "--rights", "PD", "--died", "1955") == ExitStatus.USAGE
    assert "bad profile name" in one_error_line(capsys)
    assert not (data_dir.parent / "evil").exists() and not (data_dir / "profiles").exists()


def test_images_that_cannot_be_portraits(tmp_path, capsys):
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")
    blank = tmp_path / "wall.png"
    cv2.imwrite(str(blank), np.full((300, 300, 3), 128, np.uint8))
    for image, message in [(text, "cannot read image"), (tmp_path / "missing.jpg", "does not exist"),
                           (tmp_path, "does not exist"), (blank, "no face found")]:
        assert add("x", "--image", str(image), "--rights", "PD", "--died", "1955") == ExitStatus.BAD_INPUT
        assert message in one_error_line(capsys)
    assert profiles.list_profiles()[0].name == "grace_hopper" and len(profiles.list_profiles()) == 1


def test_existing_names_need_force(portraits_dir, capsys):
    args = ["--image", str(portraits_dir / NEWTON), "--rights", "PD", "--died", "1727"]
    assert add("newton", *args) == 0
    assert add("newton", *args) == ExitStatus.USAGE
    line = one_error_line(capsys)
    assert "already exists" in line and "--force" in line
    assert add("grace_hopper", *args) == ExitStatus.USAGE  # a bundled name is taken too
    assert "already exists" in one_error_line(capsys)
    assert add("grace_hopper", *args, "--force", "--display-name", "Newton as Hopper") == 0
    assert load_presenter("grace_hopper").name == "Newton as Hopper"  # the user's profile shadows the bundled one


def test_remove_deletes_only_user_profiles(portraits_dir, data_dir, capsys):
    assert add("newton", "--image", str(portraits_dir / NEWTON), "--rights", "PD", "--died", "1727") == 0
    assert main(["profiles", "remove", "newton"]) == 0
    assert not (data_dir / "profiles" / "newton").exists()
    capsys.readouterr()
    assert main(["profiles", "remove", "grace_hopper"]) == ExitStatus.USAGE
    assert "bundled profile and cannot be removed" in one_error_line(capsys)
    assert main(["profiles", "remove", "newton"]) == ExitStatus.USAGE
    assert "no profile 'newton' (profiles: grace_hopper)" in one_error_line(capsys)


def test_several_faces_use_the_largest_with_a_warning(portraits_dir, tmp_path, caplog):
    big = cv2.resize(cv2.imread(str(portraits_dir / EINSTEIN)), (600, 800), interpolation=cv2.INTER_AREA)
    small = cv2.imread(str(portraits_dir / NEWTON))
    group = np.full((800, 600 + small.shape[1], 3), 200, np.uint8)
    group[:, :600] = big
    group[:small.shape[0], 600:] = small
    cv2.imwrite(str(tmp_path / "group.png"), group)

    with caplog.at_level(logging.WARNING):
        assert add("group", "--image", str(tmp_path / "group.png"), "--rights", "PD", "--died", "1955") == 0
    assert any("2 faces" in r.getMessage() and "largest" in r.getMessage() for r in caplog.records)
    crop = profiles.find_profile("group").crop
    assert crop is not None and crop.x + crop.width < 600 + 124  # clear of Newton's face (it starts at x=124)
    portrait = load_presenter("group").portrait_rgb
    assert portrait.shape == (crop.height, crop.width, 3)
    (face,) = FaceTracker().detect_faces(portrait)
    assert face.box[2] - face.box[0] > 200  # Einstein's face (about 300 px), not Newton's (about 130 px)


def test_a_small_face_warns_about_quality(portraits_dir, tmp_path, caplog):
    image = cv2.imread(str(portraits_dir / EINSTEIN))
    cv2.imwrite(str(tmp_path / "small.jpg"), cv2.resize(image, (240, 320), interpolation=cv2.INTER_AREA))
    with caplog.at_level(logging.WARNING):
        assert add("small", "--image", str(tmp_path / "small.jpg"), "--rights", "PD", "--died", "1955") == 0
    assert any("px wide" in r.getMessage() and "soft" in r.getMessage() for r in caplog.records)


def test_hand_written_crop_and_engine(tmp_path):
    folder = tmp_path / "ada"
    folder.mkdir()
    cv2.imwrite(str(folder / "portrait.png"), np.zeros((100, 80, 3), np.uint8))
    settings = folder / "profile.toml"
    settings.write_text('name = "Ada"\n[crop]\nx = 10\ny = 20\nwidth = 50\nheight = 60\n[engine]\nname = "landmark"\n')
    presenter = load_presenter("ada", profiles_dir=tmp_path)
    assert presenter.portrait_rgb.shape == (60, 50, 3) and presenter.engine == "landmark"
    settings.write_text('name = "Ada"\n[crop]\nx = 40\ny = 0\nwidth = 50\nheight = 60\n')
    with pytest.raises(ConfigError, match="reaches outside the 80x100 portrait"):
        load_presenter("ada", profiles_dir=tmp_path)
    settings.write_text('name = "Ada"\n[crop]\nx = 0\n')
    with pytest.raises(ConfigError, match="`crop.y` must be an integer"):
        load_presenter("ada", profiles_dir=tmp_path)


def test_bundled_profiles_and_every_subpackage_are_installed():
    """pyproject.toml lists the packages (to map profiles/ into the wheel): the list must match the source tree."""
    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    on_disk = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "livepresenter").rglob("__init__.py")}
    assert set(setuptools["packages"]) == on_disk | {"livepresenter.bundled_profiles"}, \
        "add the new subpackage to [tool.setuptools] packages in pyproject.toml"
    assert setuptools["package-dir"]["livepresenter.bundled_profiles"] == "profiles"
    assert setuptools["package-data"]["livepresenter.bundled_profiles"] == ["*/*"]
    assert {p.name for p in (REPO / "profiles").iterdir()} >= {"grace_hopper"}


def test_a_three_quarter_portrait_warns_and_a_frontal_one_does_not(portraits_dir, caplog):
    with caplog.at_level(logging.WARNING):
        assert add("tesla", "--image", str(portraits_dir / TESLA), "--rights", "PD", "--died", "1943") == 0
    assert [r.getMessage() for r in caplog.records if "turned well to one side" in r.getMessage()]
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert add("lincoln", "--image", str(portraits_dir / LINCOLN), "--rights", "PD", "--died", "1865") == 0
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_face_turn_is_zero_for_a_frontal_face_and_follows_the_nose() -> None:
    face = np.zeros((68, 2))
    face[36], face[45] = (-30, 0), (30, 0)  # eye corners: the eye line is horizontal
    face[0], face[16], face[30] = (-50, 10), (50, 10), (0, 30)
    assert face_turn(face) == pytest.approx(0.0)
    face[30] = (25, 30)  # nose halfway to the right outline
    assert face_turn(face) == pytest.approx(0.5)
    rotated = face @ np.array([[0.8, 0.6], [-0.6, 0.8]]).T  # the same face tilted by 37 degrees
    assert face_turn(rotated) == pytest.approx(0.5)
