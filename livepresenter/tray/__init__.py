"""The tray icon (PySide6): a menu that drives the running daemon over its control socket."""

from livepresenter.tray.app import TrayApp

__all__ = ["TrayApp"]
