"""Offline render: a driving video re-enacted by a presenter, written as H.264/AAC MP4.

The per-frame work is the live presenter's own (`pipeline.FramePath`) with the offline reference policy: the driving
video is streamed twice (a short first pass over the reference window, then every frame from the start). This module
keeps the driving video's audio, shows progress, and writes to a temporary file that replaces the output only when
complete.
A driving video that is truncated or damaged is rendered as far as it can be read, and the result says so.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from livepresenter.capture import FaceTracker
from livepresenter.compose.stage import Layout
from livepresenter.engine.registry import engine_files
from livepresenter.errors import InputError, OutputError
from livepresenter.media import Mp4Writer, VideoReader
from livepresenter.outputs import check_output, create_output, oserror_reason
from livepresenter.pipeline.frame_path import FramePath
from livepresenter.presenter.loading import portrait_file
from livepresenter.presenter.preparation import prepare_presenter
from livepresenter.progress import with_progress

__all__ = ["RenderResult", "RenderSettings", "render_video"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RenderSettings:
    """Options of `livepresenter render`; `size` is the stage size, unused by the portrait layout."""

    engine: str = "auto"
    checkpoint: str | None = None
    fomm_config: str | None = None
    server: str | None = None      # the remote engine's FOMM server, HOST:PORT
    token_file: str | None = None
    layout: Layout = "stage"
    size: tuple[int, int] = (1280, 720)
    label: bool = True
    reference_window_s: float = 2.0


@dataclass(frozen=True)
class RenderResult:
    """cut_short: one line saying that the driving video ended before the frames its container claims (truncated
    or damaged), None when it was read to its end."""

    output: Path
    frames: int
    frames_without_face: int
    fps: Fraction
    size: tuple[int, int]
    has_audio: bool
    engine: str
    elapsed_s: float
    cut_short: str | None = None


def render_video(
    presenter_spec: str, driving: Path, output: Path, settings: RenderSettings, *, progress: bool = True,
    on_frame: Callable[[int, int | None], None] | None = None, overwrite: bool = False,
) -> RenderResult:
    """Render `driving` re-enacted by the presenter into `output` (MP4); see the module docstring.

    on_frame(frames_done, frames_total) is called after each written frame (total None when the container does
    not say), for a GUI's progress; an exception it raises (a cancel) ends the render and leaves no output file.
    An existing `output` is replaced only with `overwrite`, and never when it is one of the render's inputs
    (OutputError, before any work).
    """
    started = time.perf_counter()
    reader = VideoReader(driving)
    inputs = [("the presenter's portrait", portrait_file(presenter_spec)), ("the driving video", driving),
              *engine_files(settings.checkpoint, settings.fomm_config)]
    check_output(output, inputs, overwrite=overwrite)
    with _replace_when_done(output) as partial:
        prepared = prepare_presenter(presenter_spec, FaceTracker(), engine=settings.engine,
                                     checkpoint=settings.checkpoint, fomm_config=settings.fomm_config,
                                     server=settings.server, token_file=settings.token_file, layout=settings.layout,
                                     size=settings.size, label=settings.label, live=False)
        path = FramePath(prepared, FaceTracker(), reference_window=round(settings.reference_window_s * reader.fps),
                         when_lost="hold")
        path.pick_reference(reader.frames(stop_at_damage=True))
        compositor = prepared.compositor
        with _writing(output):
            writer = Mp4Writer(partial, compositor.size, reader.fps, audio_from=driving, audio_start_s=reader.start_s)
            with writer:
                for frame in with_progress(reader.frames(stop_at_damage=True), reader.frame_count, "render",
                                           enabled=progress):
                    writer.write(path.step(frame, frame.time_s), frame.time_s)
                    if on_frame is not None:
                        on_frame(writer.frames_written, reader.frame_count)
        if writer.frames_written == 0:
            raise InputError(f"{driving} has no video frames: give a video with at least one frame")
    return RenderResult(
        output=output,
        frames=writer.frames_written,
        frames_without_face=path.frames_without_face,
        fps=reader.fps,
        size=compositor.size,
        has_audio=writer.has_audio,
        engine=prepared.engine.name,
        elapsed_s=time.perf_counter() - started,
        cut_short=_cut_short(reader, writer.frames_written, output),
    )


def _cut_short(reader: VideoReader, frames_read: int, output: Path) -> str | None:
    """One line when the driving video ended before its end (a decoding error, or fewer frames than its container
    claims: a truncated file decodes cleanly up to where it was cut)."""
    claimed = reader.frame_count
    ended_early = frames_read < claimed if claimed is not None else reader.damage is not None
    if not ended_early:
        return None
    read = f"{frames_read} of the {claimed} frames its container claims" if claimed else f"{frames_read} frames"
    why = f"a frame cannot be decoded: {reader.damage}" if reader.damage else "the file is cut short"
    return (f"{reader.path} ended early: only {read} could be read ({why}); {output} holds the {frames_read} frames "
            "rendered from them")


@contextlib.contextmanager
def _replace_when_done(output: Path) -> Iterator[Path]:
    """A temporary path beside `output`, created at once, that becomes `output` only if the block completes.

    Creating it first says a folder that cannot be written before the presenter is prepared. On any exception,
    Ctrl-C included, the temporary file is deleted and `output` is left as it was, so there is never a truncated
    video under the requested name; a clean-up that fails never hides the error that caused it.
    """
    partial = output.with_name(f".{output.name}.{secrets.token_hex(4)}.partial")
    create_output(partial, shown_as=output)
    try:
        yield partial
        with _writing(output):
            os.replace(partial, output)
    except BaseException:
        _remove_partial(partial)
        raise


@contextlib.contextmanager
def _writing(output: Path) -> Iterator[None]:
    """A write to `output` that fails (disk full, file size limit) is one line naming it and the cause."""
    try:
        yield
    except OSError as exc:
        raise OutputError(f"cannot write {output}: {oserror_reason(exc, output)}") from None


def _remove_partial(partial: Path) -> None:
    """Delete the unfinished file; when that fails too, say so in a line of its own and let the first error stand."""
    try:
        partial.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("could not remove the unfinished %s: %s", partial, oserror_reason(exc, partial))
