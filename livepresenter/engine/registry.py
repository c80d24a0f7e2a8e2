"""Engine names as the CLI spells them, and the one place that turns a name into an engine.

Engines are imported only when chosen, so picking the landmark engine never imports torch.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from livepresenter.config import CHECKPOINT_ENV, config_path, resolve_checkpoint
from livepresenter.engine.base import AnimationEngine
from livepresenter.errors import ConfigError

__all__ = ["ENGINES", "create_engine", "engine_files"]

log = logging.getLogger(__name__)

ENGINES = ("auto", "landmark", "fomm")


def create_engine(
    name: str,
    checkpoint: str | os.PathLike[str] | None = None,
    fomm_config: str | os.PathLike[str] | None = None,
    device: str | None = None,
    precision: str = "auto",
) -> AnimationEngine:
    """Build the engine called `name`; "auto" is FOMM when a checkpoint is configured, else the landmark engine.

    `checkpoint` is the --checkpoint value; the environment and config.toml are consulted after it.
    """
    if name not in ENGINES:
        raise ConfigError(f"unknown engine {name!r}: choose one of {', '.join(ENGINES)}")
    resolved = resolve_checkpoint(checkpoint) if name != "landmark" else None
    if name == "fomm" and resolved is None:
        raise ConfigError(
            "the fomm engine needs a checkpoint: pass --checkpoint PATH, set "
            f"{CHECKPOINT_ENV}, or set fomm.checkpoint in {config_path()} (or use --engine landmark)"
        )
    if resolved is not None:
        from livepresenter.engine.fomm_engine import FommEngine

        log.debug("engine: fomm (checkpoint %s)", resolved)
        return FommEngine(resolved, Path(fomm_config) if fomm_config else None, device=device, precision=precision)
    from livepresenter.engine.landmark import LandmarkEngine

    log.debug("engine: landmark")
    return LandmarkEngine()


def engine_files(checkpoint: str | os.PathLike[str] | None,
                 fomm_config: str | os.PathLike[str] | None) -> list[tuple[str, Path | None]]:
    """The files `create_engine` would read for these options, by role (None where there is none): inputs that no
    output may replace."""
    return [("the FOMM checkpoint", resolve_checkpoint(checkpoint)),
            ("the FOMM config", Path(fomm_config) if fomm_config else None)]
