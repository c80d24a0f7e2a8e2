"""Training batches: two frames of one video, the source and the driving frame, as FOMM trains on them.

Each batch is a pure function of (seed, step): a resumed run draws exactly the batches the uninterrupted one would
have, and data-loader workers need no shared random state. Videos are drawn with equal chance whatever their length
(first-order-model's `id_sampling`), so one long recording does not drown the others. Augmentation as in the
official vox config: a horizontal flip and a colour jitter of 0.1 (brightness, contrast, saturation, hue), the same
for both frames of a pair; the two frames come in random order, which is all that its time flip adds.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import torch

__all__ = ["PairBatches", "load_rgb"]

JITTER = 0.1


def load_rgb(path: Path) -> np.ndarray:
    """A cached frame as HxWx3 float32 RGB in [0, 1]."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise OSError(f"cannot read the cached frame {path}")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB).astype(np.float32) / 255


class PairBatches(torch.utils.data.Dataset):
    """`batches[step]` -> (source, driving), each (B, 3, S, S) float32 in [0, 1].

    Args:
        folders: one folder of PNG frames per video (at least two frames each).
        batch: pairs per batch.
        seed: with the step number, decides every draw.
        augment: flip and jitter (off for checks that need the frames as they are).
    """

    def __init__(self, folders: Sequence[Path], batch: int, seed: int, augment: bool = True) -> None:
        self.videos = [sorted(folder.glob("*.png")) for folder in folders]
        self.batch, self.seed, self.augment = batch, seed, augment

    def __getitem__(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        rng = np.random.default_rng([self.seed, step])
        sources, drivings = [], []
        for _ in range(self.batch):
            frames = self.videos[rng.integers(len(self.videos))]
            first, second = rng.choice(len(frames), size=2, replace=False)
            pair = [load_rgb(frames[first]), load_rgb(frames[second])]
            if self.augment:
                pair = _augment(pair, rng)
            sources.append(pair[0])
            drivings.append(pair[1])
        return _to_tensor(sources), _to_tensor(drivings)


def _to_tensor(images: list[np.ndarray]) -> torch.Tensor:
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()


def _augment(pair: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    """The same flip and colour change for both frames."""
    flip = rng.random() < 0.5
    brightness, contrast, saturation = rng.uniform(1 - JITTER, 1 + JITTER, size=3)
    hue_turns = rng.uniform(-JITTER, JITTER)
    out = []
    for image in pair:
        if flip:
            image = image[:, ::-1]
        image = image * brightness
        grey = image @ np.array([0.299, 0.587, 0.114], np.float32)
        image = (image - grey.mean()) * contrast + grey.mean()
        grey = image @ np.array([0.299, 0.587, 0.114], np.float32)
        image = (image - grey[..., None]) * saturation + grey[..., None]
        hsv = cv2.cvtColor(np.ascontiguousarray(np.clip(image, 0, 1), dtype=np.float32), cv2.COLOR_RGB2HSV)
        hsv[..., 0] = (hsv[..., 0] + 360 * hue_turns) % 360
        out.append(np.clip(cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB), 0, 1))
    return out
