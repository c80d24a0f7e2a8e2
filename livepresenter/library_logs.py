"""One voice: OpenCV's, FFmpeg's and Qt's own log lines stay away from the user, who reads the project's one-line
messages instead; `--debug` lets the libraries speak again.

Set through the environment, so it holds for the libraries' first use (OpenCV reads its levels when it loads, its
FFmpeg backend when it starts, Qt when its application starts) and for the processes the CLI starts (the daemon the
tray launches).
"""

from __future__ import annotations

import os
import sys

__all__ = ["quiet_libraries"]

QUIET = {
    "OPENCV_LOG_LEVEL": "SILENT",  # camera probing: "[ WARN:0@0.1] global cap_v4l.cpp ... can't open camera"
    "OPENCV_FFMPEG_LOGLEVEL": "-8",  # AV_LOG_QUIET: "[h264 @ 0x...] error while decoding" from OpenCV's decoder
    "QT_LOGGING_RULES": "*=false",  # "QStandardPaths: ...", platform plugin notes
}


def quiet_libraries(debug: bool = False) -> None:
    """Silence the libraries' own logging (a user's own setting of any of these variables wins), or, with `debug`,
    make sure they speak."""
    if debug:
        for name, value in QUIET.items():
            if os.environ.get(name) == value:
                del os.environ[name]
        return
    for name, value in QUIET.items():
        os.environ.setdefault(name, value)
    cv2 = sys.modules.get("cv2")  # already loaded (by a test or an embedding program): it no longer reads the variable
    if cv2 is not None:
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
