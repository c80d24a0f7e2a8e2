#!/usr/bin/env bash
# The README's second command: install the locked versions with the test dependencies and the FOMM server's own
# environment (.venv-serve: the remote-mode tests start real servers), then run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
bash scripts/setup.sh serve
exec "${VENV:-.venv}/bin/python" -m pytest "$@"
