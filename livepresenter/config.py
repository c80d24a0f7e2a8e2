"""User configuration: `config.toml` in the platform's config folder, and parsers for option values.

The config folder is `platformdirs.user_config_dir("livepresenter")`, or `$LIVEPRESENTER_CONFIG_DIR` when set
(tests point it at a temporary folder so they never read or write the user's $HOME). The file is optional and read
lazily; a broken file is reported as a warning and ignored, so a typo never stops a lecture.
"""

from __future__ import annotations

import logging
import os
import re
import tomllib
from pathlib import Path
from typing import Any

from livepresenter.errors import ConfigError

__all__ = [
    "CHECKPOINT_ENV",
    "CONFIG_DIR_ENV",
    "config_dir",
    "config_path",
    "configured_path",
    "configured_value",
    "load_user_config",
    "parse_size",
    "resolve_checkpoint",
]

log = logging.getLogger(__name__)

APP_NAME = "livepresenter"
CONFIG_DIR_ENV = "LIVEPRESENTER_CONFIG_DIR"
CHECKPOINT_ENV = "LIVEPRESENTER_FOMM_CHECKPOINT"
CONFIG_FILE = "config.toml"

_SIZE_RE = re.compile(r"^\s*(\d+)\s*[xX]\s*(\d+)\s*$")


def config_dir() -> Path:
    """The folder holding config.toml (not created here: reading never writes)."""
    override = os.environ.get(CONFIG_DIR_ENV)
    if override:
        return Path(override).expanduser()
    import platformdirs  # deferred: only commands that read the config pay for it

    return Path(platformdirs.user_config_dir(APP_NAME))


def config_path() -> Path:
    return config_dir() / CONFIG_FILE


def load_user_config() -> dict[str, Any]:
    """The parsed config.toml, or {} when it is absent or broken (broken: logged as a warning)."""
    path = config_path()
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        log.warning("ignoring config file %s: %s", path, exc)
        return {}


def resolve_checkpoint(cli_value: str | os.PathLike[str] | None) -> Path | None:
    """The FOMM checkpoint to use: --checkpoint, else $LIVEPRESENTER_FOMM_CHECKPOINT, else config `fomm.checkpoint`.

    A relative path in config.toml is taken relative to the config folder, so the file stays valid whatever the
    current directory is. Existence is not checked here: the loader reports a missing file with its own message.
    """
    if cli_value:
        return Path(cli_value).expanduser()
    from_env = os.environ.get(CHECKPOINT_ENV)
    if from_env:
        return Path(from_env).expanduser()
    return configured_path("fomm", "checkpoint")


def configured_value(section: str, key: str) -> str | None:
    """`[section] key = "text"` in config.toml; None when absent (a value that is not a non-empty string is ignored
    with a warning)."""
    table = load_user_config().get(section, {})
    value = table.get(key) if isinstance(table, dict) else None
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        log.warning("ignoring %s.%s in %s: expected a string, got %r", section, key, config_path(), value)
        return None
    return value


def configured_path(section: str, key: str) -> Path | None:
    """`[section] key = "path"` in config.toml, relative to the config folder; None when absent."""
    value = configured_value(section, key)
    return None if value is None else config_dir() / Path(value).expanduser()


def parse_size(text: str) -> tuple[int, int]:
    """'1280x720' -> (1280, 720); anything else is a ConfigError that shows the expected form."""
    match = _SIZE_RE.match(text)
    size = (int(match[1]), int(match[2])) if match else (0, 0)
    if 0 in size:
        raise ConfigError(f"bad size {text!r}: give WIDTHxHEIGHT in pixels, e.g. 1280x720")
    return size
