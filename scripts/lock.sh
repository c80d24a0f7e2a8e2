#!/usr/bin/env bash
# Refresh the locks: install the newest versions inside pyproject.toml's ranges into a fresh venv (.venv-lock), run
# the whole suite with them, and only when it passes write requirements/runtime.lock and requirements/test.lock
# and requirements/serve.lock (exact versions and hashes of what was tested). Review the diff, then commit it with
# the suite's result.
set -euo pipefail
cd "$(dirname "$0")/.."
export VENV=${VENV:-.venv-lock}
export SERVE_VENV=${SERVE_VENV:-.venv-lock-serve}
export LIVEPRESENTER_SERVE_PYTHON="$PWD/$SERVE_VENV/bin/python"  # the tests' servers run in the new one too
rm -rf "$VENV" "$SERVE_VENV"
bash scripts/setup.sh latest
bash scripts/setup.sh serve-latest
"$VENV/bin/python" -m pytest -q "$@"
"$VENV/bin/python" scripts/write_locks.py requirements
"$SERVE_VENV/bin/python" scripts/write_locks.py requirements --serve
