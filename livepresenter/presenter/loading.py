"""Resolve `--presenter IMAGE_OR_PROFILE` into a display name, a disclosure label and the portrait image.

An existing image path is used as is, named after the words of its file stem before the first one holding a digit
("einstein_1947_orren_jack_turner.jpg" -> "Einstein", "marie_curie_c1920.jpg" -> "Marie Curie"). Anything else is
a profile name (see `livepresenter.profiles`): the user's profiles first, then the bundled ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from livepresenter.errors import ConfigError, InputError
from livepresenter.media.image import load_image_rgb
from livepresenter.presenter.profiles import Profile, default_label, find_profile

__all__ = ["Presenter", "default_label", "load_presenter", "portrait_file"]


@dataclass(frozen=True)
class Presenter:
    """name: the figure's display name; label: the disclosure text; portrait_rgb: HxWx3 uint8 RGB (the profile's
    crop applied); source: the image file; engine: the profile's preferred engine under --engine auto, if any."""

    name: str
    label: str
    portrait_rgb: np.ndarray
    source: Path
    engine: str | None = None


def load_presenter(spec: str, profiles_dir: Path | None = None) -> Presenter:
    """An image path, or a profile name (looked up in `profiles_dir` alone when given)."""
    found = _find(spec, profiles_dir)
    if isinstance(found, Profile):
        return _from_profile(found)
    name = _name_from_stem(found.stem)
    return Presenter(name, default_label(name), load_image_rgb(found), found)


def portrait_file(spec: str, profiles_dir: Path | None = None) -> Path:
    """The image file `spec` stands for, without decoding it: outputs are checked against it before any work."""
    found = _find(spec, profiles_dir)
    return found.portrait if isinstance(found, Profile) else found


def _find(spec: str, profiles_dir: Path | None) -> Path | Profile:
    """An existing image path as it is, else the profile of that name."""
    path = Path(spec).expanduser()
    if path.is_file():
        return path
    if path.suffix or len(path.parts) > 1:
        raise InputError(f"portrait image {path} does not exist: check the path, or give a profile name")
    return find_profile(spec, [profiles_dir] if profiles_dir is not None else None)


def _name_from_stem(stem: str) -> str:
    """The words before the first word holding a digit, capitalised; all words when the stem starts with one."""
    words = [w for w in re.split(r"[\s_\-.]+", stem) if w]
    leading = []
    for word in words:
        if any(ch.isdigit() for ch in word):
            break
        leading.append(word)
    return " ".join(w.capitalize() for w in leading or words) or stem


def _from_profile(profile: Profile) -> Presenter:
    portrait = load_image_rgb(profile.portrait)
    if profile.crop is not None:
        crop = profile.crop
        height, width = portrait.shape[:2]
        if crop.x + crop.width > width or crop.y + crop.height > height:
            raise ConfigError(f"[crop] in {profile.folder / 'profile.toml'} reaches outside the {width}x{height} "
                              "portrait: fix x, y, width and height")
        portrait = np.ascontiguousarray(portrait[crop.y:crop.y + crop.height, crop.x:crop.x + crop.width])
    return Presenter(profile.display_name, profile.label, portrait, profile.portrait, profile.engine)
