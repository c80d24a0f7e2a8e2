"""MP4 writer (PyAV): H.264 video from RGB frames with timestamps, and optionally AAC audio.

Audio comes either from a file (render keeps the driving video's sound: AAC packets are copied untouched, other
codecs are re-encoded) or from live sample blocks with timestamps (recording from a microphone). Both are muxed
by timestamp beside the video as it is written, so memory stays flat however long the video is, and the audio
track starts where the video starts.

`fragmented=True` writes fragmented MP4 flushed after every packet, a fragment every half second and a keyframe every
second: a recording cut short by a crash or kill -9 stays playable up to about its last second. After a write that
failed (disk full), closing the writer cuts the file back to its last whole fragment, so that it stays playable too.
"""

from __future__ import annotations

import logging
import os
import struct
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Self

import av
import numpy as np

from livepresenter.errors import ConfigError, InputError

__all__ = ["AudioFormat", "Mp4Writer"]

log = logging.getLogger(__name__)

# frag_duration: a fragment also ends after half a second, however many frames that is (a live recording whose
# output rate sags would otherwise make fragments of gop frames that last seconds, all lost to a crash).
# max_interleave_delta: with a live audio track, packets wait in the muxer until every stream has one; when the sound
# stalls (a microphone starting up), video must still reach the disk within half a second to stay crash-safe.
_FRAGMENTED_OPTIONS = {"movflags": "frag_keyframe+empty_moov+default_base_moof", "flush_packets": "1",
                       "frag_duration": "500000", "max_interleave_delta": "500000"}
_PLAIN_OPTIONS = {"movflags": "+faststart"}  # index up front: the file starts playing before it has downloaded
_AAC_BIT_RATE = 128_000
_AAC_FALLBACK_RATE_HZ = 48_000
# Live audio blocks whose timestamp is within this of where the track has reached are taken as continuous
# (clock jitter); a later block leaves a gap that is filled with silence, an earlier one overlaps and is trimmed.
_AUDIO_SYNC_TOLERANCE_S = 0.04


@dataclass(frozen=True)
class AudioFormat:
    """Live audio blocks: (samples, channels) arrays of float32 in -1..1 or int16, at sample_rate_hz."""

    sample_rate_hz: int
    channels: int

    def __post_init__(self) -> None:
        if self.channels not in (1, 2):
            raise ValueError(f"live audio must be mono or stereo, got {self.channels} channels")

    @property
    def layout(self) -> str:
        return "mono" if self.channels == 1 else "stereo"


class Mp4Writer:
    """Writes `path` as H.264 (libx264, yuv420p) at `size` (width, height, both even) and nominal `fps`.

    audio_from: copy the first audio stream of this file (usually the video being re-animated), cut at
        `audio_start_s` (that file's first video frame), so that it stays in sync; no audio stream, no audio track.
    live_audio: accept `write_audio` blocks in this format instead.
    metadata: container tags (mp4 keeps title, comment, description, date, creation_time, artist, copyright...).
    A context manager; `close()` finishes the file and may be called any number of times.
    """

    def __init__(
        self,
        path: Path,
        size: tuple[int, int],
        fps: Fraction | float,
        *,
        audio_from: Path | None = None,
        audio_start_s: float = 0.0,
        live_audio: AudioFormat | None = None,
        metadata: Mapping[str, str] | None = None,
        fragmented: bool = False,
        preset: str = "veryfast",
        crf: int = 20,
    ) -> None:
        width, height = size
        if width % 2 or height % 2:
            raise ConfigError(
                f"video size {width}x{height} has an odd side: H.264 (yuv420p) needs an even width and height"
            )
        if audio_from is not None and live_audio is not None:
            raise ValueError("give audio_from or live_audio, not both")
        self.path = Path(path)
        self.fps = Fraction(fps).limit_denominator(100_000)
        self.frames_written = 0
        self._time_base = 1 / self.fps
        self._last_pts = -1
        self._frame_shape = (height, width, 3)
        self._fragmented = fragmented
        self._failed = False
        self._container = _create(self.path, _FRAGMENTED_OPTIONS if fragmented else _PLAIN_OPTIONS)
        try:
            self._container.metadata.update(metadata or {})
            self._video = self._container.add_stream("libx264", rate=self.fps)
            self._video.width, self._video.height, self._video.pix_fmt = width, height, "yuv420p"
            self._video.codec_context.time_base = self._time_base
            self._video.codec_context.options = {"preset": preset, "crf": str(crf)}
            if fragmented:
                self._video.codec_context.gop_size = max(1, round(self.fps))
                # No B-frames: fragments have no edit list to hide their decode delay, which would shift video
                # against audio.
                self._video.codec_context.max_b_frames = 0
            self._file_audio = _FileAudio(self._container, audio_from, audio_start_s) if audio_from else None
            self._live_track = _AacTrack(self._container, live_audio) if live_audio else None
        except BaseException:
            self._container.close()
            raise

    @property
    def has_audio(self) -> bool:
        return bool(self._live_track or (self._file_audio and self._file_audio.present))

    def write(self, frame_rgb: np.ndarray, time_s: float | None = None) -> None:
        """Add one HxWx3 uint8 RGB frame shown at `time_s` (default: right after the previous frame).

        Timestamps are kept on the 1/fps grid; a frame that would land on or before the previous one moves to the
        next slot, so every frame given is written.
        """
        self._check_open()
        if frame_rgb.shape != self._frame_shape or frame_rgb.dtype != np.uint8:
            raise ValueError(f"frame is {frame_rgb.shape} {frame_rgb.dtype}, expected {self._frame_shape} uint8")
        pts = self._last_pts + 1 if time_s is None else max(self._last_pts + 1, round(time_s * self.fps))
        frame = av.VideoFrame.from_ndarray(frame_rgb, format="rgb24")
        frame.pts, frame.time_base = pts, self._time_base
        self._mux(self._video.encode(frame))
        self._last_pts = pts
        self.frames_written += 1
        if self._file_audio:
            self._mux(self._file_audio.packets_until(float((pts + 1) * self._time_base)))

    def write_audio(self, samples: np.ndarray, time_s: float) -> None:
        """Add a live block of (samples, channels) audio whose first sample was captured at `time_s`."""
        self._check_open()
        if self._live_track is None:
            raise ValueError("this writer was opened without live_audio")
        self._mux(self._live_track.push(_frame_from_samples(samples, self._live_track.audio_format), time_s))

    def close(self) -> None:
        """Flush the encoders and finish the file (the moov index, unless fragmented).

        After a failed write only the file is closed (a fragmented one cut back to its last whole fragment); the
        error was raised by that write.
        """
        if self._container is None:
            return
        try:
            if not self._failed:
                self._mux(self._video.encode(None))
                end_s = float((self._last_pts + 1) * self._time_base)
                if self._file_audio:
                    self._mux(self._file_audio.finish(end_s))
                if self._live_track:
                    self._mux(self._live_track.flush())
        finally:
            container, self._container = self._container, None
            if self._file_audio:
                self._file_audio.close()
            try:
                container.close()
            except (OSError, av.FFmpegError):
                if not self._failed:
                    self._failed = True
                    raise
            finally:
                if self._failed and self._fragmented:
                    _cut_torn_fragment(self.path)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._container is None:
            raise ValueError(f"{self.path} is closed")

    def _mux(self, packets: Iterable[av.Packet]) -> None:
        try:
            for packet in packets:
                self._container.mux(packet)
        except (OSError, av.FFmpegError):
            self._failed = True
            raise


class _AacTrack:
    """An AAC stream fed PCM blocks with timestamps, kept sample-continuous from time 0 (the first video frame).

    A block that starts later than where the track has reached leaves a gap, filled with silence; one that starts
    earlier overlaps, and its early samples are dropped. Both keep every later sample at its own time.
    """

    def __init__(self, container: av.container.OutputContainer, source: AudioFormat) -> None:
        aac_rates = av.Codec("aac", "w").audio_rates or ()
        self.audio_format = source
        self.rate_hz = source.sample_rate_hz if source.sample_rate_hz in aac_rates else _AAC_FALLBACK_RATE_HZ
        self._stream = container.add_stream("aac", rate=self.rate_hz)
        self._stream.layout = source.layout
        self._stream.bit_rate = _AAC_BIT_RATE
        self._resampler = av.AudioResampler(format="fltp", layout=source.layout, rate=self.rate_hz)
        self._next_sample = 0
        self._tolerance = round(_AUDIO_SYNC_TOLERANCE_S * self.rate_hz)

    def push(self, frame: av.AudioFrame, time_s: float) -> list[av.Packet]:
        """Encode `frame`, whose first sample belongs at `time_s` seconds after the first video frame."""
        frame.pts = None  # the resampler must not reorder by the source's clock; placement is done here
        planes = [out.to_ndarray() for out in self._resampler.resample(frame)]
        if not planes:
            return []
        samples = np.concatenate(planes, axis=1)
        offset = round(time_s * self.rate_hz) - self._next_sample
        if offset > self._tolerance:
            samples = np.concatenate([np.zeros((samples.shape[0], offset), np.float32), samples], axis=1)
        elif offset < -self._tolerance:
            samples = samples[:, -offset:]
        return self._encode(samples)

    def flush(self) -> list[av.Packet]:
        return self._stream.encode(None)

    def _encode(self, samples: np.ndarray) -> list[av.Packet]:
        if samples.shape[1] == 0:
            return []
        layout = self.audio_format.layout
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples), format="fltp", layout=layout)
        frame.sample_rate, frame.pts, frame.time_base = self.rate_hz, self._next_sample, Fraction(1, self.rate_hz)
        self._next_sample += samples.shape[1]
        return self._stream.encode(frame)


class _FileAudio:
    """The first audio stream of a source file, handed out packet by packet up to a time on the output clock."""

    def __init__(self, container: av.container.OutputContainer, source_path: Path, start_s: float) -> None:
        self._source = av.open(str(source_path))
        self._track: _AacTrack | None = None
        self._pending: av.Packet | None = None
        streams = self._source.streams.audio
        self.present = bool(streams)
        if not streams:
            self._packets: Iterator[av.Packet] = iter(())
        elif streams[0].codec_context.name == "aac":
            out_stream = container.add_stream_from_template(streams[0])
            self._packets = _copied_packets(self._source, streams[0], out_stream, start_s)
        else:
            # More than two channels are mixed down to stereo by the track's resampler.
            output = AudioFormat(streams[0].codec_context.sample_rate, min(2, streams[0].codec_context.channels))
            self._track = _AacTrack(container, output)
            self._packets = _transcoded_packets(self._source, streams[0], self._track, start_s)
        how = "none" if not streams else "re-encoded" if self._track else "copied"
        log.debug("audio from %s: %s", source_path, how)

    def packets_until(self, time_s: float) -> Iterator[av.Packet]:
        """Packets that start before `time_s`, in order; the first later one is kept for the next call."""
        while True:
            if self._pending is None:
                self._pending = next(self._packets, None)
            if self._pending is None or self._pending.pts * self._pending.time_base >= time_s:
                return
            packet, self._pending = self._pending, None
            yield packet

    def finish(self, end_s: float) -> Iterator[av.Packet]:
        """The packets up to the end of the video, then what the encoder still holds."""
        yield from self.packets_until(end_s)
        if self._track:
            yield from self._track.flush()

    def close(self) -> None:
        self._source.close()


def _frame_from_samples(samples: np.ndarray, audio: AudioFormat) -> av.AudioFrame:
    """An audio frame from a live (samples, channels) float32 or int16 block."""
    formats = {np.dtype(np.float32): "flt", np.dtype(np.int16): "s16"}
    if samples.ndim != 2 or samples.shape[1] != audio.channels or samples.dtype not in formats:
        raise ValueError(
            f"audio block is {samples.shape} {samples.dtype}, expected (n, {audio.channels}) float32 or int16"
        )
    frame = av.AudioFrame.from_ndarray(
        np.ascontiguousarray(samples).reshape(1, -1), format=formats[samples.dtype], layout=audio.layout
    )
    frame.sample_rate = audio.sample_rate_hz
    return frame


def _copied_packets(
    source: av.container.InputContainer, in_stream: av.AudioStream, out_stream: av.AudioStream, start_s: float
) -> Iterator[av.Packet]:
    """AAC packets as they are, moved so that `start_s` becomes 0; packets ending before it are dropped.

    The priming packet (it ends exactly at the first sample, its pts is negative) is kept, so the copy decodes
    as cleanly as the source.
    """
    shift = round(start_s / in_stream.time_base)
    for packet in source.demux(in_stream):
        if packet.dts is None or packet.pts + packet.duration < shift:
            continue
        packet.pts -= shift
        packet.dts -= shift
        packet.stream = out_stream
        yield packet


def _transcoded_packets(
    source: av.container.InputContainer, in_stream: av.AudioStream, track: _AacTrack, start_s: float
) -> Iterator[av.Packet]:
    for frame in source.decode(in_stream):
        yield from track.push(frame, frame.time - start_s)


def _cut_torn_fragment(path: Path) -> None:
    """Cut a fragmented MP4 whose writing stopped mid-way back to its last whole fragment (moof + mdat).

    Decoders reject a fragment whose sample data is cut short; truncating only shrinks the file, which works on a
    full disk too.
    """
    with open(path, "r+b") as file:
        size = os.fstat(file.fileno()).st_size
        position = keep = 0
        while position + 8 <= size:
            file.seek(position)
            header = file.read(16)
            box_size, kind = struct.unpack(">I4s", header[:8])
            if box_size == 1 and len(header) == 16:
                box_size = struct.unpack(">Q", header[8:])[0]
            if box_size < 8 or position + box_size > size:
                break
            position += box_size
            if kind in (b"moov", b"mdat", b"mfra"):  # a fragment ends with its mdat
                keep = position
        if keep < size:
            log.debug("%s: cut %d bytes of a torn fragment", path, size - keep)
            file.truncate(keep)


def retag(path: Path, metadata: Mapping[str, str]) -> None:
    """Replace the container tags of the MP4 at `path`, keeping its streams bit for bit.

    A fragmented MP4 keeps its tags in the header written before the first frame, so they cannot be changed in
    place: the streams are copied into a new file beside it, which then replaces it. On an error (a full disk)
    the copy is removed and `path` is left as it was; the error (OSError or av.FFmpegError) is raised.
    """
    path = Path(path)
    temporary = path.with_name(f".{path.name}.retag")
    try:
        with av.open(str(path)) as source, av.open(str(temporary), mode="w", format="mp4",
                                                   options=_PLAIN_OPTIONS) as target:
            target.metadata.update(metadata)
            streams = {stream.index: target.add_stream_from_template(stream)
                       for stream in source.streams if stream.type in ("video", "audio")}
            for packet in source.demux(*(source.streams[index] for index in streams)):
                if packet.dts is None:
                    continue
                packet.stream = streams[packet.stream.index]
                target.mux(packet)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _create(path: Path, options: dict[str, str]) -> av.container.OutputContainer:
    try:
        return av.open(str(path), mode="w", format="mp4", options=options)
    except (OSError, av.FFmpegError) as exc:
        raise InputError(f"cannot create {path}: {exc}; check that its folder exists and is writable") from None
