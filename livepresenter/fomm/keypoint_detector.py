"""FOMM keypoint detector: 10 keypoints and their local affine jacobians per image."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from livepresenter.fomm.blocks import AntiAliasInterpolation2d, Hourglass, coordinate_grid

KeypointDict = dict[str, torch.Tensor]


class KPDetector(nn.Module):
    """Image (B, C, S, S) in [0, 1] → {"value": (B, K, 2), "jacobian": (B, K, 2, 2)}.

    Keypoints are soft-argmax expectations of per-keypoint heatmaps over the (x, y) grid; each
    jacobian is the heatmap-weighted average of a 4-channel prediction map.

    Args:
        block_expansion: width of the first hourglass level.
        num_kp: number of keypoints K.
        num_channels: image channels.
        max_features: channel cap of the hourglass.
        num_blocks: hourglass depth.
        temperature: softmax temperature of the heatmaps.
        estimate_jacobian: predict jacobians (the `jacobian` conv exists only then).
        scale_factor: the image is anti-alias downsampled by this before the hourglass.
        single_jacobian_map: one jacobian map shared by all keypoints.
        pad: padding of the 7x7 `kp` and `jacobian` convs (0 in vox-256).
    """

    def __init__(self, block_expansion: int, num_kp: int, num_channels: int, max_features: int,
                 num_blocks: int, temperature: float, estimate_jacobian: bool = False,
                 scale_factor: float = 1, single_jacobian_map: bool = False, pad: int = 0) -> None:
        super().__init__()
        # Registration order (predictor, kp, jacobian, down) is the official state-dict order.
        self.predictor = Hourglass(block_expansion, in_features=num_channels,
                                   max_features=max_features, num_blocks=num_blocks)
        self.kp = nn.Conv2d(self.predictor.out_filters, num_kp, kernel_size=7, padding=pad)
        self.num_jacobian_maps = (1 if single_jacobian_map else num_kp) if estimate_jacobian else 0
        if estimate_jacobian:
            self.jacobian = nn.Conv2d(self.predictor.out_filters, 4 * self.num_jacobian_maps,
                                      kernel_size=7, padding=pad)
        else:
            self.jacobian = None
        self.temperature = temperature
        self.scale_factor = scale_factor
        if scale_factor != 1:
            self.down = AntiAliasInterpolation2d(num_channels, scale_factor)

    def forward(self, image: torch.Tensor) -> KeypointDict:
        x = self.down(image) if self.scale_factor != 1 else image
        features = self.predictor(x)
        logits = self.kp(features)
        batch, num_kp, height, width = logits.shape
        heatmap = F.softmax(logits.view(batch, num_kp, -1) / self.temperature, dim=2)
        heatmap = heatmap.view(batch, num_kp, height, width)
        grid = coordinate_grid(height, width, heatmap.dtype, heatmap.device)
        out = {"value": (heatmap.unsqueeze(-1) * grid).sum(dim=(2, 3))}
        if self.jacobian is not None:
            maps = self.jacobian(features).view(batch, self.num_jacobian_maps, 4, height, width)
            jacobian = (heatmap.unsqueeze(2) * maps).view(batch, num_kp, 4, -1).sum(-1)
            out["jacobian"] = jacobian.view(batch, num_kp, 2, 2)
        return out
