"""FOMM occlusion-aware generator: warps source features by the dense motion and decodes."""

from __future__ import annotations

import torch
from torch import nn

from livepresenter.fomm.blocks import DownBlock2d, ResBlock2d, SameBlock2d, UpBlock2d, warp
from livepresenter.fomm.dense_motion import DenseMotionNetwork
from livepresenter.fomm.keypoint_detector import KeypointDict


class OcclusionAwareGenerator(nn.Module):
    """Source image + keypoints → animated image.

    Called like the official module: `generator(source, kp_driving=..., kp_source=...)` returns a
    dict with `prediction` (B, C, S, S) in [0, 1], `mask`, `sparse_deformed`, `occlusion_map` and
    `deformed`. The forward pass is split into `encode_source` (depends only on the source, so
    the animator caches it) and `decode`, which `forward` composes.

    Args:
        num_channels: image channels.
        num_kp: keypoints.
        block_expansion, max_features: width of the first block and the channel cap.
        num_down_blocks: encoder/decoder depth.
        num_bottleneck_blocks: residual blocks at the lowest resolution.
        estimate_occlusion_map: predict and apply an occlusion map.
        dense_motion_params: block_expansion, max_features, num_blocks, scale_factor of the
            dense motion network (None: no motion, identity generator as in the official code).
        estimate_jacobian: accepted for config compatibility; unused.
        align_corners: grid_sample convention (see `blocks.warp`).
    """

    def __init__(self, num_channels: int, num_kp: int, block_expansion: int, max_features: int,
                 num_down_blocks: int, num_bottleneck_blocks: int, estimate_occlusion_map: bool = False,
                 dense_motion_params: dict | None = None, estimate_jacobian: bool = False,
                 align_corners: bool = False) -> None:
        super().__init__()
        del estimate_jacobian  # part of the official signature, has no effect
        # Registration order is the official state-dict order: dense motion first.
        if dense_motion_params is not None:
            self.dense_motion_network = DenseMotionNetwork(
                num_kp=num_kp, num_channels=num_channels, estimate_occlusion_map=estimate_occlusion_map,
                align_corners=align_corners, **dense_motion_params)
        else:
            self.dense_motion_network = None
        self.first = SameBlock2d(num_channels, block_expansion, kernel_size=7, padding=3)
        self.down_blocks = nn.ModuleList(
            DownBlock2d(min(max_features, block_expansion * 2 ** i), min(max_features, block_expansion * 2 ** (i + 1)))
            for i in range(num_down_blocks)
        )
        self.up_blocks = nn.ModuleList(
            UpBlock2d(min(max_features, block_expansion * 2 ** (num_down_blocks - i)),
                      min(max_features, block_expansion * 2 ** (num_down_blocks - i - 1)))
            for i in range(num_down_blocks)
        )
        bottleneck_features = min(max_features, block_expansion * 2 ** num_down_blocks)
        self.bottleneck = nn.Sequential()
        for i in range(num_bottleneck_blocks):
            self.bottleneck.add_module(f"r{i}", ResBlock2d(bottleneck_features))
        self.final = nn.Conv2d(block_expansion, num_channels, kernel_size=7, padding=3)
        self.align_corners = align_corners

    def encode_source(self, source_image: torch.Tensor) -> torch.Tensor:
        """Source features before warping (about 19% of the vox-256 generator's work)."""
        out = self.first(source_image)
        for block in self.down_blocks:
            out = block(out)
        return out

    def decode(self, features: torch.Tensor, motion: dict[str, torch.Tensor] | None,
               source_image: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Warp `features` by `motion` (the dense motion output), mask by occlusion, decode.

        With `source_image`, also returns `deformed` (the source warped by the same motion), which
        only visualisation needs.
        """
        out: dict[str, torch.Tensor] = {}
        if motion is not None:
            out["mask"] = motion["mask"]
            out["sparse_deformed"] = motion["sparse_deformed"]
            features = warp(features, motion["deformation"], self.align_corners)
            occlusion = motion.get("occlusion_map")
            if occlusion is not None:
                out["occlusion_map"] = occlusion
                if occlusion.shape[2:] != features.shape[2:]:
                    occlusion = nn.functional.interpolate(occlusion, size=features.shape[2:], mode="bilinear")
                features = features * occlusion.to(features.dtype)
            if source_image is not None:
                out["deformed"] = warp(source_image, motion["deformation"], self.align_corners)
        features = self.bottleneck(features)
        for block in self.up_blocks:
            features = block(features)
        out["prediction"] = torch.sigmoid(self.final(features))
        return out

    def forward(self, source_image: torch.Tensor, kp_driving: KeypointDict,
                kp_source: KeypointDict) -> dict[str, torch.Tensor]:
        motion = None
        if self.dense_motion_network is not None:
            motion = self.dense_motion_network(source_image=source_image, kp_driving=kp_driving, kp_source=kp_source)
        return self.decode(self.encode_source(source_image), motion, source_image)
