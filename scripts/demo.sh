#!/usr/bin/env bash
# The README's first command: install, then run the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec "${VENV:-.venv}/bin/livepresenter" demo "$@"
