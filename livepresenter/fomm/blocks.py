"""Building blocks of the First Order Motion Model (Siarohin et al., NeurIPS 2019).

Written from ../shared/fomm/SPEC.md. Attribute names equal the official state-dict names, so
official checkpoints load unmodified. All tensors are NCHW float; coordinates are (x, y) in
[-1, 1] with pixel centres at exactly -1 and +1 (see `coordinate_grid`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def coordinate_grid(height: int, width: int, dtype: torch.dtype = torch.float32,
                    device: torch.device | str | None = None) -> torch.Tensor:
    """(H, W, 2) grid with grid[i, j] = (x_j, y_i), x_j = 2 j / (W - 1) - 1."""
    x = 2 * (torch.arange(width, device=device).to(dtype) / (width - 1)) - 1
    y = 2 * (torch.arange(height, device=device).to(dtype) / (height - 1)) - 1
    return torch.stack([x.view(1, -1).expand(height, width), y.view(-1, 1).expand(height, width)], dim=2)


def keypoint_gaussians(value: torch.Tensor, height: int, width: int, variance: float) -> torch.Tensor:
    """Gaussian bumps exp(-|z - kp|^2 / (2 variance)) on the grid: (B, K, 2) -> (B, K, H, W)."""
    grid = coordinate_grid(height, width, value.dtype, value.device)
    diff = grid.view(1, 1, height, width, 2) - value.view(*value.shape[:2], 1, 1, 2)
    return torch.exp(-0.5 * (diff ** 2).sum(-1) / variance)


def warp(image: torch.Tensor, grid: torch.Tensor, align_corners: bool) -> torch.Tensor:
    """Bilinear backward warp with zero padding, resizing a coarser (B, h, w, 2) grid first.

    The official code calls grid_sample without align_corners (False on current torch); the
    released checkpoints were trained when it behaved like True. The caller chooses.
    """
    if grid.shape[1:3] != image.shape[2:]:
        grid = F.interpolate(grid.permute(0, 3, 1, 2), size=image.shape[2:], mode="bilinear")
        grid = grid.permute(0, 2, 3, 1)
    return F.grid_sample(image, grid.to(image.dtype), align_corners=align_corners)


class AntiAliasInterpolation2d(nn.Module):
    """Gaussian blur then stride: downsampling by `scale` without aliasing.

    The kernel is a persistent buffer (`down.weight` in checkpoints) although it is fixed.
    """

    def __init__(self, channels: int, scale: float) -> None:
        super().__init__()
        sigma = (1 / scale - 1) / 2
        size = 2 * round(sigma * 4) + 1
        taps = torch.arange(size, dtype=torch.float32)
        gauss = torch.exp(-((taps - (size - 1) / 2) ** 2) / (2 * sigma ** 2))
        kernel = torch.outer(gauss, gauss)
        kernel = kernel / kernel.sum()
        self.register_buffer("weight", kernel.expand(channels, 1, size, size).contiguous())
        self.groups = channels
        self.pad = size // 2
        self.stride = int(1 / scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, (self.pad, self.pad, self.pad, self.pad))
        x = F.conv2d(x, self.weight.to(x.dtype), groups=self.groups)
        return x[:, :, ::self.stride, ::self.stride]


class DownBlock2d(nn.Module):
    """conv 3x3 → BN → ReLU → 2x2 average pool."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_features, out_features, kernel_size=3, padding=1)
        self.norm = nn.BatchNorm2d(out_features, affine=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(F.relu(self.norm(self.conv(x))), kernel_size=2)


class UpBlock2d(nn.Module):
    """nearest x2 upsample → conv 3x3 → BN → ReLU."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_features, out_features, kernel_size=3, padding=1)
        self.norm = nn.BatchNorm2d(out_features, affine=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=2)
        return F.relu(self.norm(self.conv(x)))


class SameBlock2d(nn.Module):
    """conv → BN → ReLU at the same resolution."""

    def __init__(self, in_features: int, out_features: int, kernel_size: int = 3, padding: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_features, out_features, kernel_size=kernel_size, padding=padding)
        self.norm = nn.BatchNorm2d(out_features, affine=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.norm(self.conv(x)))


class ResBlock2d(nn.Module):
    """Pre-activation residual block: x + conv2(relu(norm2(conv1(relu(norm1(x))))))."""

    def __init__(self, features: int) -> None:
        super().__init__()
        # Registration order conv1, conv2, norm1, norm2 matches the official state-dict order.
        self.conv1 = nn.Conv2d(features, features, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(features, features, kernel_size=3, padding=1)
        self.norm1 = nn.BatchNorm2d(features, affine=True)
        self.norm2 = nn.BatchNorm2d(features, affine=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(F.relu(self.norm1(x)))
        out = self.conv2(F.relu(self.norm2(out)))
        return out + x


class Encoder(nn.Module):
    """Hourglass encoder: returns [x, d0, ..., d(n-1)] for the decoder's skips."""

    def __init__(self, block_expansion: int, in_features: int, num_blocks: int = 3, max_features: int = 256) -> None:
        super().__init__()
        self.down_blocks = nn.ModuleList(
            DownBlock2d(in_features if i == 0 else min(max_features, block_expansion * 2 ** i),
                        min(max_features, block_expansion * 2 ** (i + 1)))
            for i in range(num_blocks)
        )

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outs = [x]
        for block in self.down_blocks:
            outs.append(block(outs[-1]))
        return outs


class Decoder(nn.Module):
    """Hourglass decoder: upsample, concatenate the skip (upsampled features first)."""

    def __init__(self, block_expansion: int, in_features: int, num_blocks: int = 3, max_features: int = 256) -> None:
        super().__init__()
        self.up_blocks = nn.ModuleList(
            UpBlock2d((1 if i == num_blocks - 1 else 2) * min(max_features, block_expansion * 2 ** (i + 1)),
                      min(max_features, block_expansion * 2 ** i))
            for i in reversed(range(num_blocks))
        )
        self.out_filters = block_expansion + in_features

    def forward(self, skips: list[torch.Tensor]) -> torch.Tensor:
        out = skips[-1]
        for block, skip in zip(self.up_blocks, reversed(skips[:-1])):
            out = torch.cat([block(out), skip], dim=1)
        return out


class Hourglass(nn.Module):
    """U-Net style encoder/decoder; output channels `block_expansion + in_features`."""

    def __init__(self, block_expansion: int, in_features: int, num_blocks: int = 3, max_features: int = 256) -> None:
        super().__init__()
        self.encoder = Encoder(block_expansion, in_features, num_blocks, max_features)
        self.decoder = Decoder(block_expansion, in_features, num_blocks, max_features)
        self.out_filters = self.decoder.out_filters

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))
