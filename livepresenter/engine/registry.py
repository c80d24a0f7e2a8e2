"""Engine names as the CLI spells them, and the one place that turns a name into an engine.

Engines are imported only when chosen, so picking the landmark engine never imports torch.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from livepresenter.config import CHECKPOINT_ENV, config_path, configured_path, configured_value, resolve_checkpoint
from livepresenter.engine.base import AnimationEngine
from livepresenter.errors import ConfigError

__all__ = ["ENGINES", "create_engine", "engine_files"]

log = logging.getLogger(__name__)

ENGINES = ("auto", "landmark", "fomm", "remote")


def create_engine(
    name: str,
    checkpoint: str | os.PathLike[str] | None = None,
    fomm_config: str | os.PathLike[str] | None = None,
    device: str | None = None,
    precision: str = "auto",
    server: str | None = None,
    token_file: str | os.PathLike[str] | None = None,
    live: bool = True,
) -> AnimationEngine:
    """Build the engine called `name`; "auto" is FOMM when a checkpoint is configured, else the landmark engine
    (never the remote engine: the network is used only when asked for).

    `checkpoint` is the --checkpoint value; the environment and config.toml are consulted after it. `server` and
    `token_file` (the remote engine's) fall back to config.toml's `remote.server` and `remote.token_file`; `live`
    False (render, eval) lets the remote engine wait for the server instead of showing a local frame.
    """
    if name not in ENGINES:
        raise ConfigError(f"unknown engine {name!r}: choose one of {', '.join(ENGINES)}")
    if name == "remote":
        return _remote_engine(server, token_file, live)
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


def _remote_engine(server: str | None, token_file: str | os.PathLike[str] | None, live: bool) -> AnimationEngine:
    from livepresenter.engine.remote_engine import RemoteEngine
    from livepresenter.remote.protocol import read_token

    server = server or configured_value("remote", "server")
    if server is None:
        raise ConfigError(f"the remote engine needs a server: pass --server HOST:PORT or set remote.server in "
                          f"{config_path()}")
    token = read_token(token_file or configured_path("remote", "token_file"))
    log.debug("engine: remote (%s)", server)
    return RemoteEngine(server, token, configured_path("remote", "tls_ca"), live=live)


def engine_files(checkpoint: str | os.PathLike[str] | None,
                 fomm_config: str | os.PathLike[str] | None) -> list[tuple[str, Path | None]]:
    """The files `create_engine` would read for these options, by role (None where there is none): inputs that no
    output may replace."""
    return [("the FOMM checkpoint", resolve_checkpoint(checkpoint)),
            ("the FOMM config", Path(fomm_config) if fomm_config else None)]
