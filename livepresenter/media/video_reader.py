"""Streaming video reader (PyAV): one decoded RGB frame at a time, so an hour-long lecture never sits in memory."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av

from livepresenter.errors import InputError
from livepresenter.media.frame import Frame

__all__ = ["VideoReader"]

log = logging.getLogger(__name__)

_FALLBACK_FPS = Fraction(25)


class VideoReader:
    """Probes `path` at construction (a missing or undecodable file is an InputError naming it).

    fps: the average frame rate as an exact fraction (24000/1001 stays exact); frame_count: from the container,
    None when it does not say; size: (width, height); start_s: the first frame's time in the file, which is where
    the audio has to be cut to stay in sync; has_audio: whether the file has an audio stream; damage: why the last
    `frames(stop_at_damage=True)` ended before the end of the file, None when it did not.
    Each iteration opens the file again and yields Frame objects from the first frame; nothing stays open
    between iterations, so a reader needs no closing.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        with _open(self.path) as container:
            if not container.streams.video:
                raise InputError(f"{self.path} has no video stream: give a video file (e.g. MP4)")
            stream = container.streams.video[0]
            self.size: tuple[int, int] = (stream.codec_context.width, stream.codec_context.height)
            self.fps: Fraction = Fraction(stream.average_rate or stream.guessed_rate or 0)
            self.frame_count: int | None = stream.frames or None
            self.start_s = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
            self.has_audio = bool(container.streams.audio)
        self.damage: str | None = None
        if not self.fps:
            log.warning("%s does not state its frame rate; assuming %s fps", self.path, _FALLBACK_FPS)
            self.fps = _FALLBACK_FPS

    def __iter__(self) -> Iterator[Frame]:
        return self.frames()

    def frames(self, *, stop_at_damage: bool = False) -> Iterator[Frame]:
        """The frames from the first; one that cannot be decoded raises InputError.

        stop_at_damage: a decoding error after the first frame ends the frames instead, and `damage` says what it
        was: what comes before a damaged stretch is still worth using (a render keeps it and says so).
        """
        self.damage = None
        decoded = 0
        with _open(self.path) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            try:
                for index, frame in enumerate(container.decode(stream)):
                    time_s = frame.time - self.start_s if frame.time is not None else index / self.fps
                    yield Frame(index, float(time_s), frame.to_ndarray(format="rgb24"))
                    decoded += 1
            except av.FFmpegError as exc:
                if stop_at_damage and decoded:
                    self.damage = getattr(exc, "strerror", None) or str(exc)
                    return
                raise InputError(f"cannot decode {self.path}: {exc}; the file may be truncated or corrupt") from None


def _open(path: Path) -> av.container.InputContainer:
    if not path.is_file():
        raise InputError(f"video {path} does not exist: check the path")
    try:
        return av.open(str(path), mode="r")
    except (av.FFmpegError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read video {path}: {exc}; give a video file ffmpeg can decode (e.g. MP4)") from None
