"""The per-frame FOMM computation in eager PyTorch, on any device.

The animator talks to the networks only through `keypoints`, `encode` and `generate`, so the
OpenVINO runtime (`runtime.OpenVinoNetworks`) can stand in for the per-frame calls.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

from livepresenter.fomm.generator import OcclusionAwareGenerator
from livepresenter.fomm.keypoint_detector import KeypointDict, KPDetector


@contextmanager
def cudnn_tf32(allowed: bool) -> Iterator[None]:
    """Let cuDNN run float32 convolutions in TF32 (10-bit mantissa) or not, for one call.

    torch keeps the flag per process: a call on another thread at the same moment (a presenter being prepared
    while the stream runs) may run with this call's setting, which changes rounding only.
    """
    previous = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = allowed
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32 = previous


class TorchNetworks:
    """Keypoint detector and generator on `device`, optionally in channels_last memory format.

    On CUDA the keypoint detector always runs in exact float32 (cuDNN's default TF32 moves the keypoints
    enough to change the prediction visibly); `motion_tf32` lets the dense motion network use TF32, which costs
    little accuracy and saves much of the frame time (BENCHMARKS.md).
    """

    def __init__(self, kp_detector: KPDetector, generator: OcclusionAwareGenerator, device: torch.device,
                 channels_last: bool = False, motion_tf32: bool = False) -> None:
        memory_format = torch.channels_last if channels_last else torch.preserve_format
        self.kp_detector = kp_detector.to(device, memory_format=memory_format)
        self.generator = generator.to(device, memory_format=memory_format)
        self.motion_tf32 = motion_tf32

    @torch.inference_mode()
    def keypoints(self, image: torch.Tensor) -> KeypointDict:
        with cudnn_tf32(False):
            return self.kp_detector(image)

    @torch.inference_mode()
    def encode(self, source: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """What depends only on the source: encoder features and the motion-resolution copy."""
        dense = self.generator.dense_motion_network
        with cudnn_tf32(False):
            return self.generator.encode_source(source), dense.downsample(source) if dense is not None else None

    @torch.inference_mode()
    def generate(self, features: torch.Tensor, source_small: torch.Tensor | None, kp_driving: KeypointDict,
                 kp_source: KeypointDict) -> torch.Tensor:
        """Prediction (B, C, S, S) in float32 from the cached source and normalized keypoints."""
        dense = self.generator.dense_motion_network
        with cudnn_tf32(self.motion_tf32):
            motion = None if dense is None else dense(source_small, kp_driving, kp_source, source_small=source_small)
        with cudnn_tf32(False):
            return self.generator.decode(features, motion)["prediction"]
