"""The training data: the face in each video found and cropped by the live tracker, cached as first-order-model's
frame folders (`ROOT/train/VIDEO/0000000.png`, `ROOT/test/VIDEO/...`).

The crops are the live path's own (`FaceTracker.track`, One Euro smoothed, 256 px, resized to the model's side the
way the animator resizes them), so the model learns from what it will be shown. The tracker sees every frame (its
smoothing needs them), but only about `KEEP_FPS` frames per second are written: neighbouring frames are nearly the
same picture, and training draws random pairs anyway. A video that cannot be decoded, or holds fewer than two frames
with a face, is named and skipped. `ROOT/frames.json` records what each folder was made from, so a second run (or
`--resume`) reuses the folders instead of tracking the videos again.

Videos are split by video: about one in ten (at least one) is held back for the test set. A single video is split
in time instead: its last fifth is the test set.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from livepresenter.capture import FaceTracker
from livepresenter.errors import InputError, NoFaceError, OutputError
from livepresenter.media import VideoReader
from livepresenter.outputs import oserror_reason
from livepresenter.progress import with_progress

__all__ = ["KEEP_FPS", "VIDEO_SUFFIXES", "FrameSet", "find_videos", "prepare_frames"]

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".m4v", ".mkv", ".avi", ".webm"})
KEEP_FPS = 10.0
TEST_SHARE = 0.1
TIME_SPLIT_TEST_SHARE = 0.2
MANIFEST = "frames.json"
_LAYOUT_VERSION = 1  # bump when the crops change, so old caches are made again


@dataclass(frozen=True)
class FrameSet:
    """Frame folders ready for training; `skipped` holds one line per video that could not be used."""

    root: Path
    train: tuple[Path, ...]
    test: tuple[Path, ...]
    skipped: tuple[str, ...]


def find_videos(specs: Sequence[Path]) -> list[Path]:
    """The video files named, and those directly inside the folders named (sorted); an InputError when a path does
    not exist or no video is found."""
    videos: list[Path] = []
    for spec in specs:
        if spec.is_dir():
            videos += sorted(p for p in spec.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file())
        elif spec.is_file():
            videos.append(spec)
        else:
            raise InputError(f"--videos: {spec} does not exist: give video files or folders that hold them")
    if not videos:
        names = ", ".join(str(s) for s in specs)
        raise InputError(f"--videos: no video files in {names} ({', '.join(sorted(VIDEO_SUFFIXES))})")
    return list(dict.fromkeys(videos))


def prepare_frames(videos: Sequence[Path], root: Path, image_size: int, *, progress: bool = True,
                   on_frame: Callable[[str, int], None] | None = None) -> FrameSet:
    """Track, crop and cache every video under `root`, reusing the folders made earlier from the same files.

    on_frame(video name, frames read) is called after each frame tracked (a GUI's progress; what it raises stops
    the preparation, leaving the videos done so far cached)."""
    try:
        return _prepare(videos, root, image_size, progress, on_frame)
    except OSError as exc:
        raise OutputError(f"cannot write the training frames under {root}: {oserror_reason(exc, root / 'x')}") \
            from None


def _prepare(videos: Sequence[Path], root: Path, image_size: int, progress: bool,
             on_frame: Callable[[str, int], None] | None) -> FrameSet:
    root.mkdir(parents=True, exist_ok=True)
    known = _load_manifest(root, image_size)
    tracker: FaceTracker | None = None
    usable: dict[str, dict] = {}
    skipped: list[str] = []
    for video, name in _unique_names(videos).items():
        identity = _identity(video)
        if known.get(name) == identity and _frames_of(root, name):
            usable[name] = identity
            continue
        tracker = tracker or FaceTracker()
        try:
            frames = _track_video(video, name, root, tracker, image_size, progress, on_frame)
        except OutputError:
            raise
        except InputError as exc:
            frames, reason = 0, str(exc)
        else:
            reason = "no face found in it" if frames == 0 else "a face in one frame only"
        if frames < 2:
            skipped.append(f"{video}: {reason}")
            log.warning("skipping %s", skipped[-1])
            continue
        usable[name] = identity
        _save_manifest(root, image_size, {**known, **usable})  # an interrupted run keeps what is done
    shutil.rmtree(root / ".staging", ignore_errors=True)
    for split in ("train", "test"):  # the layout holds this run's videos only
        for folder in (root / split).glob("*"):
            if folder.name not in usable:
                shutil.rmtree(folder, ignore_errors=True)
    _save_manifest(root, image_size, usable)
    if not usable:
        more = f" (and {len(skipped) - 1} more)" if len(skipped) > 1 else ""
        raise NoFaceError(f"none of the {len(videos)} videos can be used for training: {skipped[0]}{more}")
    for name, split in _splits(list(usable)).items():
        _arrange(root, name, split)
    train = tuple(root / "train" / n for n in usable if (root / "train" / n).is_dir())
    test = tuple(root / "test" / n for n in usable if (root / "test" / n).is_dir())
    return FrameSet(root, train, test, tuple(skipped))


# -- one video ----------------------------------------------------------------------------------------------------

def _track_video(video: Path, name: str, root: Path, tracker: FaceTracker, size: int, progress: bool,
                 on_frame: Callable[[str, int], None] | None) -> int:
    """Write the face crops of `video` into ROOT/train/NAME (replacing an older cache of it only once the new one is
    complete); the number of frames written."""
    reader = VideoReader(video)
    staging = root / ".staging" / name
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    keep_every = max(1, round(float(reader.fps) / KEEP_FPS))
    tracker.reset()
    read = written = 0
    for frame in with_progress(reader.frames(stop_at_damage=True), reader.frame_count, f"faces {video.name}",
                               enabled=progress, leave=False):
        read += 1
        if on_frame is not None:
            on_frame(video.name, read)
        tracked = tracker.track(frame.image, frame.time_s)
        if not tracked.found or frame.index % keep_every:
            continue
        crop = _resize(tracked.crop, size)
        if not cv2.imwrite(str(staging / f"{frame.index:07d}.png"), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR)):
            raise OutputError(f"cannot write frames into {staging}: check the disk space and permissions")
        written += 1
    if reader.damage is not None:
        log.warning("%s is damaged after frame %d (%s): using the frames before", video, read, reader.damage)
    if written >= 2:
        for split in ("train", "test"):
            shutil.rmtree(root / split / name, ignore_errors=True)
        (root / "train").mkdir(exist_ok=True)
        os.replace(staging, root / "train" / name)
    return written


def _resize(crop: np.ndarray, size: int) -> np.ndarray:
    """The crop at the model's side, resized as the animator resizes the live crops (antialiased bilinear)."""
    if crop.shape[0] == size:
        return crop
    import torch
    import torch.nn.functional as F

    image = torch.from_numpy(crop).permute(2, 0, 1)[None].float()
    image = F.interpolate(image, size=(size, size), mode="bilinear", antialias=True)
    return image[0].permute(1, 2, 0).clamp(0, 255).round().to(torch.uint8).numpy()


# -- where each video's frames go -----------------------------------------------------------------------------------

def _splits(names: list[str]) -> dict[str, str]:
    """"train", "test" or "time" (one video: split in time) for each name; the test videos are those whose name
    hashes lowest, so a video keeps its side when others are added."""
    if len(names) == 1:
        return {names[0]: "time"}
    held = max(1, round(TEST_SHARE * len(names)))
    ranked = sorted(names, key=lambda n: hashlib.sha1(n.encode()).hexdigest())
    return {name: "test" if name in ranked[:held] else "train" for name in names}


def _frames_of(root: Path, name: str) -> list[Path]:
    """The cached frames of one video, wherever its split put them, in time order."""
    return sorted((f for split in ("train", "test") for f in (root / split / name).glob("*.png")),
                  key=lambda f: f.name)


def _arrange(root: Path, name: str, split: str) -> None:
    """Move the frames of `name` where `split` wants them (renames only: nothing is copied or tracked again)."""
    home, held = root / "train" / name, root / "test" / name
    files = _frames_of(root, name)
    home.mkdir(parents=True, exist_ok=True)
    for file in files:
        if file.parent != home:
            os.replace(file, home / file.name)
    shutil.rmtree(held, ignore_errors=True)
    if split == "test":
        held.parent.mkdir(exist_ok=True)
        os.replace(home, held)
    elif split == "time" and len(files) >= 4:
        held.mkdir(parents=True)
        for file in files[len(files) - max(2, round(TIME_SPLIT_TEST_SHARE * len(files))):]:
            os.replace(home / file.name, held / file.name)


# -- what the cache was made from ---------------------------------------------------------------------------------

def _unique_names(videos: Sequence[Path]) -> dict[Path, str]:
    """A folder name per video: its file name without suffix, numbered when two videos share one."""
    names: dict[Path, str] = {}
    for video in videos:
        name, number = video.stem, 2
        while name in names.values():
            name, number = f"{video.stem}-{number}", number + 1
        names[video] = name
    return names


def _identity(video: Path) -> dict:
    """What says that a cached folder was made from this very file."""
    stat = video.stat()
    return {"source": str(video.resolve()), "bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _load_manifest(root: Path, image_size: int) -> dict[str, dict]:
    """The videos cached under `root` at this image size and crop version ({} when none, or made otherwise)."""
    try:
        data = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != _LAYOUT_VERSION or data.get("image_size") != image_size:
        return {}
    videos = data.get("videos")
    return videos if isinstance(videos, dict) else {}


def _save_manifest(root: Path, image_size: int, videos: dict[str, dict]) -> None:
    partial = root / f".{MANIFEST}.partial"
    partial.write_text(json.dumps({"version": _LAYOUT_VERSION, "image_size": image_size, "videos": videos},
                                  indent=1), encoding="utf-8")
    os.replace(partial, root / MANIFEST)
