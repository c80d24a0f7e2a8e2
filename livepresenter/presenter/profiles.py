"""Presenter profiles: a folder holding the portrait image and `profile.toml`.

Two places hold profiles, searched in this order: the user's own (`profiles/` in the platform's user data folder,
or `$LIVEPRESENTER_DATA_DIR/profiles` when that is set, so tests never touch $HOME) and the bundled ones (the
repository's top-level `profiles/`, installed with the package). A user profile may shadow a bundled one of the
same name (`add --force`). The folder name is the profile's NAME as the CLI spells it (`switch einstein`).

profile.toml (only `name` is required when writing one by hand; `profiles add` also requires the rights and
either `died` or `consent`):

    name = "Albert Einstein"           # display name
    years = "1879–1955"
    label = "AI re-enactment of Albert Einstein"   # the disclosure label (this is the default)
    source = "Photograph by Orren Jack Turner, 1947"
    attribution = "Orren Jack Turner"
    rights = "Public domain in the US (published 1947 without a renewed copyright)"
    died = 1955                        # a historical figure ...
    consent = "Jane Doe, in writing, 2025-03-01"   # ... or a living person's consent
    [crop]                             # optional: the part of the image used as the portrait, in image pixels
    x = 0
    y = 0
    width = 600
    height = 800
    [engine]                           # optional: the engine this portrait works best with under --engine auto
    name = "landmark"

This module reads and writes folders only (stdlib), so the tray can list profiles without loading numpy or dlib;
`add_profile` imports the face detector when it checks a new portrait.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import re
import shutil
import tempfile
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from livepresenter.errors import ConfigError, InputError, NoFaceError

__all__ = [
    "BUNDLED_DIR",
    "DATA_DIR_ENV",
    "Crop",
    "Profile",
    "add_profile",
    "check_name",
    "default_label",
    "find_profile",
    "list_profiles",
    "remove_profile",
    "user_profiles_dir",
]

log = logging.getLogger(__name__)

DATA_DIR_ENV = "LIVEPRESENTER_DATA_DIR"
PROFILE_FILE = "profile.toml"
PORTRAIT_STEM = "portrait"
MIN_FACE_PX = 128
"""A face narrower than this (detector box, image pixels) is animated from too few pixels and looks soft."""
MAX_TURN = 0.6
"""A face turned further than this (`face.geometry.face_turn`) is a three-quarter view: the warp can only stretch what
the photograph shows, so the landmark engine turns it less further that way (at most 40 degrees from frontal), and
turned it looks less like itself (BENCHMARKS.md has the measurements)."""

_INSTALLED_DIR = Path(__file__).resolve().parents[1] / "bundled_profiles"  # a wheel maps profiles/ here
BUNDLED_DIR = _INSTALLED_DIR if _INSTALLED_DIR.is_dir() else Path(__file__).resolve().parents[2] / "profiles"

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,47}$")
_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"}
_CONTROL_CHARS_RE = re.compile(r"[\x00-\x1f\x7f]")
Box = tuple[float, float, float, float]
"""A face detector box (x0, y0, x1, y1) in image pixels."""


@dataclass(frozen=True)
class Crop:
    """The part of the image used as the portrait: top-left corner and size, in image pixels."""

    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True)
class Profile:
    """One profile folder. `name` is the folder name (what the CLI takes); `display_name` is profile.toml's name."""

    name: str
    display_name: str
    folder: Path
    portrait: Path
    bundled: bool
    label: str
    years: str | None = None
    source: str | None = None
    attribution: str | None = None
    rights: str | None = None
    died: int | None = None
    consent: str | None = None
    crop: Crop | None = None
    engine: str | None = None


def user_profiles_dir() -> Path:
    """Where `profiles add` writes (not created here: reading never writes)."""
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return Path(override).expanduser() / "profiles"
    import platformdirs  # deferred: only commands that touch profiles pay for it

    return Path(platformdirs.user_data_dir("livepresenter")) / "profiles"


def _search_dirs(dirs: Sequence[Path] | None) -> list[tuple[Path, bool]]:
    """(folder, bundled) pairs in lookup order."""
    if dirs is not None:
        return [(Path(d), False) for d in dirs]
    return [(user_profiles_dir(), False), (BUNDLED_DIR, True)]


def check_name(name: str) -> str:
    """The canonical (lower-case) profile name, or ConfigError: names become folder names, so no paths."""
    canonical = name.strip().lower()
    if not _NAME_RE.match(canonical):
        raise ConfigError(f"bad profile name {name!r}: use up to 48 lower-case letters, digits, '_' and '-', "
                          "starting with a letter or digit (e.g. marie_curie)")
    return canonical


def list_profiles(dirs: Sequence[Path] | None = None) -> list[Profile]:
    """Every readable profile, sorted by name; a user profile hides a bundled one of the same name.

    A broken profile folder is skipped with a warning, so one bad folder never hides the others.
    """
    found: dict[str, Profile] = {}
    for folder, bundled in _search_dirs(dirs):
        for settings in sorted(folder.glob(f"*/{PROFILE_FILE}")):
            name = settings.parent.name
            if name in found or not _NAME_RE.match(name):
                continue
            try:
                found[name] = read_profile(settings.parent, bundled)
            except ConfigError as exc:
                log.warning("skipping profile %s: %s", name, exc)
    return [found[name] for name in sorted(found)]


def find_profile(name: str, dirs: Sequence[Path] | None = None) -> Profile:
    """The profile called `name` (user profiles first), or ConfigError listing the ones there are."""
    canonical = check_name(name)
    for folder, bundled in _search_dirs(dirs):
        if (folder / canonical / PROFILE_FILE).is_file():
            return read_profile(folder / canonical, bundled)
    available = ", ".join(p.name for p in list_profiles(dirs)) or "none"
    raise ConfigError(f"no profile {name!r} (profiles: {available}): see `livepresenter profiles list`")


def read_profile(folder: Path, bundled: bool = False) -> Profile:
    """Parse `folder/profile.toml`; ConfigError names the file and the field to fix."""
    path = folder / PROFILE_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"bad profile {path}: {exc}") from None
    fields = _Fields(data, path)
    display_name = fields.text("name", required=True)
    portraits = sorted(p for p in folder.glob(f"{PORTRAIT_STEM}.*") if p.suffix.lower() in _IMAGE_SUFFIXES)
    if not portraits:
        raise ConfigError(f"profile {folder} has no portrait image: add portrait.jpg or portrait.png")
    crop_table, engine_table = fields.table("crop"), fields.table("engine")
    crop = None
    if crop_table is not None:
        crop = Crop(x=crop_table.integer("x", True, 0), y=crop_table.integer("y", True, 0),
                    width=crop_table.integer("width", True, 1), height=crop_table.integer("height", True, 1))
    return Profile(
        name=folder.name, display_name=display_name, folder=folder, portrait=portraits[0], bundled=bundled,
        label=fields.text("label") or default_label(display_name),
        years=fields.text("years"), source=fields.text("source"), attribution=fields.text("attribution"),
        rights=fields.text("rights"), died=fields.integer("died"), consent=fields.text("consent"),
        crop=crop, engine=engine_table.text("name", True) if engine_table is not None else None,
    )


def default_label(display_name: str) -> str:
    """The disclosure label drawn on every output unless a profile words it otherwise."""
    return f"AI re-enactment of {display_name}"


class _Fields:
    """Typed access to one TOML table, with errors that name the file and the key."""

    def __init__(self, data: dict[str, Any], path: Path, prefix: str = "") -> None:
        self._data, self._path, self._prefix = data, path, prefix

    def _get(self, key: str, kind: type, required: bool) -> Any:
        value = self._data.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, kind) or isinstance(value, bool):
            want = {str: "a string", int: "an integer", dict: "a table"}[kind]
            raise ConfigError(f"bad profile {self._path}: `{self._prefix}{key}` must be {want}")
        return value

    def text(self, key: str, required: bool = False) -> str | None:
        return self._get(key, str, required)

    def integer(self, key: str, required: bool = False, minimum: int | None = None) -> int | None:
        value = self._get(key, int, required)
        if value is not None and minimum is not None and value < minimum:
            raise ConfigError(f"bad profile {self._path}: `{self._prefix}{key}` must be at least {minimum}")
        return value

    def table(self, key: str) -> _Fields | None:
        value = self._get(key, dict, False)
        return _Fields(value, self._path, f"{key}.") if value is not None else None


# -- adding and removing (user profiles only) ------------------------------------------------------------------

@dataclass(frozen=True)
class _PortraitCheck:
    """What `_check_portrait` found: the crop to use (several faces: around the largest) and warnings to show."""

    crop: Crop | None
    warnings: list[str]


def _check_portrait(image: Path) -> _PortraitCheck:
    """Read the image and find its face; InputError/NoFaceError when it cannot be a portrait.

    Several faces: the largest is used and the portrait is cropped around it (the pipeline animates the only, or
    best, face of the image it is given). A face under MIN_FACE_PX wide, or turned further than MAX_TURN, is
    accepted with a warning.
    """
    from livepresenter.capture import FaceTracker  # dlib: only `profiles add` needs it
    from livepresenter.face.geometry import face_turn
    from livepresenter.media.image import load_image_rgb

    image_rgb = load_image_rgb(image)
    faces = FaceTracker().detect_faces(image_rgb)
    if not faces:
        raise NoFaceError(f"no face found in {image}: use a frontal photo where the face is at least "
                          f"{MIN_FACE_PX} px wide")
    faces = sorted(faces, key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]), reverse=True)
    boxes = [f.box for f in faces]
    width_px = round(boxes[0][2] - boxes[0][0])
    warnings, crop = [], None
    if len(faces) > 1:
        crop = _frame_face(boxes[0], boxes[1:], image_rgb.shape[1], image_rgb.shape[0])
        warnings.append(f"{len(faces)} faces in {image}: using the largest ({width_px} px wide) and cropping the "
                        f"portrait to it (edit [crop] in {PROFILE_FILE} to change)")
    if width_px < MIN_FACE_PX:
        warnings.append(f"the face in {image} is only {width_px} px wide: the animation will look soft; a face at "
                        f"least {MIN_FACE_PX} px wide looks better")
    if abs(face_turn(faces[0].landmarks)) > MAX_TURN:
        warnings.append(f"the face in {image} is turned well to one side: when you turn your head further that way "
                        f"the portrait turns less and looks less like itself; a frontal portrait animates best")
    return _PortraitCheck(crop, warnings)


def _frame_face(box: Box, others: Sequence[Box], width: int, height: int) -> Crop:
    """A head-and-shoulders framing of `box` (a face width each side, more room below than above), cut halfway
    towards any other face it would include, so that the portrait holds one face."""
    x0, y0, x1, y1 = box
    left, top = max(0.0, x0 - (x1 - x0)), max(0.0, y0 - 0.8 * (y1 - y0))
    right, bottom = min(float(width), x1 + (x1 - x0)), min(float(height), y1 + 1.6 * (y1 - y0))
    for ox0, oy0, ox1, oy1 in others:
        if ox1 <= left or ox0 >= right or oy1 <= top or oy0 >= bottom:
            continue  # already outside
        if ox0 >= x1:
            right = min(right, (x1 + ox0) / 2)
        elif ox1 <= x0:
            left = max(left, (ox1 + x0) / 2)
        elif oy0 >= y1:
            bottom = min(bottom, (y1 + oy0) / 2)
        elif oy1 <= y0:
            top = max(top, (oy1 + y0) / 2)
    return Crop(round(left), round(top), round(right) - round(left), round(bottom) - round(top))


def add_profile(name: str, image: Path, *, rights: str, died: int | None = None, consent: str | None = None,
                display_name: str | None = None, years: str | None = None, label: str | None = None,
                source: str | None = None, attribution: str | None = None,
                force: bool = False) -> tuple[Profile, list[str]]:
    """Check the portrait and the rights, then write a user profile; returns it and the warnings to show.

    A historical figure needs `died`; a living person needs `consent` (who consented, and when) instead.
    An existing profile of that name (user or bundled) is replaced only with `force`.
    """
    name = check_name(name)
    image = Path(image).expanduser()
    texts = {"rights": rights, "consent": consent, "display-name": display_name, "years": years, "label": label,
             "source": source, "attribution": attribution}
    texts = {key: _one_line(key, value) for key, value in texts.items() if value is not None}
    if not texts.get("rights"):
        raise ConfigError("a profile needs --rights: the licence or rights statement of the portrait "
                          "(e.g. \"Public domain: US government work\")")
    if (died is None) == (consent is None):
        raise ConfigError("give --died YEAR for a historical figure, or --consent \"who consented, when\" for a "
                          "living person (exactly one of them)")
    if died is not None and died > datetime.date.today().year:
        raise ConfigError(f"--died {died} is in the future: a living person needs --consent instead")
    if consent is not None and not texts["consent"]:
        raise ConfigError("--consent is empty: say who consented to being animated, and when")
    if not image.is_file():
        raise InputError(f"image {image} does not exist: give the path of a JPEG or PNG portrait")
    existing = next((f / name for f, _ in _search_dirs(None) if (f / name / PROFILE_FILE).is_file()), None)
    if existing is not None and not force:
        raise ConfigError(f"profile {name} already exists ({existing}): choose another name or pass --force "
                          "to replace it")
    check = _check_portrait(image)

    shown = texts.get("display-name") or name.replace("_", " ").replace("-", " ").title()
    values: dict[str, str | int | None] = {
        "name": shown, "years": texts.get("years"), "label": texts.get("label"), "source": texts.get("source"),
        "attribution": texts.get("attribution"), "rights": texts["rights"], "died": died,
        "consent": texts.get("consent"),
    }
    toml = "".join(f"{key} = {_toml_value(value)}\n" for key, value in values.items() if value is not None)
    if check.crop is not None:
        toml += "\n[crop]\n" + "".join(f"{k} = {v}\n" for k, v in vars(check.crop).items())

    user_dir = user_profiles_dir()
    user_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=user_dir))  # hidden: never listed
    try:
        suffix = image.suffix.lower()
        if suffix in _IMAGE_SUFFIXES:
            shutil.copyfile(image, staging / f"{PORTRAIT_STEM}{suffix}")
        else:  # readable by OpenCV but named oddly: store a PNG so that the folder is self-describing
            _write_png(image, staging / f"{PORTRAIT_STEM}.png")
        (staging / PROFILE_FILE).write_text(toml, encoding="utf-8")
        target = user_dir / name
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return read_profile(user_dir / name), check.warnings


def remove_profile(name: str) -> Profile:
    """Delete a user profile; bundled profiles are part of the installation and stay."""
    profile = find_profile(name)
    if profile.bundled:
        raise ConfigError(f"{profile.name} is a bundled profile and cannot be removed")
    shutil.rmtree(profile.folder)
    return profile


def _one_line(option: str, value: str) -> str:
    value = value.strip()
    if _CONTROL_CHARS_RE.search(value):
        raise ConfigError(f"--{option} must be one line of text without control characters")
    return value


def _toml_value(value: str | int) -> str:
    """TOML for a one-line string (JSON string escapes are valid TOML basic strings) or an integer."""
    return json.dumps(value, ensure_ascii=False)


def _write_png(image: Path, destination: Path) -> None:
    import cv2

    from livepresenter.media.image import load_image_rgb

    cv2.imwrite(str(destination), cv2.cvtColor(load_image_rgb(image), cv2.COLOR_RGB2BGR))
