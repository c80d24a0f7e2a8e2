"""Shared test fixtures: the test data in tests/data (clips, portraits, FOMM parity sets), private folders, a vcam."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"  # in the repository: see its MANIFEST.md for each file's origin and rights
FIXTURES = DATA / "fomm"
DRIVING = DATA / "driving"
PORTRAITS = DATA / "portraits"


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


@pytest.fixture(scope="session")
def fomm_fixtures() -> Path:
    """Golden FOMM parity sets: configs, random-weight checkpoints, the official code's inputs and outputs."""
    return FIXTURES


@pytest.fixture(scope="session")
def driving_dir() -> Path:
    """Real talking-head clips."""
    return DRIVING


@pytest.fixture(scope="session")
def portraits_dir() -> Path:
    """Public-domain portraits."""
    return PORTRAITS


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


@pytest.fixture
def read_only_folder(tmp_path: Path):
    """A folder nobody can create files in. As root (CI, containers) permissions do not stop writes, so it is a
    read-only bind mount of itself (EROFS); without the privilege to mount one the test is skipped. Other users
    get a folder with mode 0o500 (EACCES)."""
    import os
    import shutil
    import subprocess

    folder = tmp_path / "read-only"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o500)
        yield folder
        folder.chmod(0o700)
        return
    if shutil.which("mount") is None:
        pytest.skip("root, and no mount command to make a read-only bind mount")
    mounted = subprocess.run(["mount", "--bind", "-o", "ro", str(folder), str(folder)], capture_output=True,
                             check=False)
    if mounted.returncode != 0:
        pytest.skip(f"root, and a read-only bind mount is not allowed here: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)
