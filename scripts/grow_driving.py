"""Grow driving material without downloads (issue 20's honest evaluation): each clip mirrored, smaller and off-centre,
re-encoded, as a longer and as a wider face (the same motion, another face shape), a held-neutral stretch, and with a
painted moustache or a moustache and beard (evaluate/facial_hair.py; the clean clip's mouth reading is their truth:
`livepresenter eval --driving OUT/<clip>_moustache.mp4 --mouth-truth <clip>.mp4`).

    python scripts/grow_driving.py --clips ../shared/media/driving --out /tmp/driving-grown [--only lbax4n lbbc2a]

Writes OUT/<clip>_<variant>.mp4 (x264 CRF 12, no audio); nothing is committed. The split used in BENCHMARKS.md: tune
on tests/data/driving (grid_bbaf2n, grid_brbk7n, pexels) and their variants, report only on grid_lbax4n, grid_lbbc2a,
grid_pwij3p and theirs.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from livepresenter.capture import FaceTracker
from livepresenter.evaluate.derived import FACE_SHAPES, recaptured, stretched, tracked_landmarks, write_clip
from livepresenter.evaluate.facial_hair import STYLES, with_facial_hair_clip
from livepresenter.face.geometry import lip_opening
from livepresenter.media import VideoReader

Variant = Callable[[np.ndarray, tuple[float, float]], np.ndarray]
"""(frame, face centre) -> derived frame."""

VARIANTS: dict[str, Variant] = {
    "mirrored": lambda image, centre: np.ascontiguousarray(image[:, ::-1]),
    # 20 % smaller (a presenter further from the camera) and moved towards a corner by a tenth of the frame.
    "small_offcentre": lambda image, centre: stretched(image, centre, (0.8, 0.8),
                                                       (0.1 * image.shape[1], 0.08 * image.shape[0])),
    "reencoded": lambda image, centre: image,
    **{shape: (lambda image, centre, scale=scale: stretched(image, centre, scale))
       for shape, scale in FACE_SHAPES.items()},
}
NEUTRAL_S = 3.0
"""Length of the held-neutral clip."""


def held_neutral(clip: Path, window_s: float = 2.0) -> Iterator[np.ndarray]:
    """The frame of the clip's first `window_s` with the narrowest lip opening, re-captured with camera noise for
    NEUTRAL_S seconds."""
    reader = VideoReader(clip)
    tracker = FaceTracker()
    still, narrowest = None, float("inf")
    for frame in reader:
        if frame.time_s > window_s:
            break
        tracked = tracker.track(frame.image, frame.time_s)
        if tracked.face is not None and lip_opening(tracked.face.landmarks) < narrowest:
            still, narrowest = frame.image, lip_opening(tracked.face.landmarks)
    if still is None:
        raise SystemExit(f"no face in the first {window_s} s of {clip}")
    rng = np.random.default_rng(0)
    return (recaptured(still, rng) for _ in range(round(NEUTRAL_S * float(reader.fps))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=Path, required=True, help="folder of driving clips (*.mp4)")
    parser.add_argument("--out", type=Path, required=True, help="folder for the variants (created)")
    parser.add_argument("--only", nargs="*", default=None, help="clips whose name contains one of these")
    parser.add_argument("--variants", nargs="*", default=[*VARIANTS, "neutral", *STYLES],
                        help="which variants to write")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for clip in sorted(args.clips.glob("*.mp4")):
        if args.only and not any(word in clip.stem for word in args.only):
            continue
        reader = VideoReader(clip)
        first = next(iter(reader)).image
        face = FaceTracker().detect(first)
        if face is None:
            raise SystemExit(f"no face in frame 0 of {clip}")
        centre = (float(face.landmarks[:, 0].mean()), float(face.landmarks[:, 1].mean()))
        tracked = tracked_landmarks(clip) if set(args.variants) & set(STYLES) else []
        for name in args.variants:
            out = args.out / f"{clip.stem}_{name}.mp4"
            if name == "neutral":
                write_clip(held_neutral(clip), out, reader.fps)
            elif name in STYLES:
                images = (frame.image for frame in reader)
                write_clip(with_facial_hair_clip(images, tracked, name), out, reader.fps)
            else:
                variant = VARIANTS[name]
                write_clip((variant(frame.image, centre) for frame in reader), out, reader.fps)
            print(out, flush=True)


if __name__ == "__main__":
    main()
