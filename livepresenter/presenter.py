"""Resolve `--presenter IMAGE_OR_PROFILE` into a display name, a disclosure label and the portrait image.

An existing image path is used as is, named after the words of its file stem before the first one holding a digit
("einstein_1947_orren_jack_turner.jpg" -> "Einstein", "marie_curie_c1920.jpg" -> "Marie Curie"). Anything else is
a profile: a folder under the top-level `profiles/` with `profile.toml` (`name`, `label`) and `portrait.*`. This is
the minimal profile reader; the full profile system replaces `_load_profile` later.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from livepresenter.errors import ConfigError, InputError

__all__ = ["PROFILES_DIR", "Presenter", "default_label", "load_image_rgb", "load_presenter"]

PROFILES_DIR = Path(__file__).resolve().parents[1] / "profiles"
_PROFILE_FILE = "profile.toml"


@dataclass(frozen=True)
class Presenter:
    """name: the figure's display name; label: the disclosure text; portrait_rgb: HxWx3 uint8 RGB."""

    name: str
    label: str
    portrait_rgb: np.ndarray
    source: Path


def default_label(name: str) -> str:
    return f"AI re-enactment of {name}"


def load_image_rgb(path: Path) -> np.ndarray:
    """Read an image file as HxWx3 uint8 RGB (grayscale files become three equal channels)."""
    import cv2

    path = Path(path)
    img_bgr = cv2.imread(str(path), cv2.IMREAD_COLOR) if path.is_file() else None
    if img_bgr is None:
        raise InputError(f"cannot read image {path}: give a JPEG or PNG file")
    return cv2.cvtColor(img_bgr, cv2.COLOR_BGR2RGB)


def load_presenter(spec: str, profiles_dir: Path = PROFILES_DIR) -> Presenter:
    """An image path, or the name of a profile folder in `profiles_dir`."""
    path = Path(spec).expanduser()
    if path.is_file():
        name = _name_from_stem(path.stem)
        return Presenter(name, default_label(name), load_image_rgb(path), path)
    if path.suffix or len(path.parts) > 1:
        raise InputError(f"portrait image {path} does not exist: check the path, or give a profile name")
    return _load_profile(profiles_dir / spec, profiles_dir)


def _name_from_stem(stem: str) -> str:
    """The words before the first word holding a digit, capitalised; all words when the stem starts with one."""
    words = [w for w in re.split(r"[\s_\-.]+", stem) if w]
    leading = []
    for word in words:
        if any(ch.isdigit() for ch in word):
            break
        leading.append(word)
    return " ".join(w.capitalize() for w in leading or words) or stem


def _load_profile(folder: Path, profiles_dir: Path) -> Presenter:
    settings_path = folder / _PROFILE_FILE
    if not settings_path.is_file():
        available = sorted(p.parent.name for p in profiles_dir.glob(f"*/{_PROFILE_FILE}"))
        choices = ", ".join(available) if available else f"none installed in {profiles_dir}"
        raise ConfigError(f"presenter {folder.name!r} is neither an image file nor a profile (profiles: {choices})")
    try:
        settings = tomllib.loads(settings_path.read_text(encoding="utf-8"))
        name, label = str(settings["name"]), str(settings["label"])
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, KeyError) as exc:
        raise ConfigError(f"bad profile {settings_path}: {exc}; it needs `name` and `label`") from None
    portraits = sorted(folder.glob("portrait.*"))
    if not portraits:
        raise ConfigError(f"profile {folder} has no portrait.* image: add portrait.jpg or portrait.png")
    return Presenter(name, label, load_image_rgb(portraits[0]), portraits[0])
