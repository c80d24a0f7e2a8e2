#!/usr/bin/env bash
# Remote mode on a GPU machine whose Python (3.12) has torch but not the server's packages, in one run:
#   bash scripts/gpu_serve_check.sh bundle   # here, with internet: .whl/site312.tar.xz (about 37 MiB)
#   bash scripts/gpu_serve_check.sh          # there, with .whl carried: compute alone, then bench serve sweeps
# The bundle holds requirements/serve.in's packages for CPython 3.12 (numpy 1.26, nvidia-pytriton and what it needs,
# tritonclient, Pillow is on that machine already) installed with `pip install --target`, without the Triton stubs for
# other Pythons and the packages' tests, so that it fits beside the repository in one 64 MiB transfer.
set -uo pipefail
if [[ "${1:-}" == bundle ]]; then
    set -e
    rm -rf /tmp/site312 && mkdir -p .whl
    platforms=(); for p in manylinux_2_35 manylinux_2_28 manylinux_2_27 manylinux_2_26 manylinux_2_24 manylinux_2_17 \
                             manylinux2014 manylinux_2_5 manylinux1; do platforms+=(--platform "${p}_x86_64"); done
    python3 -m pip install -q --no-deps --no-compile --only-binary=:all: --target /tmp/site312 --python-version 3.12 \
        --implementation cp "${platforms[@]}" nvidia-pytriton==0.7.0 numpy==1.26.4 pyzmq sh typing_inspect \
        tritonclient==2.73.0 python-rapidjson geventhttpclient gevent greenlet zope.event zope.interface brotli \
        importlib_metadata platformdirs lazy-importer
    rm -rf /tmp/site312/nvidia_pytriton.libs/libpython3-*.13.so.1.0 \
        /tmp/site312/pytriton/tritonserver/python_backend_stubs/3.{8,9,10,11,13}
    find /tmp/site312 -type d -name tests -prune -exec rm -rf {} +
    tar -C /tmp/site312 -cf - . | xz -9e -T2 > .whl/site312.tar.xz
    ls -la .whl/site312.tar.xz
    exit 0
fi
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
