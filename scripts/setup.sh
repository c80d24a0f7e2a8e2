#!/usr/bin/env bash
# Install livepresenter into ./.venv (or $VENV) on a machine with Python 3.11+ and apt.
# Usage: scripts/setup.sh [test]   — "test" also installs what the test suite needs.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
WITH_TESTS=${1:-}

apt_packages=(libportaudio2)   # sounddevice's PortAudio; without it livepresenter records video only
if [[ "$WITH_TESTS" == test ]]; then
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
"$VENV/bin/python" -m pip install -q --upgrade pip
# The CPU build first: an unpinned torch would pull a multi-GB CUDA build.
"$VENV/bin/python" -m pip install -q torch==2.13.0
if [[ "$WITH_TESTS" == test ]]; then
    "$VENV/bin/python" -m pip install -q -e '.[test]'
else
    "$VENV/bin/python" -m pip install -q -e .
fi
