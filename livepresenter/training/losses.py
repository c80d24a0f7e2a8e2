"""FOMM's self-supervised losses, written from their description (../shared/fomm/SPEC.md section 9).

- Reconstruction: a multi-scale perceptual loss between the driving frame and its reconstruction from the source,
  on an anti-aliased image pyramid (scales 1, 1/2, 1/4, 1/8), with VGG19 features (relu1_1 ... relu5_1, ImageNet
  normalisation). torchvision's VGG19 weights cannot be downloaded on every machine (and torchvision does not import
  beside every torch build), so the network is built here with torchvision's layer numbering and loads a local
  weights file (`vgg19-dcbb9e9d.pth`); without one, an L1 loss on the pixel pyramid takes its place.
- Equivariance: the keypoints of a randomly warped driving frame (an affine plus a thin-plate-spline warp), mapped
  back through the warp, must be the driving frame's keypoints (values), and the jacobians must compose to the
  identity with the warp's own jacobian, taken by autograd.
"""

from __future__ import annotations

import pickle
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from livepresenter.errors import InputError
from livepresenter.fomm.blocks import AntiAliasInterpolation2d, coordinate_grid
from livepresenter.fomm.dense_motion import inverse_2x2
from livepresenter.fomm.keypoint_detector import KeypointDict

__all__ = ["ImagePyramid", "PerceptualLoss", "RandomWarp", "Vgg19", "equivariance_losses", "load_vgg19"]

VGG19_FILE = "vgg19-dcbb9e9d.pth"
_VGG19_LAYERS = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512]
"""torchvision's vgg19 `features` up to relu5_1 (index 29): 3x3 convs (with a ReLU each) and 2x2 max pools."""
_VGG19_TAPS = (2, 7, 12, 21, 30)
"""Slice ends of `features` after relu1_1, relu2_1, relu3_1, relu4_1, relu5_1."""


class ImagePyramid(nn.Module):
    """The image at each scale, anti-aliased as the models downsample (scale 1: the image itself)."""

    def __init__(self, scales: Sequence[float], channels: int) -> None:
        super().__init__()
        self.scales = list(scales)
        self.downs = nn.ModuleList(nn.Identity() if s == 1 else AntiAliasInterpolation2d(channels, s) for s in scales)

    def forward(self, image: torch.Tensor) -> list[torch.Tensor]:
        return [down(image) for down in self.downs]


class Vgg19(nn.Module):
    """VGG19 features at the five perceptual taps; frozen. Input RGB in [0, 1]."""

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = 3
        for spec in _VGG19_LAYERS:
            if spec == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                layers += [nn.Conv2d(channels, int(spec), kernel_size=3, padding=1), nn.ReLU()]
                channels = int(spec)
        self.features = nn.Sequential(*layers)
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()

    def forward(self, image: torch.Tensor) -> list[torch.Tensor]:
        out = (image - self.mean) / self.std
        taps, start = [], 0
        for end in _VGG19_TAPS:
            for layer in self.features[start:end]:
                out = layer(out)
            taps.append(out)
            start = end
        return taps


def load_vgg19(path: Path) -> Vgg19:
    """VGG19 with the ImageNet weights in `path` (torchvision's state dict, or its `features` part alone)."""
    if not path.is_file():
        raise InputError(f"VGG19 weights {path} do not exist: give torchvision's {VGG19_FILE}, or leave the option "
                         "out to train with a pixel-pyramid L1 loss instead")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise InputError(f"VGG19 weights {path} hold Python objects besides tensors: refusing to unpickle them") \
            from None
    except Exception as exc:  # noqa: BLE001 - torch.load raises many types on garbage input
        raise InputError(f"VGG19 weights {path} are truncated or not a PyTorch file ({type(exc).__name__})") \
            from None
    model = Vgg19()
    if not isinstance(state, dict):
        raise InputError(f"VGG19 weights {path} are not a state dict")
    wanted = model.state_dict()
    state = {(k if k.startswith("features.") else f"features.{k}"): v for k, v in state.items()}
    missing = [k for k in wanted if k not in state]
    wrong = [k for k in wanted if k in state and tuple(state[k].shape) != tuple(wanted[k].shape)]
    if missing or wrong:
        what = f"{missing[0]} missing" if missing else f"{wrong[0]} has the wrong shape"
        raise InputError(f"VGG19 weights {path} are not torchvision's vgg19 ({what}): give {VGG19_FILE}")
    model.load_state_dict({k: state[k] for k in wanted})
    return model


class PerceptualLoss(nn.Module):
    """Σ over pyramid scales (and VGG19 taps) of weight × mean |f(prediction) − f(real)|.

    Without VGG19, f is the pixels and each scale weighs the sum of the tap weights, so that reconstruction keeps
    about its say against the equivariance terms.
    """

    def __init__(self, scales: Sequence[float], weights: Sequence[float], vgg: Vgg19 | None, channels: int) -> None:
        super().__init__()
        self.pyramid = ImagePyramid(scales, channels)
        self.vgg = vgg
        self.weights = list(weights)

    def forward(self, prediction: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        total = prediction.new_zeros(())
        for predicted, target in zip(self.pyramid(prediction), self.pyramid(real), strict=True):
            if self.vgg is None:
                total = total + sum(self.weights) * (predicted - target.detach()).abs().mean()
                continue
            for weight, a, b in zip(self.weights, self.vgg(predicted), self.vgg(target), strict=True):
                total = total + weight * (a - b.detach()).abs().mean()
        return total


class RandomWarp:
    """A random smooth warp of the image plane, one per batch element: affine [I | 0] + N(0, sigma_affine²), plus a
    thin-plate-spline term Σ_c w_c r² log(r + 1e-6) on a points x points control grid (r: the L1 distance to the
    control point, w_c ~ N(0, sigma_tps²)), added to both coordinates. Drawn from `rng` so a step is reproducible.
    """

    def __init__(self, batch: int, sigma_affine: float, sigma_tps: float, points_tps: int,
                 rng: np.random.Generator, device: torch.device) -> None:
        theta = np.eye(2, 3)[None] + rng.normal(0, sigma_affine, size=(batch, 2, 3))
        self.theta = torch.as_tensor(theta, dtype=torch.float32, device=device)
        self.control_points = coordinate_grid(points_tps, points_tps, device=device).reshape(1, 1, -1, 2)
        params = rng.normal(0, sigma_tps, size=(batch, 1, points_tps ** 2))
        self.control_params = torch.as_tensor(params, dtype=torch.float32, device=device)

    def warp_coordinates(self, points: torch.Tensor) -> torch.Tensor:
        """(B, N, 2) points in [-1, 1] (x, y) → where the warp sends them."""
        moved = points @ self.theta[:, :, :2].transpose(1, 2) + self.theta[:, None, :, 2]
        distance = (points.unsqueeze(2) - self.control_points).abs().sum(-1)  # (B, N, P²)
        bend = (distance ** 2 * torch.log(distance + 1e-6) * self.control_params).sum(-1, keepdim=True)
        return moved + bend

    def jacobian(self, points: torch.Tensor) -> torch.Tensor:
        """(B, N, 2, 2) derivative of the warp at `points` (each point moves alone, so summing is exact)."""
        moved = self.warp_coordinates(points)
        rows = [torch.autograd.grad(moved[..., i].sum(), points, create_graph=True)[0] for i in range(2)]
        return torch.stack(rows, dim=-2)

    def warp_image(self, image: torch.Tensor, align_corners: bool) -> torch.Tensor:
        """`image` resampled through the warp, reflected at the borders."""
        batch, _, height, width = image.shape
        grid = coordinate_grid(height, width, image.dtype, image.device).reshape(1, -1, 2).expand(batch, -1, -1)
        grid = self.warp_coordinates(grid).reshape(batch, height, width, 2)
        return F.grid_sample(image, grid, padding_mode="reflection", align_corners=align_corners)


def equivariance_losses(kp_driving: KeypointDict, kp_warped: KeypointDict, warp: RandomWarp,
                        value_weight: float, jacobian_weight: float) -> dict[str, torch.Tensor]:
    """The keypoint and jacobian equivariance terms (float32), from the driving frame's keypoints and those of the
    same frame seen through `warp`."""
    warped_value = kp_warped["value"].float()
    losses = {"equivariance_value":
              value_weight * (kp_driving["value"].float() - warp.warp_coordinates(warped_value)).abs().mean()}
    if "jacobian" in kp_driving and jacobian_weight:
        through_warp = warp.jacobian(warped_value) @ kp_warped["jacobian"].float()
        composed = inverse_2x2(kp_driving["jacobian"].float()) @ through_warp
        identity = torch.eye(2, device=composed.device).expand_as(composed)
        losses["equivariance_jacobian"] = jacobian_weight * (identity - composed).abs().mean()
    return losses
