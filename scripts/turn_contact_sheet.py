"""Write a contact sheet of a head turn: driving frames through a clip's turn, and under each, portraits driven by it
with the landmark engine, each labelled with its yaw as the evaluation reads it (`face.pose.relative_yaw` on dlib's
landmarks of the 256-px face view; "no face" where dlib finds none).

Usage: python scripts/turn_contact_sheet.py CLIP OUT.png PORTRAIT... [--frames 0,120,160,...]
Needs Pillow (the `remote` extra) to write the sheet as a small palette PNG. The first frame listed is the driver's
reference (frame 0 of the Pexels clip, frontal, is the default); the portraits' outputs are seen in the eval's fixed
face crop.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from livepresenter.capture import FaceTracker
from livepresenter.engine.landmark import LandmarkEngine
from livepresenter.evaluate.observe import EVAL_SIDE, FaceObserver, to_eval_size
from livepresenter.face.crop import crop_box_from_landmarks, crop_image
from livepresenter.face.pose import relative_yaw
from livepresenter.media import VideoReader
from livepresenter.media.image import load_image_rgb

TILE = 128
LABEL = 18


def _yaw_label(observer: FaceObserver, view: np.ndarray, rest: np.ndarray) -> str:
    face = observer.face(view)
    return "no face" if face is None else f"yaw {relative_yaw(rest, face.landmarks):+.0f}"


def _tile(image: np.ndarray, label: str) -> np.ndarray:
    tile = np.full((TILE + LABEL, TILE, 3), 255, np.uint8)
    tile[:TILE] = cv2.resize(image, (TILE, TILE), interpolation=cv2.INTER_AREA)
    cv2.putText(tile, label, (4, TILE + 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (20, 20, 20), 1, cv2.LINE_AA)
    return tile


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clip", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("portraits", type=Path, nargs="+")
    parser.add_argument("--frames", default="0,120,160,200,210,216,222,231")
    args = parser.parse_args()
    wanted = [int(v) for v in args.frames.split(",")]

    tracker, observer = FaceTracker(), FaceObserver()
    tracked, images = [], {}
    for frame in VideoReader(args.clip):
        tracked.append(tracker.track(frame.image, frame.time_s))
        if frame.index in wanted:
            images[frame.index] = to_eval_size(frame.image)
    driver_rest = observer.face(images[wanted[0]]).landmarks
    rows = [[_tile(images[i], f"driver {_yaw_label(observer, images[i], driver_rest)[4:]}") for i in wanted]]
    for path in args.portraits:
        portrait = load_image_rgb(path)
        face = FaceTracker().detect(portrait)
        engine = LandmarkEngine()
        engine.set_portrait(portrait, face)
        engine.set_reference(tracked[wanted[0]])
        box = crop_box_from_landmarks(face.landmarks)
        rest_view = crop_image(portrait, box, EVAL_SIDE)
        rest = observer.face(rest_view).landmarks
        row = []
        for index, driving in enumerate(tracked):
            output = engine.animate(driving)
            if index in wanted:
                view = crop_image(output, box, EVAL_SIDE)
                row.append(_tile(view, _yaw_label(observer, view, rest)))
        rows.append(row)
    sheet = np.vstack([np.hstack(row) for row in rows])
    Image.fromarray(sheet).quantize(colors=255, method=Image.Quantize.MEDIANCUT).save(args.out, optimize=True)


if __name__ == "__main__":
    main()
