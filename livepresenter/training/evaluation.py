"""Did fine-tuning help? Self-reconstruction on the held-back test videos, before and after.

The FOMM paper's protocol on the cached crops: each test video's first frame is the source, and every scored frame
drives it (keypoints as they are, which equals relative motion with the source as reference); the reconstruction is
compared with the real frame by `livepresenter.evaluate`'s measures — L1 on the model's pixels, and AKD / AED from
fresh dlib detections with both images at the 256 px evaluation size. The real frames are observed once and serve
every model compared.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from livepresenter.evaluate.metrics import Observation, l1_distance, reconstruction_scores
from livepresenter.evaluate.observe import FaceObserver, to_eval_size
from livepresenter.fomm import FommModel
from livepresenter.training.pairs import load_rgb

__all__ = ["SelfReconstruction"]

_CHUNK = 16


class SelfReconstruction:
    """The test videos' frames (up to `max_frames` per video, evenly spread, the first always) and what the evaluator
    sees in them; `scores(model)` measures one model."""

    def __init__(self, folders: Sequence[Path], max_frames: int, observer: FaceObserver | None = None) -> None:
        self.observer = observer or FaceObserver()
        self.clips: list[np.ndarray] = []
        self.reals: list[Observation] = []
        for folder in folders:
            files = sorted(folder.glob("*.png"))
            picked = np.unique(np.linspace(0, len(files) - 1, min(max_frames, len(files))).round().astype(int))
            frames = np.stack([(load_rgb(files[i]) * 255).round().astype(np.uint8) for i in picked])
            self.clips.append(frames)
            self.reals += [self.observer.observe(to_eval_size(frame)) for frame in frames]

    @property
    def frames(self) -> int:
        return sum(len(clip) for clip in self.clips)

    @torch.no_grad()
    def scores(self, model: FommModel) -> dict:
        """l1, akd, mouth_akd, aed, frames, frames_without_face, missing_faces (see evaluate.metrics)."""
        device = next(model.generator.parameters()).device
        l1: list[float] = []
        outputs: list[Observation] = []
        for clip in self.clips:
            images = torch.from_numpy(clip).permute(0, 3, 1, 2).float().div(255)
            source = images[:1].to(device)
            kp_source = model.kp_detector(source)
            for start in range(0, len(clip), _CHUNK):
                driving = images[start:start + _CHUNK].to(device)
                count = len(driving)
                kp_driving = model.kp_detector(driving)
                prediction = model.generator(source.expand(count, -1, -1, -1), kp_driving=kp_driving,
                                             kp_source={k: v.expand(count, *v.shape[1:]) for k, v in kp_source.items()}
                                             )["prediction"]
                pixels = (prediction.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
                for output, real in zip(pixels, clip[start:start + count], strict=True):
                    l1.append(l1_distance(output, real))
                    outputs.append(self.observer.observe(to_eval_size(output)))
        return dataclasses.asdict(reconstruction_scores(l1, outputs, self.reals))
