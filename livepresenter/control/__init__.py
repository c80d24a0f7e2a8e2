"""The running daemon's control interface: newline-delimited JSON over a private local socket.

Clients use `request` / `ControlClient`; the daemon uses `livepresenter.control.server.ControlServer`.
"""

from livepresenter.control.client import ControlClient, request
from livepresenter.control.protocol import DaemonError, DaemonNotRunningError

__all__ = ["ControlClient", "DaemonError", "DaemonNotRunningError", "request"]
