"""Image files in: portraits read as RGB, with a pixel limit checked before the pixels are allocated.

A portrait is used at its own resolution, so a 12000x12000 photo would cost gigabytes and seconds before anything
could say "no face found". The size is read from the file's header first: a JPEG over the limit is decoded at a
half, quarter or eighth of its size (libjpeg scales while decoding, so the full image never exists in memory);
any other file over the limit is refused with the limit named.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from livepresenter.errors import InputError

__all__ = ["MAX_IMAGE_PIXELS", "image_header", "load_image_rgb"]

MAX_IMAGE_PIXELS = 4096 * 4096
"""Portraits larger than this are decoded smaller (JPEG) or refused: 16 MP is more detail than any output shows."""
_REDUCED_FLAGS = {2: "IMREAD_REDUCED_COLOR_2", 4: "IMREAD_REDUCED_COLOR_4", 8: "IMREAD_REDUCED_COLOR_8"}
_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}  # headers with the size


def image_header(path: Path) -> tuple[str, int, int] | None:
    """("jpeg" or "png", width, height) from the file's header without decoding it; None for other or damaged
    files."""
    with Path(path).open("rb") as file:
        head = file.read(24)
        if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
            return ("png", *struct.unpack(">II", head[16:24]))
        if head[:2] != b"\xff\xd8":
            return None
        file.seek(2)
        while (marker := file.read(2)) and len(marker) == 2 and marker[0] == 0xFF:
            length_bytes = file.read(2)
            if len(length_bytes) < 2:
                return None
            (length,) = struct.unpack(">H", length_bytes)
            if marker[1] in _JPEG_SOF:
                segment = file.read(5)
                if len(segment) < 5:
                    return None
                height, width = struct.unpack(">HH", segment[1:5])
                return "jpeg", width, height
            file.seek(length - 2, 1)
    return None


def load_image_rgb(path: Path, max_pixels: int = MAX_IMAGE_PIXELS) -> np.ndarray:
    """Read an image file as HxWx3 uint8 RGB (grayscale files become three equal channels), at most `max_pixels`."""
    import cv2

    path = Path(path)
    if not path.is_file():
        raise InputError(f"cannot read image {path}: give a JPEG or PNG file")
    flags = cv2.IMREAD_COLOR
    header = image_header(path)
    if header is not None and header[1] * header[2] > max_pixels:
        kind, width, height = header
        factor = next((f for f in _REDUCED_FLAGS if width * height <= max_pixels * f * f), None)
        if factor is None or kind != "jpeg":
            raise InputError(f"image {path} is {width}x{height}, over the limit of {max_pixels / 1e6:.1f} megapixels: "
                             "scale it down (a portrait needs no more than about 2000 px a side)")
        flags = getattr(cv2, _REDUCED_FLAGS[factor])
    img_bgr = cv2.imread(str(path), flags)
    if img_bgr is None:
        raise InputError(f"cannot read image {path}: give a JPEG or PNG file")
    return cv2.cvtColor(img_bgr, cv2.COLOR_BGR2RGB)
