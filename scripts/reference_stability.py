"""Issue 20's measurement: does a high-quality re-encode of a driving clip move the portrait as the original does?

Each clip is re-encoded with x264 at CRF 12 (imageio-ffmpeg's binary, a test dependency), both versions are rendered
as `render --layout portrait --no-label` does (FramePath, offline reference policy), and the outputs are compared
frame by frame (mean absolute difference, 0-255), with the distance between the two references' landmarks (pixels).

    python scripts/reference_stability.py --clips tests/data/driving --portraits tests/data/portraits --frames 60
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from livepresenter.capture import FaceTracker
from livepresenter.media.video_reader import VideoReader
from livepresenter.pipeline.frame_path import FramePath
from livepresenter.presenter.preparation import prepare_presenter

CRF = 12
REFERENCE_WINDOW_S = 2.0
"""render's reference window."""


def reencode(clip: Path, out_dir: Path) -> Path:
    """`clip` re-encoded with x264 at CRF, no audio."""
    import imageio_ffmpeg

    out = out_dir / f"{clip.stem}_crf{CRF}.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-y", "-i", str(clip), "-c:v", "libx264",
                    "-crf", str(CRF), "-pix_fmt", "yuv420p", "-an", str(out)], check=True)
    return out


def render_frames(portrait: Path, clip: Path, max_frames: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """(reference landmarks, the first `max_frames` portrait-layout outputs) of the offline frame path."""
    prepared = prepare_presenter(str(portrait), FaceTracker(), engine="landmark", layout="portrait", label=False)
    reader = VideoReader(clip)
    path = FramePath(prepared, FaceTracker(), reference_window=round(REFERENCE_WINDOW_S * reader.fps),
                     when_lost="hold")
    reference = path.pick_reference(reader.frames())
    assert reference is not None and reference.face is not None
    outputs = []
    for index, frame in enumerate(VideoReader(clip)):
        if index >= max_frames:
            break
        outputs.append(path.step(frame, frame.time_s).astype(np.int16))
    return reference.face.landmarks, outputs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=Path, required=True, help="folder of driving clips (*.mp4)")
    parser.add_argument("--portraits", type=Path, required=True, help="folder of portraits (*.jpg)")
    parser.add_argument("--frames", type=int, default=60, help="output frames compared per clip")
    args = parser.parse_args()
    diffs = []
    with tempfile.TemporaryDirectory() as tmp:
        for clip in sorted(args.clips.glob("*.mp4")):
            again = reencode(clip, Path(tmp))
            for portrait in sorted(args.portraits.glob("*.jpg")):
                ref_a, out_a = render_frames(portrait, clip, args.frames)
                ref_b, out_b = render_frames(portrait, again, args.frames)
                per_frame = [float(np.abs(a - b).mean()) for a, b in zip(out_a, out_b, strict=True)]
                diffs.append(float(np.mean(per_frame)))
                reference_px = float(np.linalg.norm(ref_a - ref_b, axis=1).mean())
                print(json.dumps({"clip": clip.name, "portrait": portrait.stem,
                                  "reference_landmarks_px": round(reference_px, 3),
                                  "mean_pixel_diff": round(diffs[-1], 3),
                                  "first_frame_pixel_diff": round(per_frame[0], 3),
                                  "max_frame_pixel_diff": round(max(per_frame), 3)}), flush=True)
    print(json.dumps({"mean_pixel_diff": round(float(np.mean(diffs)), 3), "max_pixel_diff": round(max(diffs), 3)}))


if __name__ == "__main__":
    main()
