"""What the studio remembers between runs: last presenter, engine, layout and output folder.

Stored as `studio.json` in the user config folder (`$LIVEPRESENTER_CONFIG_DIR` in tests). A missing or broken
file gives the defaults with a logged warning, so a damaged file never keeps the window from opening.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from livepresenter.config import config_dir

__all__ = ["StudioSettings", "default_output_dir", "load_settings", "save_settings", "settings_path"]

log = logging.getLogger(__name__)

SETTINGS_FILE = "studio.json"


def default_output_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_videos_dir()) / "livepresenter"


@dataclass(frozen=True)
class StudioSettings:
    presenter: str | None = None
    engine: str = "landmark"
    layout: str = "stage"
    output_dir: str | None = None  # None: default_output_dir()

    @property
    def output_folder(self) -> Path:
        return Path(self.output_dir).expanduser() if self.output_dir else default_output_dir()


def settings_path() -> Path:
    return config_dir() / SETTINGS_FILE


def load_settings() -> StudioSettings:
    path = settings_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return StudioSettings()
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        log.warning("ignoring studio settings %s: %s", path, exc)
        return StudioSettings()
    if not isinstance(data, dict):
        log.warning("ignoring studio settings %s: not a JSON object", path)
        return StudioSettings()
    known = {f.name: data[f.name] for f in fields(StudioSettings)
             if isinstance(data.get(f.name), str)}  # every field is a string: drop anything else
    return replace(StudioSettings(), **known)


def save_settings(settings: StudioSettings) -> None:
    """Write the settings; a failure is logged, not raised (the window goes on with them in memory)."""
    path = settings_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(settings), indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        log.warning("cannot save studio settings to %s: %s", path, exc)
