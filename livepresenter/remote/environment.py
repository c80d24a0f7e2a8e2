"""Where the server's Python lives: PyTriton needs numpy < 2, so `serve` runs in its own virtual environment.

`bash scripts/setup.sh serve` makes it beside the project (`.venv-serve`); `LIVEPRESENTER_SERVE_PYTHON` or
`serve.python` in config.toml point elsewhere. An interpreter that already imports PyTriton (a GPU machine's own
Python with the server's packages) serves from where it is.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

from livepresenter.config import config_path, configured_path
from livepresenter.errors import ConfigError

SERVE_PYTHON_ENV = "LIVEPRESENTER_SERVE_PYTHON"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
SERVE_VENV = PROJECT_ROOT / ".venv-serve"


def pytriton_here() -> bool:
    return importlib.util.find_spec("pytriton") is not None


def server_python() -> Path:
    """The interpreter that runs `livepresenter serve`; ConfigError naming the setup command when there is none."""
    if os.environ.get(SERVE_PYTHON_ENV):
        return Path(os.environ[SERVE_PYTHON_ENV]).expanduser()
    if pytriton_here():
        return Path(sys.executable)
    configured = configured_path("serve", "python")
    if configured is not None:
        return configured
    python = SERVE_VENV / "bin" / "python"
    if python.exists():
        return python
    raise ConfigError(f"the server's environment is missing: run `bash scripts/setup.sh serve` in {PROJECT_ROOT} "
                      f"once (or set {SERVE_PYTHON_ENV}, or serve.python in {config_path()})")


def server_command(*arguments: str) -> list[str]:
    """The command line that runs `livepresenter serve ARGUMENTS` in the server's environment."""
    return [str(server_python()), "-m", "livepresenter", "serve", *arguments]
