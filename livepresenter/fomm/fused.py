"""Inference-only rewrite of the FOMM networks: the same function with fewer operations.

Three exact rewrites (differences are float rounding only, ~1e-6 in fp32):

* BatchNorm in eval mode is an affine map, folded into the convolution before it.
* `UpBlock2d` (nearest x2 upsample, then a 3x3 conv) equals a stride-2 transposed conv with a
  4x4 kernel built from sums of the 3x3 taps: each output pixel then costs 4 taps instead of 9,
  so the up blocks need 2.25x fewer multiply-adds. Worth it only where the block is compute
  bound; at 2x2 or 4x4 inputs the layers are limited by reading their (1024-channel) weights,
  which the 4x4 kernel makes 16/9 larger, so those keep the upsample + 3x3 conv.
* The pre-activation residual block's second BatchNorm follows its first conv and folds into it.

`fuse(module)` rewrites a module tree in place; the attribute layout of `blocks.py` is untouched,
so `Hourglass`, `KPDetector`, `DenseMotionNetwork` and the generator run the fused blocks as is.
`fused_networks` makes fused copies of both networks and, for bf16/fp16, puts only the generator's
image path in reduced precision (see `reduce_image_path`).
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from livepresenter.fomm.blocks import DownBlock2d, ResBlock2d, SameBlock2d, UpBlock2d
from livepresenter.fomm.generator import OcclusionAwareGenerator
from livepresenter.fomm.keypoint_detector import KPDetector

TRANSPOSED_MIN_SIDE = 8  # smallest up-block input side where the 4x4 transposed conv pays off


def folded(conv: nn.Conv2d, norm: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """Weight and bias of `norm(conv(x))` as a single convolution (eval-mode statistics)."""
    scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)
    weight = conv.weight * scale.view(-1, 1, 1, 1)
    bias = (conv.bias - norm.running_mean) * scale + norm.bias
    return weight.detach(), bias.detach()


def upsampling_kernel(weight: torch.Tensor) -> torch.Tensor:
    """3x3 kernel applied after nearest x2 upsampling → 4x4 kernel of `conv_transpose2d(stride=2, padding=1)`.

    Along one axis, output 2i sees inputs (i-1, i, i) through taps (w0, w1, w2) and output 2i+1
    sees (i, i, i+1); the transposed conv's taps (k0..k3) = (w2, w1+w2, w0+w1, w0) give the same.
    Returns (in, out, 4, 4), the layout conv_transpose2d expects.
    """
    def along(w: torch.Tensor, dim: int) -> torch.Tensor:
        w0, w1, w2 = w.unbind(dim)
        return torch.stack([w2, w1 + w2, w0 + w1, w0], dim)

    return along(along(weight, 2), 3).transpose(0, 1).contiguous()


class ConvReLU(nn.Module):
    """Conv with BatchNorm folded in, then ReLU, then an optional 2x2 average pool."""

    def __init__(self, conv: nn.Conv2d, norm: nn.BatchNorm2d, pool: bool = False) -> None:
        super().__init__()
        weight, bias = folded(conv, norm)
        self.weight = nn.Parameter(weight, requires_grad=False)
        self.bias = nn.Parameter(bias, requires_grad=False)
        self.padding = conv.padding
        self.pool = pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(F.conv2d(x, self.weight, self.bias, padding=self.padding))
        return F.avg_pool2d(x, kernel_size=2) if self.pool else x


class UpsampleConvReLU(nn.Module):
    """`UpBlock2d` with BatchNorm folded; as one transposed conv when `transposed`."""

    def __init__(self, block: UpBlock2d, transposed: bool) -> None:
        super().__init__()
        weight, bias = folded(block.conv, block.norm)
        self.transposed = transposed
        self.weight = nn.Parameter(upsampling_kernel(weight) if transposed else weight, requires_grad=False)
        self.bias = nn.Parameter(bias, requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.transposed:
            return F.relu(F.conv_transpose2d(x, self.weight, self.bias, stride=2, padding=1))
        return F.relu(F.conv2d(F.interpolate(x, scale_factor=2), self.weight, self.bias, padding=1))


class FoldedResBlock(nn.Module):
    """`ResBlock2d` with norm2 folded into conv1; norm1 stays (it acts on the residual input)."""

    def __init__(self, block: ResBlock2d) -> None:
        super().__init__()
        self.norm1 = block.norm1
        weight, bias = folded(block.conv1, block.norm2)
        self.weight1 = nn.Parameter(weight, requires_grad=False)
        self.bias1 = nn.Parameter(bias, requires_grad=False)
        self.conv2 = block.conv2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(F.conv2d(F.relu(self.norm1(x)), self.weight1, self.bias1, padding=1))
        return self.conv2(out) + x


def _up_block_sides(module: nn.Module, example: tuple) -> dict[UpBlock2d, int]:
    """Input side of every UpBlock2d when `module` runs on `example`."""
    sides: dict[UpBlock2d, int] = {}
    hooks = [m.register_forward_pre_hook(lambda m, args: sides.__setitem__(m, args[0].shape[-1]))
             for m in module.modules() if isinstance(m, UpBlock2d)]
    try:
        with torch.no_grad():
            module(*example)
    finally:
        for hook in hooks:
            hook.remove()
    return sides


@torch.no_grad()
def fuse(module: nn.Module, example: tuple) -> nn.Module:
    """Rewrite `module` (eval mode) in place with the fused blocks; `example` are forward
    arguments at the real input size, used to choose which up blocks become transposed convs."""
    sides = _up_block_sides(module, example)

    def replacement(child: nn.Module) -> nn.Module | None:
        if isinstance(child, SameBlock2d):
            return ConvReLU(child.conv, child.norm)
        if isinstance(child, DownBlock2d):
            return ConvReLU(child.conv, child.norm, pool=True)
        if isinstance(child, UpBlock2d):
            return UpsampleConvReLU(child, transposed=sides.get(child, 0) >= TRANSPOSED_MIN_SIDE)
        if isinstance(child, ResBlock2d):
            return FoldedResBlock(child)
        return None

    def visit(parent: nn.Module) -> None:
        for name, child in parent.named_children():
            new = replacement(child)
            if new is None:
                visit(child)
            else:
                setattr(parent, name, new)

    visit(module)
    return module


class Cast(nn.Module):
    """A precision boundary inside a module tree; `module.to(dtype)` leaves its target alone."""

    def __init__(self, dtype: torch.dtype) -> None:
        super().__init__()
        self.dtype = dtype

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.to(self.dtype)


def reduce_image_path(generator: OcclusionAwareGenerator, dtype: torch.dtype) -> OcclusionAwareGenerator:
    """Run the generator's encoder, bottleneck, up blocks and final conv in `dtype`, in place.

    What stays float32, and why: the dense motion network (in bf16 its deformation is off by
    ~0.013, which moves whole image regions); the cached source features, the warp and the
    occlusion product (a bf16 sampling grid is off by up to 2^-8, i.e. half a pixel at 256 px);
    the sigmoid and the prediction. `encode_source` and `decode` keep float32 interfaces.
    """
    if dtype == torch.float32:
        return generator
    image_path = [generator.first, *generator.down_blocks, generator.bottleneck, *generator.up_blocks, generator.final]
    for module in image_path:
        module.to(dtype)
    encoder_tail = generator.down_blocks[-1] if len(generator.down_blocks) else generator.first
    generator.first = nn.Sequential(Cast(dtype), generator.first)
    if len(generator.down_blocks):
        generator.down_blocks[-1] = nn.Sequential(encoder_tail, Cast(torch.float32))
    else:
        generator.first.append(Cast(torch.float32))
    generator.bottleneck = nn.Sequential(Cast(dtype), *generator.bottleneck)
    generator.final = nn.Sequential(generator.final, Cast(torch.float32))
    return generator


def fused_networks(kp_detector: KPDetector, generator: OcclusionAwareGenerator, image: torch.Tensor,
                   dtype: torch.dtype = torch.float32) -> tuple[KPDetector, OcclusionAwareGenerator]:
    """Fused copies of both networks (eval, CPU, float32 keypoints and motion); see `reduce_image_path`.

    `image` is an example input (1, C, S, S) at the size the networks will see.
    """
    kp_detector = copy.deepcopy(kp_detector).cpu().float().eval()
    generator = copy.deepcopy(generator).cpu().float().eval()
    with torch.no_grad():
        kp = kp_detector(image)
    fuse(kp_detector, (image,))
    fuse(generator, (image, kp, kp))
    return kp_detector, reduce_image_path(generator, dtype)
