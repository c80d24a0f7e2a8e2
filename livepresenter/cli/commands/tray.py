"""`livepresenter tray [-- RUN_OPTIONS]`: the tray icon; attaches to the running daemon or starts one.

Options after `--` are given to the `livepresenter run` the tray starts when no daemon runs, e.g.
`livepresenter tray -- --source 1 --presenter einstein`.
"""

from __future__ import annotations

import argparse
import logging

log = logging.getLogger("livepresenter")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_args", nargs=argparse.REMAINDER, metavar="-- RUN_OPTIONS",
                        help="options for `livepresenter run` when the tray starts the daemon")


def run(args: argparse.Namespace) -> int:
    from livepresenter.daemon.preview import display_available
    from livepresenter.errors import DeviceError

    if not display_available():
        raise DeviceError("no display for the tray: run it in a desktop session (DISPLAY or WAYLAND_DISPLAY set), "
                          "or control the daemon with `livepresenter status`, `switch`, ...")
    from PySide6.QtWidgets import QApplication, QSystemTrayIcon

    from livepresenter.tray import TrayApp

    app = QApplication.instance() or QApplication([])
    app.setQuitOnLastWindowClosed(False)  # closing the preview leaves the tray running
    if not QSystemTrayIcon.isSystemTrayAvailable():
        log.warning(
            "no system tray in this session yet: the icon appears when one starts (GNOME needs the "
            "AppIndicator extension); meanwhile use the CLI verbs")
    run_args = args.run_args[1:] if args.run_args[:1] == ["--"] else args.run_args
    tray = TrayApp(run_args)
    tray.finished.connect(app.quit)
    tray.start()
    app.exec()
    return 0
