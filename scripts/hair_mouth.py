"""How well the tracker reads a mouth under painted facial hair (issue 20): the lip opening handed to the engines on
the hairy driver against the same on the clean clip it was made from (the truth), and how unsteady it is.

    python scripts/hair_mouth.py --clean ../shared/media/driving --grown /tmp/driving-grown [--only bbaf2n brbk7n]

For each clean clip and each style grown from it (scripts/grow_driving.py writes OUT/<clip>_<style>.mp4), prints, for
the landmarker's own points and for the tracker's reading (capture/mouth_reading.py): the correlation of the lip
opening with the clean clip's, the RMS error of the inner-lip points (outer-eye-corner distances) and the jitter,
the RMS second difference of the lip opening over the clean clip's.
"""

from __future__ import annotations

import argparse
from itertools import product
from pathlib import Path

import numpy as np

from livepresenter.capture import TrackerSettings
from livepresenter.evaluate.derived import tracked_landmarks
from livepresenter.evaluate.facial_hair import STYLES
from livepresenter.evaluate.metrics import jitter, pearson
from livepresenter.face.geometry import INNER_LIPS, eye_distance, lip_opening


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clean", type=Path, required=True, help="folder of the clean clips")
    parser.add_argument("--grown", type=Path, required=True, help="folder of the grown clips")
    parser.add_argument("--only", nargs="*", default=None, help="clips whose name contains one of these")
    args = parser.parse_args()
    print("| clip | style | reading | lip-opening corr | inner-lip RMS error | jitter vs clean |")
    print("|---|---|---|---|---|---|")
    for clip in sorted(args.clean.glob("*.mp4")):
        if args.only and not any(word in clip.stem for word in args.only):
            continue
        clean = tracked_landmarks(clip)
        truth = np.array([lip_opening(points) for points in clean])
        for style, (reading_name, read_mouth) in product(STYLES, (("landmarker", False), ("tracker", True))):
            hairy = tracked_landmarks(args.grown / f"{clip.stem}_{style}.mp4", TrackerSettings(read_mouth=read_mouth))
            reading = np.array([lip_opening(points) for points in hairy])
            error = np.sqrt(np.mean([((h[INNER_LIPS] - c[INNER_LIPS]) ** 2).sum(1).mean() / eye_distance(c) ** 2
                                     for h, c in zip(hairy, clean, strict=True)]))
            print(f"| {clip.stem} | {style} | {reading_name} | {pearson(reading, truth):.2f} | {error:.3f} | "
                  f"{jitter(reading) / jitter(truth):.2f} |", flush=True)


if __name__ == "__main__":
    main()
