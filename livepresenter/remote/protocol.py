"""What crosses the network between a lecturer's laptop and the FOMM server, defined once for both sides.

Two Triton models. `livepresenter_setup` takes a session id, a kind ("source": the portrait's face crop, once per
presenter; "reference": the driver's neutral face crop) and a JPEG; `livepresenter_animate` takes a session id and the
driving face crop as JPEG and answers the animated crop as JPEG. Both answer a status: "ok", UNKNOWN_SESSION (the
session expired or the server restarted: send the presenter again) or an error sentence. Nothing else leaves the
laptop: no camera frame, no audio, no portrait beyond its face crop.
"""

from __future__ import annotations

import io
import ipaddress
import socket
from pathlib import Path

import numpy as np

from livepresenter.errors import ConfigError

SETUP_MODEL = "livepresenter_setup"
ANIMATE_MODEL = "livepresenter_animate"
SOURCE, REFERENCE = b"source", b"reference"
OK = b"ok"
UNKNOWN_SESSION = b"unknown session"
TOKEN_HEADER = "triton-grpc-protocol-triton-access-token"  # Triton's restricted-protocol header (PyTriton's name)
JPEG_QUALITY = 90
DEFAULT_PORT = 8001  # Triton's gRPC port


MAX_SIDE = 2048  # a face crop is 256 px: anything much larger is not one


def encode_jpeg(rgb: np.ndarray) -> bytes:
    """HxWx3 uint8 RGB -> JPEG bytes. Pillow on both sides: it needs no particular numpy (the server's is < 2)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


def decode_jpeg(data: bytes) -> np.ndarray:
    """JPEG bytes -> HxWx3 uint8 RGB; ValueError for anything else, or for an image too large to be a face crop."""
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data))
        if image.format != "JPEG":
            raise ValueError("not a JPEG image")
        if max(image.size) > MAX_SIDE:
            raise ValueError(f"a {image.size[0]}x{image.size[1]} image is not a face crop (at most {MAX_SIDE} px)")
        return np.array(image.convert("RGB"))  # writable: torch takes it as it is
    except (UnidentifiedImageError, OSError):
        raise ValueError("not a JPEG image") from None


def parse_server(address: str) -> tuple[str, int]:
    """"HOST:PORT" (or "HOST", Triton's gRPC port 8001) -> (host, port); ConfigError in one line otherwise."""
    host, separator, port = address.strip().rpartition(":")
    if not separator:
        host, port = address.strip(), str(DEFAULT_PORT)
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"remote server {address!r}: give it as HOST:PORT, e.g. gpu.example.edu:8001")
    return host, int(port)


def is_loopback(host: str) -> bool:
    """True when `host` names this machine only (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def read_token(path: str | Path | None) -> str | None:
    """The shared secret in a token file (its first line), or None without a file; ConfigError when unreadable or
    empty. The token itself never goes into a message or a log."""
    if path is None:
        return None
    file = Path(path).expanduser()
    try:
        token = file.read_text(encoding="utf-8").strip().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"token file {file}: cannot read it ({getattr(exc, 'strerror', None) or exc})") from None
    if not token or not token[0].strip():
        raise ConfigError(f"token file {file} is empty: write the server's token on its first line")
    return token[0].strip()


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (for tests and `bench serve`)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]
