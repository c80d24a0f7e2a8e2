#!/usr/bin/env bash
# Remote mode on a GPU machine whose Python (3.12) has torch but not the server's packages: how the H200 figures in
# BENCHMARKS.md ("Remote GPU mode") were made, in one run. The server's packages travel as .whl/site312.tar.xz: the
# wheels of requirements/serve.in for CPython 3.12 (numpy 1.26, nvidia-pytriton and their needs, tritonclient),
# installed with `pip install --target` here, without the Triton stubs for other Pythons and the tests.
set -uo pipefail
OUT=${OUT:-/tmp/out}
mkdir -p /tmp/site "$OUT"
tar -xJf .whl/site312.tar.xz -C /tmp/site
export PYTHONPATH=/tmp/site:$PWD LIVEPRESENTER_SERVE_PYTHON=$(command -v python3) PYTHONUNBUFFERED=1
python3 - <<'PY'
import sys, sysconfig, numpy, torch
libdir = sysconfig.get_config_var("LIBDIR")
print(sys.version.split()[0], "LIBDIR", libdir, "shared", sysconfig.get_config_var("Py_ENABLE_SHARED"),
      "numpy", numpy.__version__, "torch", torch.__version__, torch.cuda.get_device_name())
PY
ls "$(python3 -c 'import sysconfig; print(sysconfig.get_config_var("LIBDIR"))')"/libpython3* 2>&1 | head -3
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
echo "== compute alone (scripts/bench_sessions.py)"
timeout 120 python3 scripts/bench_sessions.py --config vox-256 --batches 1,2,4,8,16,24,32 2>&1 | tee "$OUT/sessions.txt"
echo "== bench serve, vox-256 shape (random weights), 30 fps clients"
timeout 420 python3 -m livepresenter bench serve --fomm-config vox-256 --clients "${CLIENTS:-1,8,16,24,32}" \
    --seconds 8 --max-batch 32 --json 2>&1 | tee "$OUT/serve.txt"
cp /tmp/livepresenter-serve-*.log "$OUT/" 2>/dev/null || true
