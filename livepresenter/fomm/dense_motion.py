"""FOMM dense motion network: sparse keypoint motions → dense deformation and occlusion."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from livepresenter.fomm.blocks import AntiAliasInterpolation2d, Hourglass, coordinate_grid, keypoint_gaussians, warp
from livepresenter.fomm.keypoint_detector import KeypointDict


def inverse_2x2(m: torch.Tensor) -> torch.Tensor:
    """Closed-form inverse of (..., 2, 2) matrices (exportable, unlike torch.inverse)."""
    a, b, c, d = m[..., 0, 0], m[..., 0, 1], m[..., 1, 0], m[..., 1, 1]
    det = a * d - b * c
    return torch.stack([torch.stack([d, -b], -1), torch.stack([-c, a], -1)], -2) / det[..., None, None]


class DenseMotionNetwork(nn.Module):
    """Predicts, at the motion resolution (S * scale_factor), where each output pixel samples the source.

    Inputs: the full-resolution source (B, C, S, S), driving and source keypoints.
    Outputs: `sparse_deformed` (B, K+1, C, h, w), `mask` (B, K+1, h, w), `deformation` (B, h, w, 2)
    and, when estimated, `occlusion_map` (B, 1, h, w).

    Args:
        block_expansion, num_blocks, max_features: hourglass shape.
        num_kp, num_channels: keypoints and image channels (passed by the generator).
        estimate_occlusion_map: predict the occlusion map.
        scale_factor: motion resolution relative to the image.
        kp_variance: variance of the keypoint Gaussians.
        align_corners: grid_sample convention (see `blocks.warp`).
    """

    def __init__(self, block_expansion: int, num_blocks: int, max_features: int, num_kp: int,
                 num_channels: int, estimate_occlusion_map: bool = False, scale_factor: float = 1,
                 kp_variance: float = 0.01, align_corners: bool = False) -> None:
        super().__init__()
        self.hourglass = Hourglass(block_expansion, in_features=(num_kp + 1) * (num_channels + 1),
                                   max_features=max_features, num_blocks=num_blocks)
        self.mask = nn.Conv2d(self.hourglass.out_filters, num_kp + 1, kernel_size=7, padding=3)
        self.occlusion = (nn.Conv2d(self.hourglass.out_filters, 1, kernel_size=7, padding=3)
                          if estimate_occlusion_map else None)
        self.num_kp = num_kp
        self.scale_factor = scale_factor
        self.kp_variance = kp_variance
        self.align_corners = align_corners
        if scale_factor != 1:
            self.down = AntiAliasInterpolation2d(num_channels, scale_factor)

    def downsample(self, source: torch.Tensor) -> torch.Tensor:
        """Source image at motion resolution (depends on the source only: cacheable)."""
        return self.down(source) if self.scale_factor != 1 else source

    def sparse_motions(self, height: int, width: int, kp_driving: KeypointDict,
                       kp_source: KeypointDict) -> torch.Tensor:
        """(B, K+1, h, w, 2): identity for the background, then T_k(z) = J_k (z - d_k) + s_k."""
        value_d = kp_driving["value"]
        batch = value_d.shape[0]
        identity = coordinate_grid(height, width, value_d.dtype, value_d.device).view(1, 1, height, width, 2)
        z = identity - value_d.view(batch, self.num_kp, 1, 1, 2)
        if "jacobian" in kp_driving:
            jacobian = kp_source["jacobian"] @ inverse_2x2(kp_driving["jacobian"])
            z = (jacobian[:, :, None, None] @ z.unsqueeze(-1)).squeeze(-1)
        driving_to_source = z + kp_source["value"].view(batch, self.num_kp, 1, 1, 2)
        return torch.cat([identity.expand(batch, 1, height, width, 2), driving_to_source], dim=1)

    def forward(self, source_image: torch.Tensor, kp_driving: KeypointDict, kp_source: KeypointDict,
                source_small: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """`source_small` may pass a cached `downsample(source_image)`."""
        source = self.downsample(source_image) if source_small is None else source_small
        batch, channels, height, width = source.shape
        heat = (keypoint_gaussians(kp_driving["value"], height, width, self.kp_variance)
                - keypoint_gaussians(kp_source["value"], height, width, self.kp_variance))
        heat = torch.cat([heat.new_zeros(batch, 1, height, width), heat], dim=1).unsqueeze(2)

        motions = self.sparse_motions(height, width, kp_driving, kp_source)
        n = self.num_kp + 1
        repeated = source.unsqueeze(1).expand(batch, n, channels, height, width).reshape(batch * n, channels, height, width)
        sparse_deformed = warp(repeated, motions.reshape(batch * n, height, width, 2), self.align_corners)
        sparse_deformed = sparse_deformed.view(batch, n, channels, height, width)

        features = self.hourglass(torch.cat([heat, sparse_deformed], dim=2).view(batch, -1, height, width))
        mask = F.softmax(self.mask(features), dim=1)
        deformation = (motions.permute(0, 1, 4, 2, 3) * mask.unsqueeze(2)).sum(dim=1).permute(0, 2, 3, 1)
        out = {"sparse_deformed": sparse_deformed, "mask": mask, "deformation": deformation}
        if self.occlusion is not None:
            out["occlusion_map"] = torch.sigmoid(self.occlusion(features))
        return out
