"""Sound for the studio's player: a video's audio track played through PortAudio (sounddevice) when the machine
has an output device. Where it has none (a server, a CI runner) `AudioOutput.unavailable` says why and the
player plays silently."""

from __future__ import annotations

import logging
from pathlib import Path

import av
import numpy as np

__all__ = ["AudioOutput", "decode_audio"]

log = logging.getLogger(__name__)


def decode_audio(path: Path) -> tuple[np.ndarray, int] | None:
    """The first audio track of `path` as (samples, channels) float32 and its rate; None without one."""
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="stereo", rate=stream.rate)
        blocks = [out.to_ndarray().reshape(-1, 2) for frame in container.decode(stream)
                  for out in resampler.resample(frame)]
        blocks += [out.to_ndarray().reshape(-1, 2) for out in resampler.resample(None)]
    return (np.concatenate(blocks) if blocks else np.zeros((0, 2), np.float32)), stream.rate


class AudioOutput:
    """Plays one file's audio from a given second; every method is a no-op when there is no output device."""

    def __init__(self) -> None:
        self.unavailable: str | None = None
        self._sd = None
        self._audio: tuple[np.ndarray, int] | None = None
        try:
            import sounddevice

            sounddevice.query_devices(kind="output")
            self._sd = sounddevice
        except (ImportError, OSError):
            self.unavailable = "PortAudio is not installed"
        except Exception as exc:  # noqa: BLE001 - sounddevice raises PortAudioError or ValueError for "none"
            log.debug("no audio output: %s", exc)
            self.unavailable = "this machine has no audio output"

    def load(self, path: Path) -> None:
        self.stop()
        self._audio = decode_audio(path) if self._sd is not None else None

    def play(self, from_s: float) -> None:
        if self._sd is None or self._audio is None:
            return
        samples, rate = self._audio
        try:
            self._sd.play(samples[round(from_s * rate):], rate)
        except self._sd.PortAudioError as exc:
            self.unavailable = f"the audio output failed ({exc})"
            self._sd = None

    def stop(self) -> None:
        if self._sd is not None:
            self._sd.stop()
