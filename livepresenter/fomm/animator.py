"""Per-frame FOMM on face crops: the only place that knows device, precision and tensors.

Above this layer everything is HxWx3 uint8 RGB numpy; below it, NCHW float tensors in [0, 1].
The source (portrait crop) is fixed for many frames, so its keypoints, its encoder features and
its downsampled copy are computed once in `set_source`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from livepresenter.errors import ConfigError
from livepresenter.fomm.checkpoint import FommModel
from livepresenter.fomm.keypoint_detector import KeypointDict
from livepresenter.fomm.keypoints import movement_scale_of, normalize_kp


@dataclass(frozen=True)
class Precision:
    """How the networks run. The dense motion network breaks in reduced precision (deformation
    errors near 0.013), so `dense_motion_fp32` keeps it in float32 while the rest runs in `dtype`."""

    name: str
    device_type: str
    dtype: torch.dtype = torch.float32
    channels_last: bool = False
    dense_motion_fp32: bool = True


PRECISIONS: dict[str, Precision] = {p.name: p for p in (
    Precision("fp32", "cpu"),
    Precision("fp32_channels_last", "cpu", channels_last=True),
    Precision("bf16_mixed", "cpu", torch.bfloat16, channels_last=True),
    Precision("cuda_fp32", "cuda"),
    Precision("cuda_fp16", "cuda", torch.float16, channels_last=True),
    Precision("cuda_bf16", "cuda", torch.bfloat16, channels_last=True),
)}


def cpu_has_bf16() -> bool:
    """True when this CPU has native bf16 matrix instructions (AVX512-BF16 or AMX)."""
    try:
        flags = open("/proc/cpuinfo").read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def supported_precisions() -> list[str]:
    """Precision names this machine can run, fastest-last order of the table."""
    names = ["fp32", "fp32_channels_last"]
    if cpu_has_bf16():
        names.append("bf16_mixed")
    if torch.cuda.is_available():
        names += ["cuda_fp32", "cuda_fp16"]
        if torch.cuda.is_bf16_supported():
            names.append("cuda_bf16")
    return names


class Animator:
    """FOMM with relative keypoint motion on face crops.

    `set_source(crop)` once per portrait, `set_reference(crop)` for the neutral driving frame
    (the first animated frame when never called), then `animate(crop) -> crop` per frame.
    Crops are HxWx3 uint8 RGB of any size; output is image_size x image_size (256 for vox).
    """

    def __init__(self, model: FommModel, precision: str = "fp32", relative: bool = True,
                 adapt_movement_scale: bool = True) -> None:
        if precision not in PRECISIONS:
            raise ConfigError(f"unknown FOMM precision {precision!r}: choose one of {', '.join(PRECISIONS)}")
        self.precision = PRECISIONS[precision]
        self.device = torch.device("cuda" if self.precision.device_type == "cuda" else "cpu")
        self.model = model
        self.relative = relative
        self.adapt_movement_scale = adapt_movement_scale
        self.size = model.image_size
        memory_format = torch.channels_last if self.precision.channels_last else torch.contiguous_format
        model.kp_detector.to(self.device, memory_format=memory_format)
        model.generator.to(self.device, memory_format=memory_format)
        self._source: torch.Tensor | None = None
        self._source_small: torch.Tensor | None = None
        self._features: torch.Tensor | None = None
        self._kp_source: KeypointDict | None = None
        self._kp_reference: KeypointDict | None = None
        self._movement_scale: float | None = None

    # -- numpy <-> tensor edges ------------------------------------------------------------
    def to_tensor(self, crop: np.ndarray) -> torch.Tensor:
        """HxWx3 uint8 RGB → (1, 3, S, S) float32 in [0, 1] on the device (antialiased resize)."""
        if crop.ndim != 3 or crop.shape[2] != 3 or crop.dtype != np.uint8:
            raise ValueError(f"expected an HxWx3 uint8 RGB crop, got shape {crop.shape} dtype {crop.dtype}")
        image = torch.from_numpy(np.ascontiguousarray(crop)).to(self.device).permute(2, 0, 1)[None].float() / 255
        if image.shape[2:] != (self.size, self.size):
            image = F.interpolate(image, size=(self.size, self.size), mode="bilinear", antialias=True).clamp(0, 1)
        if self.precision.channels_last:
            image = image.contiguous(memory_format=torch.channels_last)
        return image

    @staticmethod
    def to_image(prediction: torch.Tensor) -> np.ndarray:
        """(1, 3, S, S) in [0, 1] → SxSx3 uint8 RGB."""
        image = (prediction[0].float().clamp(0, 1) * 255).round().to(torch.uint8)
        return image.permute(1, 2, 0).cpu().numpy()

    # -- precision policy ------------------------------------------------------------------
    def _autocast(self, reduced: bool = True):
        if self.precision.dtype == torch.float32 or not reduced:
            return torch.autocast(self.precision.device_type, enabled=False)
        return torch.autocast(self.precision.device_type, dtype=self.precision.dtype)

    # -- tensor-level steps ----------------------------------------------------------------
    @torch.inference_mode()
    def keypoints(self, image: torch.Tensor) -> KeypointDict:
        with self._autocast():
            kp = self.model.kp_detector(image)
        return {k: v.float() for k, v in kp.items()}

    @torch.inference_mode()
    def generate(self, kp_driving: KeypointDict) -> torch.Tensor:
        """Prediction (1, 3, S, S) for normalized driving keypoints, from the cached source."""
        if self._features is None:
            raise RuntimeError("Animator.set_source must be called before animating")
        generator = self.model.generator
        motion = None
        if generator.dense_motion_network is not None:
            with self._autocast(reduced=not self.precision.dense_motion_fp32):
                motion = generator.dense_motion_network(self._source, kp_driving, self._kp_source,
                                                        source_small=self._source_small)
        with self._autocast():
            return generator.decode(self._features, motion)["prediction"].float()

    # -- crop-level API --------------------------------------------------------------------
    @torch.inference_mode()
    def set_source(self, crop: np.ndarray) -> None:
        """Cache everything that depends only on the portrait crop."""
        source = self.to_tensor(crop)
        generator = self.model.generator
        with self._autocast():
            self._features = generator.encode_source(source)
        self._source = source
        if generator.dense_motion_network is not None:
            with self._autocast(reduced=not self.precision.dense_motion_fp32):
                self._source_small = generator.dense_motion_network.downsample(source)
        self._kp_source = self.keypoints(source)
        self._update_movement_scale()

    def set_reference(self, crop: np.ndarray) -> None:
        """Measure relative motion from this driving crop (neutral pose) from now on."""
        self._kp_reference = self.keypoints(self.to_tensor(crop))
        self._update_movement_scale()

    def _update_movement_scale(self) -> None:
        if self.adapt_movement_scale and self._kp_source is not None and self._kp_reference is not None:
            self._movement_scale = movement_scale_of(self._kp_source, self._kp_reference)

    def normalized(self, kp_driving: KeypointDict) -> KeypointDict:
        """Driving keypoints in relative mode (or unchanged in absolute mode)."""
        if not self.relative:
            return kp_driving
        if self._kp_reference is None:
            self._kp_reference = kp_driving
            self._update_movement_scale()
        return normalize_kp(self._kp_source, kp_driving, self._kp_reference,
                            adapt_movement_scale=self.adapt_movement_scale, use_relative_movement=True,
                            use_relative_jacobian=True, movement_scale=self._movement_scale)

    def animate(self, crop: np.ndarray) -> np.ndarray:
        """Driving face crop (HxWx3 uint8 RGB) → animated portrait crop (SxSx3 uint8 RGB)."""
        kp_driving = self.keypoints(self.to_tensor(crop))
        return self.to_image(self.generate(self.normalized(kp_driving)))
