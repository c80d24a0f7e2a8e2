#!/usr/bin/env bash
# The README's second command: install the locked versions with the test dependencies, then run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
exec "${VENV:-.venv}/bin/python" -m pytest "$@"
