"""`livepresenter studio`: the window for making a lecture video as a historical figure, no terminal needed."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--camera", default="0", help="camera that Record uses: index or device path (default 0)")


def run(args: argparse.Namespace) -> int:
    from livepresenter.daemon.preview import display_available
    from livepresenter.errors import DeviceError

    if not display_available():
        raise DeviceError("no display for the studio: run it in a desktop session (DISPLAY or WAYLAND_DISPLAY set), "
                          "or use `livepresenter render` in a terminal")
    from PySide6.QtWidgets import QApplication

    from livepresenter.studio.window import StudioWindow

    app = QApplication.instance() or QApplication([])
    window = StudioWindow(camera=args.camera)
    window.resize(1100, 760)
    window.show()
    app.exec()
    return 0
