"""The discriminator of FOMM's adversarial variant (SPEC.md sections 8-9): a patch discriminator per pyramid scale,
with attribute names equal to the official state-dict names so that `discriminator` weights load both ways.

vox-256 checkpoints hold a spectral-normed one on the image alone (`sn`), vox-adv-256 one without spectral norm on
the image plus the driving keypoints' Gaussians (`use_kp`). The losses are least-squares GAN terms and a feature
matching term on the four block outputs.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from livepresenter.fomm.blocks import keypoint_gaussians
from livepresenter.fomm.keypoint_detector import KeypointDict

__all__ = ["MultiScaleDiscriminator", "discriminator_loss", "generator_gan_losses"]


class DiscriminatorBlock(nn.Module):
    """conv 4x4 without padding (spectral-normed with `sn`) → instance norm (`norm`) → leaky ReLU 0.2 → 2x2 average
    pool (`pool`)."""

    def __init__(self, in_features: int, out_features: int, norm: bool, pool: bool, sn: bool) -> None:
        super().__init__()
        conv = nn.Conv2d(in_features, out_features, kernel_size=4)
        self.conv = nn.utils.spectral_norm(conv) if sn else conv
        self.norm = nn.InstanceNorm2d(out_features, affine=True) if norm else None
        self.pool = pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv(x)
        if self.norm is not None:
            out = self.norm(out)
        out = F.leaky_relu(out, 0.2)
        return F.avg_pool2d(out, 2) if self.pool else out


class Discriminator(nn.Module):
    """Image (and optionally keypoint Gaussians) → the block outputs and a 1-channel prediction map."""

    def __init__(self, num_channels: int = 3, block_expansion: int = 64, num_blocks: int = 4,
                 max_features: int = 512, sn: bool = False, use_kp: bool = False, num_kp: int = 10,
                 kp_variance: float = 0.01, **unused: object) -> None:
        super().__init__()
        del unused  # the YAML's discriminator_params may carry the scales list and options of other variants
        self.down_blocks = nn.ModuleList(
            DiscriminatorBlock(
                num_channels + num_kp * use_kp if i == 0 else min(max_features, block_expansion * 2 ** i),
                min(max_features, block_expansion * 2 ** (i + 1)), norm=i != 0, pool=i != num_blocks - 1, sn=sn)
            for i in range(num_blocks)
        )
        conv = nn.Conv2d(min(max_features, block_expansion * 2 ** num_blocks), 1, kernel_size=1)
        self.conv = nn.utils.spectral_norm(conv) if sn else conv
        self.use_kp, self.kp_variance = use_kp, kp_variance

    def forward(self, image: torch.Tensor, kp: KeypointDict | None = None) -> tuple[list[torch.Tensor], torch.Tensor]:
        out = image
        if self.use_kp and kp is not None:
            heat = keypoint_gaussians(kp["value"], image.shape[2], image.shape[3], self.kp_variance)
            out = torch.cat([out, heat.to(out.dtype)], dim=1)
        features = []
        for block in self.down_blocks:
            out = block(out)
            features.append(out)
        return features, self.conv(out)


class MultiScaleDiscriminator(nn.Module):
    """One Discriminator per pyramid scale, under `discs["1"]`, `discs["0-5"]`, ... as the official module names
    them."""

    def __init__(self, scales: Sequence[float] = (1,), **params: object) -> None:
        super().__init__()
        self.scales = list(scales)
        self.discs = nn.ModuleDict({str(s).replace(".", "-"): Discriminator(**params) for s in self.scales})

    def forward(self, pyramid: dict[float, torch.Tensor], kp: KeypointDict | None
                ) -> list[tuple[list[torch.Tensor], torch.Tensor]]:
        return [disc(pyramid[scale], kp) for scale, disc in zip(self.scales, self.discs.values(), strict=True)]


def generator_gan_losses(real: list[tuple[list[torch.Tensor], torch.Tensor]],
                         fake: list[tuple[list[torch.Tensor], torch.Tensor]], gan_weight: float,
                         feature_weights: Sequence[float]) -> dict[str, torch.Tensor]:
    """LSGAN term mean((1 − D(fake))²) and feature matching Σ_i w_i mean|D_i(real) − D_i(fake)|, over the scales."""
    gan = sum(gan_weight * ((1 - fake_map.float()) ** 2).mean() for _, fake_map in fake)
    matching = sum(weight * (a.float() - b.float()).abs().mean()
                   for (real_features, _), (fake_features, _) in zip(real, fake, strict=True)
                   for weight, a, b in zip(feature_weights, real_features, fake_features, strict=True) if weight)
    return {"generator_gan": gan, "feature_matching": matching}


def discriminator_loss(real: list[tuple[list[torch.Tensor], torch.Tensor]],
                       fake: list[tuple[list[torch.Tensor], torch.Tensor]], weight: float) -> torch.Tensor:
    """LSGAN: mean((1 − D(real))² + D(fake)²) over the scales; `fake` made from detached predictions."""
    return sum(weight * ((1 - real_map.float()) ** 2 + fake_map.float() ** 2).mean()
               for (_, real_map), (_, fake_map) in zip(real, fake, strict=True))
