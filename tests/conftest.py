"""Shared test fixtures: where ../shared is, and skips with a reason when it is absent."""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("LIVEPRESENTER_SHARED", REPO.parent / "shared"))
FIXTURES = SHARED / "fomm" / "fixtures"
MEDIA = SHARED / "media"


@pytest.fixture(autouse=True, scope="session")
def private_dirs():
    """The test run gets its own config, data and runtime folders: never $HOME, never a developer's daemon.

    Session-wide, so module fixtures that start a daemon and the tests that talk to it agree; tests that
    need their own folders set them with monkeypatch.
    """
    import shutil
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="lp-"))  # short: the control socket path must fit AF_UNIX's 108 bytes
    with pytest.MonkeyPatch.context() as patch:
        for name in ("CONFIG", "DATA", "RUNTIME"):
            (root / name.lower()).mkdir(mode=0o700)
            patch.setenv(f"LIVEPRESENTER_{name}_DIR", str(root / name.lower()))
        yield
    shutil.rmtree(root, ignore_errors=True)


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is absent (../shared is not beside this clone; CI has it)")
    return path


@pytest.fixture(scope="session")
def shared_fixtures() -> Path:
    """../shared/fomm/fixtures: golden FOMM parity data."""
    return _require(FIXTURES)


@pytest.fixture(scope="session")
def driving_dir() -> Path:
    """../shared/media/driving: real talking-head clips."""
    return _require(MEDIA / "driving")


@pytest.fixture(scope="session")
def portraits_dir() -> Path:
    """../shared/media/portraits: public-domain portraits."""
    return _require(MEDIA / "portraits")


class RecordingVirtualCamera:
    """A pyvirtualcam backend that keeps what it receives (registered only by the `vcam` fixture).

    Tests drive the real `pyvirtualcam.Camera` (format and shape checks, frames_sent) into it.
    """

    instances: ClassVar[list[RecordingVirtualCamera]] = []

    def __init__(self, *, width: int, height: int, fps: float, fourcc: int, device: str | None, **kw) -> None:
        self.width, self.height, self.fps, self.fourcc = width, height, fps, fourcc
        self.frames: list = []
        self.closed = 0
        RecordingVirtualCamera.instances.append(self)

    def send(self, frame) -> None:
        """pyvirtualcam hands backends a flat buffer in the app's format (RGB here): keep it as an image."""
        self.frames.append(frame.reshape(self.height, self.width, -1).copy())

    def close(self) -> None:
        self.closed += 1

    def device(self) -> str:
        return "/dev/video-test"

    def native_fourcc(self) -> int | None:
        return None


@pytest.fixture
def vcam():
    """Register the recording backend; yields the class whose `instances` hold each opened camera."""
    import pyvirtualcam
    from pyvirtualcam import camera

    RecordingVirtualCamera.instances = []
    pyvirtualcam.register_backend("livepresenter-test", RecordingVirtualCamera)
    try:
        yield RecordingVirtualCamera
    finally:
        camera.BACKENDS.pop("livepresenter-test", None)


@pytest.fixture(scope="session")
def ffmpeg() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()
