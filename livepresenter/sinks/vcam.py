"""The virtual camera sink (pyvirtualcam: v4l2loopback on Linux, OBS on Windows and macOS)."""

from __future__ import annotations

import logging
import sys
from typing import Self

import numpy as np

from livepresenter.errors import DeviceError

log = logging.getLogger(__name__)

SETUP_STEPS = {
    "linux": "load v4l2loopback: sudo apt install v4l2loopback-dkms && "
             "sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label=livepresenter",
    "win32": "install OBS Studio (28 or newer) and start its Virtual Camera once, then close OBS",
    "darwin": "install OBS Studio (28 or newer) and start its Virtual Camera once, then close OBS",
}


def setup_hint(platform: str = sys.platform) -> str:
    return SETUP_STEPS.get("linux" if platform.startswith("linux") else platform, SETUP_STEPS["linux"])


class VirtualCamera:
    """Send HxWx3 uint8 RGB frames of a fixed size to a virtual camera that Zoom or Meet can select.

    Raises DeviceError (one line with the setup steps for this OS) when no virtual camera exists.
    """

    def __init__(self, width: int, height: int, fps: float, device: str | None = None) -> None:
        import pyvirtualcam

        self.shape = (height, width, 3)
        try:
            self._camera = pyvirtualcam.Camera(width, height, fps, fmt=pyvirtualcam.PixelFormat.RGB,
                                               device=device, print_fps=False)
        except Exception as exc:  # noqa: BLE001 - pyvirtualcam raises RuntimeError or backend-specific errors
            reason = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
            raise DeviceError(f"no virtual camera ({reason.rstrip('.')}); to fix: {setup_hint()}") from None
        self.device = self._camera.device
        log.info("virtual camera: %s (%dx%d @ %.0f fps)", self.device, width, height, fps)

    def send(self, frame: np.ndarray, timestamp: float | None = None) -> None:
        if frame.shape != self.shape:
            raise ValueError(f"virtual camera expects frames of shape {self.shape}, got {frame.shape}")
        self._camera.send(frame)

    @property
    def frames_sent(self) -> int:
        return self._camera.frames_sent if self._camera is not None else 0

    def close(self) -> None:
        if self._camera is not None:
            self._camera.close()
            self._camera = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
