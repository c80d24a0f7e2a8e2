"""Sound for recordings: a microphone (PortAudio through sounddevice), or an audio/video file played as if live.

Every block is stamped with the time.monotonic() instant its first sample was captured — the clock video frames
are stamped with — so a recording is muxed by time, not by counting samples. A source is a plain blocking reader
(`read(timeout)`, idempotent `close()`); the orchestrator owns the thread that calls it.

Why microphone stamps come from arrival times and not from PortAudio's `inputBufferAdcTime`: through the ALSA
PulseAudio plugin (what most Linux desktops use) the ADC time was off by 80 to 570 ms, a different amount on
every run, while the arrival times matched a tone played at a known instant within a few milliseconds. Arrival
times jitter (the plugin hands over two periods at once), so `SampleClock` keeps the earliest consistent one.
"""

from __future__ import annotations

import logging
import queue
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Protocol

import av
import numpy as np

from livepresenter.errors import DeviceError, InputError, LivepresenterError
from livepresenter.media.mp4_writer import AudioFormat

__all__ = ["AudioBlock", "AudioFilePlayer", "AudioSource", "Microphone", "ReopeningSource", "SampleClock",
           "check_audio_source", "open_audio_source"]

log = logging.getLogger(__name__)

_MEDIA_SUFFIXES = {".wav", ".flac", ".mp3", ".ogg", ".oga", ".opus", ".m4a", ".aac", ".mp4", ".m4v", ".mov", ".mkv",
                   ".webm", ".avi"}
MIC_BLOCK_FRAMES = 1024  # about 21 ms at 48 kHz; PortAudio needs an explicit block size to run in real time
MIC_QUEUE_S = 5.0
FILE_BLOCK_S = 0.02
# A source with no block for this long has gone quiet (a PulseAudio stream's first blocks can take 1.5 s to come);
# it is then reopened every REOPEN_EVERY_S seconds.
QUIET_S = 3.0
REOPEN_EVERY_S = 2.0


@dataclass(frozen=True)
class AudioBlock:
    """(samples, channels) float32 in -1..1; `timestamp`: time.monotonic() when the first sample was captured."""

    samples: np.ndarray
    timestamp: float


class AudioSource(Protocol):
    audio_format: AudioFormat
    description: str

    def read(self, timeout: float) -> AudioBlock | None:
        """The next block, or None when none came within `timeout` seconds."""

    def close(self) -> None: ...


def _is_file_spec(spec: str) -> bool:
    """A file rather than a microphone name: an existing file, a path, or a media file name."""
    path = Path(spec)
    return path.is_file() or "/" in spec or "\\" in spec or path.suffix.lower() in _MEDIA_SUFFIXES


def check_audio_source(spec: str | None) -> None:
    """Fail early (InputError) for an audio file that is missing or has no sound; microphones are looked up when
    recording starts, since they come and go."""
    if spec is None or not _is_file_spec(spec):
        return
    if not Path(spec).is_file():
        raise InputError(f"audio file {spec} does not exist: give an existing WAV/audio/video file, "
                         "or a microphone's index or name (python -m sounddevice lists them)")
    AudioFilePlayer(Path(spec), time.monotonic()).close()


def open_audio_source(spec: str | None, clock_start: float) -> AudioSource:
    """A microphone (None: the default one; an index or part of a name), reopened should it go quiet, or a file
    played from `clock_start`.

    Raises DeviceError when PortAudio or the microphone is missing, InputError for an unusable file.
    """
    if spec is not None and _is_file_spec(spec):
        return AudioFilePlayer(Path(spec), clock_start)
    return ReopeningSource(Microphone(spec), lambda: Microphone(spec))


class SampleClock:
    """Capture times for a stream of sample blocks, from the instants they arrive.

    A block arrives after its last sample was captured — often later (scheduling, a driver handing over two
    periods at once), never earlier. So `arrival - samples_so_far / rate` bounds the stream's start time from
    above, and the smallest bound of the last `window_s` is the best estimate: jitter only ever adds delay. The
    window lets the estimate follow a sound card whose clock drifts against time.monotonic().
    """

    def __init__(self, rate_hz: int, window_s: float = 2.0) -> None:
        self.rate_hz = rate_hz
        self.window_s = window_s
        self._samples = 0
        self._bounds: deque[tuple[float, float]] = deque()  # (arrival, bound), bounds increasing: front is the min

    def restart(self) -> None:
        """Samples were lost (input overflow): the count no longer matches the time."""
        self._samples = 0
        self._bounds.clear()

    def stamp(self, arrival: float, frames: int) -> float:
        """Capture time of the first sample of a block of `frames` samples that arrived at `arrival`."""
        first = self._samples
        self._samples += frames
        bound = arrival - self._samples / self.rate_hz
        while self._bounds and self._bounds[-1][1] >= bound:
            self._bounds.pop()
        self._bounds.append((arrival, bound))
        while self._bounds[0][0] < arrival - self.window_s:
            self._bounds.popleft()
        return self._bounds[0][1] + first / self.rate_hz


def _sounddevice():
    """sounddevice with a fresh device list, or DeviceError when PortAudio is missing.

    PortAudio lists devices once, when it starts: starting it again finds a microphone plugged in (or a sound
    server started) after livepresenter was. Only the recorder uses PortAudio, and never with a stream open here.
    """
    try:
        import sounddevice
    except (ImportError, OSError):
        raise DeviceError("PortAudio is not installed, so there is no microphone: install it "
                          "(Debian/Ubuntu: sudo apt install libportaudio2)") from None
    try:
        if sounddevice._initialized:
            sounddevice._terminate()
        sounddevice._initialize()
    except sounddevice.PortAudioError as exc:
        raise DeviceError(f"PortAudio cannot start ({exc}): check the sound system") from None
    return sounddevice


class Microphone:
    """A PortAudio input device recorded in mono (a voice), at the device's own rate.

    device: None for the system's default microphone, an index, or part of a device name.
    Raises DeviceError when PortAudio, or such a microphone, is missing.
    """

    def __init__(self, device: str | None = None) -> None:
        sd = _sounddevice()
        wanted = int(device) if device is not None and device.isdigit() else device
        try:
            info = sd.query_devices(wanted, "input")
        except (ValueError, sd.PortAudioError):
            which = "no microphone was found" if device is None else f"there is no microphone {device!r}"
            raise DeviceError(f"{which}: plug one in, or choose one with --audio-source "
                              "(python -m sounddevice lists them)") from None
        rate = int(info["default_samplerate"])
        self.audio_format = AudioFormat(rate, 1)
        self.description = f"microphone {info['name']}"
        self.dropped = 0
        self._portaudio_error = sd.PortAudioError
        self._clock = SampleClock(rate)
        self._blocks: queue.Queue[AudioBlock] = queue.Queue(maxsize=max(1, round(MIC_QUEUE_S * rate / MIC_BLOCK_FRAMES)))
        self._stream = None
        try:
            self._stream = sd.InputStream(device=info["index"], channels=1, samplerate=rate, dtype="float32",
                                          blocksize=MIC_BLOCK_FRAMES, latency="low", callback=self._on_block)
            self._stream.start()
        except sd.PortAudioError as exc:
            if self._stream is not None:
                self._stream.close()
            raise DeviceError(f"microphone {info['name']} cannot be opened ({exc}): close other apps using it, "
                              "or choose another with --audio-source") from None

    def _on_block(self, indata: np.ndarray, frames: int, _time, status) -> None:
        """PortAudio's thread: stamp the block and hand it over; never block here."""
        arrival = time.monotonic()
        if status.input_overflow:
            self._clock.restart()
        try:
            self._blocks.put_nowait(AudioBlock(indata.copy(), self._clock.stamp(arrival, frames)))
        except queue.Full:
            self.dropped += 1

    def read(self, timeout: float) -> AudioBlock | None:
        try:
            return self._blocks.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        if self._stream is not None:
            stream, self._stream = self._stream, None
            try:
                stream.stop()
                stream.close()
            except self._portaudio_error as exc:  # e.g. the microphone was unplugged
                log.debug("%s: %s", self.description, exc)
            if self.dropped:
                log.warning("%s: %d sound blocks dropped (the recorder fell behind)", self.description, self.dropped)


class ReopeningSource:
    """A source that is reopened when it goes quiet, so that sound comes back when the microphone does.

    A microphone unplugged mid-recording (or its sound server gone) stops delivering blocks without an error. After
    `QUIET_S` seconds without one this is said once, and the source is reopened every `REOPEN_EVERY_S` seconds
    until it delivers again; the recording has silence in between, and blocks carry capture times, so what follows
    lands where it belongs. A reopened source must deliver the format the recording was started with.
    """

    def __init__(self, source: AudioSource, reopen: Callable[[], AudioSource]) -> None:
        self.audio_format = source.audio_format
        self.description = source.description
        self._source: AudioSource | None = source
        self._reopen = reopen
        self._last_block = self._last_try = time.monotonic()
        self._quiet = False

    def read(self, timeout: float) -> AudioBlock | None:
        if self._source is None:
            time.sleep(timeout)
            block = None
        else:
            block = self._source.read(timeout)
        now = time.monotonic()
        if block is not None:
            if self._quiet:
                log.warning("%s: sound is back in the recording", self.description)
                self._quiet = False
            self._last_block = now
        elif now - self._last_block >= QUIET_S:
            if not self._quiet:
                log.warning("%s stopped sending sound (unplugged?): the recording goes on with silence until "
                            "it is back", self.description)
                self._quiet = True
            if now - self._last_try >= REOPEN_EVERY_S:
                self._try_reopen(now)
        return block

    def _try_reopen(self, now: float) -> None:
        self._last_try = now
        self.close()  # PortAudio restarts to find devices, which it must not do with a stream open
        try:
            source = self._reopen()
        except LivepresenterError as exc:
            log.debug("%s is not back yet: %s", self.description, exc)
            return
        if source.audio_format != self.audio_format:
            log.debug("%s came back as %s, not %s: not used", source.description, source.audio_format,
                      self.audio_format)
            source.close()
            return
        self._source = source
        self._last_block = now  # give the new stream QUIET_S to start

    def close(self) -> None:
        if self._source is not None:
            source, self._source = self._source, None
            source.close()


class AudioFilePlayer:
    """The sound of an audio or video file, played in real time and looped, as if a microphone heard it.

    The file's timeline is anchored at `clock_start` (time.monotonic()): the sample `t` seconds into the file is
    stamped `clock_start + t` (plus whole loops), as a video file source paces its frames when both start at the
    same instant; so `--source clip.mp4 --audio-source clip.mp4` stays in sync, even when recording starts mid-way.
    A file with video loops when its video does (frame count / frame rate), else at the end of its sound.
    """

    def __init__(self, path: Path, clock_start: float) -> None:
        self.path = path
        try:
            self._container = av.open(str(path))
        except (OSError, av.FFmpegError) as exc:
            raise InputError(f"audio file {path} cannot be read ({exc}): give a WAV/audio/video file") from None
        try:
            if not self._container.streams.audio:
                raise InputError(f"{path} has no sound: give a file with an audio track as --audio-source")
            self._stream = self._container.streams.audio[0]
            codec = self._stream.codec_context
            self.audio_format = AudioFormat(codec.sample_rate, min(2, codec.channels))
            self._origin_s, period_s = _timeline(self._container)
        except BaseException:
            self._container.close()
            raise
        self.description = f"audio file {path}"
        self._rate = codec.sample_rate
        self._period = max(1, round(period_s * self._rate))
        self._clock_start = clock_start
        self._next = max(0, round((time.monotonic() - clock_start) * self._rate))  # samples since clock_start
        self._block = max(1, round(FILE_BLOCK_S * self._rate))
        self._content = self._loop(self._next % self._period)
        self._buffer = np.zeros((0, self.audio_format.channels), np.float32)

    def read(self, timeout: float) -> AudioBlock | None:
        """The next block once its last sample is 'captured' (due); None if that is more than `timeout` away."""
        end = self._next + self._block
        wait = self._clock_start + end / self._rate - time.monotonic()
        if wait > timeout:
            time.sleep(timeout)
            return None
        if wait > 0:
            time.sleep(wait)
        block = AudioBlock(self._take(self._block), self._clock_start + self._next / self._rate)
        self._next = end
        return block

    def close(self) -> None:
        self._content.close()
        self._container.close()

    def _take(self, count: int) -> np.ndarray:
        parts = []
        while count:
            if not len(self._buffer):
                self._buffer = next(self._content)
            part, self._buffer = self._buffer[:count], self._buffer[count:]
            parts.append(part)
            count -= len(part)
        return np.concatenate(parts)

    def _loop(self, position: int) -> Iterator[np.ndarray]:
        """The file's samples from `position`, then again from 0, forever; each pass exactly one period long."""
        while True:
            yield from self._one_pass(position)
            position = 0

    def _one_pass(self, position: int) -> Iterator[np.ndarray]:
        """Samples `position`..period, placed by their timestamps: gaps become silence, overlaps are cut."""
        channels = self.audio_format.channels
        resampler = av.AudioResampler(format="flt", layout=self.audio_format.layout, rate=self._rate)
        time_base = self._stream.time_base
        self._container.seek(int((position / self._rate + self._origin_s) / time_base), stream=self._stream)
        cursor = position
        try:
            for frame in self._container.decode(self._stream):
                first = round((float(frame.pts * time_base) - self._origin_s) * self._rate) if frame.pts is not None \
                    else cursor
                frame.pts = None  # placement is done here; the resampler must not reorder by the file's clock
                converted = resampler.resample(frame)
                if not converted:
                    continue
                data = np.concatenate([out.to_ndarray().reshape(-1, channels) for out in converted])
                if first > cursor:
                    yield np.zeros((min(first, self._period) - cursor, channels), np.float32)
                    cursor = min(first, self._period)
                data = data[max(cursor - first, 0):max(self._period - first, 0)]
                if len(data):
                    yield data
                    cursor += len(data)
                if cursor >= self._period:
                    return
        except av.FFmpegError as exc:
            raise InputError(f"audio file {self.path} cannot be decoded ({exc}): give another --audio-source") from None
        if cursor < self._period:
            yield np.zeros((self._period - cursor, channels), np.float32)


def _timeline(container: av.container.InputContainer) -> tuple[float, float]:
    """(origin, period) in seconds: where the file's time 0 is, and how long one pass lasts.

    With video, both follow the video, which a video file source plays from its first frame for frames/rate
    seconds; without, the sound's own start and duration.
    """
    audio = container.streams.audio[0]
    if container.streams.video:
        video = container.streams.video[0]
        if video.frames and video.average_rate:
            origin = float(video.start_time * video.time_base) if video.start_time is not None else 0.0
            return origin, float(Fraction(video.frames) / video.average_rate)
    origin = float(audio.start_time * audio.time_base) if audio.start_time is not None else 0.0
    if audio.duration:
        return origin, float(audio.duration * audio.time_base)
    if container.duration:
        return origin, container.duration / av.time_base
    raise InputError(f"{container.name} does not say how long it is: give a WAV or an MP4/M4A file")
