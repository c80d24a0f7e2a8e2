#!/usr/bin/env bash
# Install livepresenter into ./.venv (or $VENV) on a machine with Python 3.11+ and apt.
# Usage: scripts/setup.sh [test|latest|serve|serve-latest]
#   (none)  the exact versions CI tested (requirements/runtime.lock, with hashes)
#   test    the same plus what the test suite needs (requirements/test.lock) and its system packages
#   latest  the newest versions inside pyproject.toml's ranges, with the test tools (how the locks are refreshed:
#           scripts/lock.sh)
#   serve   the FOMM server's own environment in ./.venv-serve (or $SERVE_VENV): `livepresenter serve` and the tests
#           use it. PyTriton needs numpy < 2. A torch already there is kept: on a GPU machine install the CUDA build
#           into the venv first. serve-latest: the newest versions inside requirements/serve.in.
# The locks are made on Linux x86_64 with Python 3.11 (CI's machine); elsewhere the pyproject's ranges are used.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
MODE=${1:-}
case "$MODE" in ""|test|latest|serve|serve-latest) ;;
    *) echo "setup: unknown mode '$MODE' (use: test, latest, serve, serve-latest, or nothing)" >&2; exit 2;; esac
platform_of() {
    "$1/bin/python" -c 'import platform, sys; print(f"{platform.system()}-{platform.machine()}-{sys.version_info[0]}.{sys.version_info[1]}")'
}

if [[ "$MODE" == serve* ]]; then
    VENV=${SERVE_VENV:-.venv-serve}
    [[ -x "$VENV/bin/python" ]] || "$PYTHON" -m venv "$VENV"
    pip=("$VENV/bin/python" -m pip install -qq)
    "${pip[@]}" --upgrade pip
    "$VENV/bin/python" -c 'import torch' 2>/dev/null || "${pip[@]}" torch==2.13.0
    if [[ "$MODE" == serve && "$(platform_of "$VENV")" == Linux-x86_64-3.11 ]]; then
        "${pip[@]}" --require-hashes -r requirements/serve.lock
    else
        "${pip[@]}" -r requirements/serve.in
    fi
    "${pip[@]}" --no-deps -e .
    exit 0
fi

apt_packages=(libportaudio2)   # sounddevice's PortAudio; without it livepresenter records video only
if [[ -n "$MODE" ]]; then
    # PulseAudio null sink (real microphone path), Xvfb + tray host + xdotool (real tray), Qt's xcb deps.
    apt_packages+=(pulseaudio pulseaudio-utils libasound2-plugins xvfb xauth xdotool trayer imagemagick
                   libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-xkb1
                   libxkbcommon-x11-0 libxcb-cursor0 libegl1 libgl1 libfontconfig1 libdbus-1-3 libglib2.0-0)
fi
missing=()
for pkg in "${apt_packages[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if (( ${#missing[@]} )); then
    sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
    echo "setup: installing system packages: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [[ ! -x "$VENV/bin/python" ]]; then
    "$PYTHON" -m venv "$VENV"
fi
pip=("$VENV/bin/python" -m pip install -qq)  # errors only: the build backend's notes are not the user's concern
"${pip[@]}" --upgrade pip
extras=""; [[ -n "$MODE" ]] && extras="[test]"
lock=requirements/runtime.lock; [[ "$MODE" == test ]] && lock=requirements/test.lock
platform=$(platform_of "$VENV")

if [[ "$MODE" != latest && "$platform" == Linux-x86_64-3.11 ]]; then
    # Exactly what CI tested, checked against the recorded hashes; then livepresenter itself, its dependencies
    # already in place.
    "${pip[@]}" --require-hashes -r "$lock"
    "${pip[@]}" --no-deps -e ".$extras"
else
    [[ "$MODE" != latest ]] && echo "setup: no lock for $platform (made for Linux-x86_64-3.11): using pyproject.toml's ranges"
    # The CPU build first: an unpinned torch would pull a multi-GB CUDA build.
    "${pip[@]}" torch==2.13.0
    "${pip[@]}" -e ".$extras"
fi
