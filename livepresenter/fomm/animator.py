"""Per-frame FOMM on face crops: the only place that knows device, precision and tensors.

Above this layer everything is HxWx3 uint8 RGB numpy; below it, NCHW float tensors in [0, 1].
The source (portrait crop) is fixed for many frames, so its keypoints, its encoder features and
its downsampled copy are computed once in `set_source`.
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from livepresenter.errors import ConfigError
from livepresenter.fomm.checkpoint import FommModel
from livepresenter.fomm.fused import fused_networks
from livepresenter.fomm.keypoint_detector import KeypointDict
from livepresenter.fomm.keypoints import movement_scale_of, normalize_kp
from livepresenter.fomm.networks import TorchNetworks

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Precision:
    """How the networks run.

    `dtype` applies only to the generator's image path (encoder, bottleneck, decoder): the
    keypoint detector and the dense motion network always run in float32 (in bf16 keypoints
    move by ~0.012 and the deformation by ~0.013, which breaks the 0.1 max-error target).
    `fused` runs the inference rewrite of `fused.py` (BatchNorm folded, up blocks as transposed
    convs); `runtime` "openvino" compiles the per-frame networks with OpenVINO and falls back to
    the `fallback` precision when the package is missing; `cuda_graphs` replays the whole
    per-frame call as one CUDA graph; `motion_tf32` lets cuDNN run the dense motion network's
    float32 convolutions in TF32 (see `networks.TorchNetworks`).
    """

    name: str
    device_type: str
    dtype: torch.dtype = torch.float32
    channels_last: bool = False
    fused: bool = False
    runtime: str = "torch"
    fallback: str | None = None
    cuda_graphs: bool = False
    motion_tf32: bool = False


PRECISIONS: dict[str, Precision] = {p.name: p for p in (
    Precision("fp32", "cpu"),
    Precision("fp32_channels_last", "cpu", channels_last=True, fused=True),
    Precision("bf16_mixed", "cpu", torch.bfloat16, channels_last=True, fused=True),
    Precision("openvino_fp32", "cpu", fused=True, runtime="openvino", fallback="fp32_channels_last"),
    Precision("openvino_bf16", "cpu", torch.bfloat16, fused=True, runtime="openvino", fallback="bf16_mixed"),
    Precision("cuda_fp32", "cuda", channels_last=True, fused=True),
    Precision("cuda_fp16", "cuda", torch.float16, channels_last=True, fused=True, motion_tf32=True),
    Precision("cuda_bf16", "cuda", torch.bfloat16, channels_last=True, fused=True, motion_tf32=True),
    Precision("cuda_fp16_graphs", "cuda", torch.float16, channels_last=True, fused=True, cuda_graphs=True,
              motion_tf32=True),
)}


def cpu_has_bf16() -> bool:
    """True when this CPU has native bf16 matrix instructions (AVX512-BF16 or AMX)."""
    try:
        with open("/proc/cpuinfo") as handle:
            flags = handle.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def openvino_installed() -> bool:
    return importlib.util.find_spec("openvino") is not None


def supported_precisions() -> list[str]:
    """Precision names this machine can run, slowest first (fp32 is the reference)."""
    bf16 = cpu_has_bf16()
    names = ["fp32", "fp32_channels_last"] + (["bf16_mixed"] if bf16 else [])
    if openvino_installed():
        names += ["openvino_fp32"] + (["openvino_bf16"] if bf16 else [])
    if torch.cuda.is_available():
        names += ["cuda_fp32", "cuda_fp16"] + (["cuda_bf16"] if torch.cuda.is_bf16_supported() else [])
        names.append("cuda_fp16_graphs")
    return names


def best_precision(device: str = "cpu") -> str:
    """The fastest precision that meets the accuracy targets (prediction within 0.01 mean and 0.1
    max abs of fp32) here, decided from CPU features and installed packages, not by timing.

    Measured on 2-core AVX512-BF16 machines (BENCHMARKS.md): openvino_bf16 is the fastest, then
    bf16_mixed without openvino; in float32 (the choice without bf16) openvino beats PyTorch.
    CUDA (measured on an H100 and an H200): fp16 replayed as one CUDA graph; without the graph the
    per-frame call is bound by kernel launches and fp16/bf16/fp32 differ little.
    """
    if device.startswith("cuda"):
        return "cuda_fp16_graphs"
    if cpu_has_bf16():
        return "openvino_bf16" if openvino_installed() else "bf16_mixed"
    return "openvino_fp32" if openvino_installed() else "fp32_channels_last"


def available(precision: Precision) -> Precision:
    """`precision`, or its fallback (with a warning saying why) when its runtime is missing."""
    if precision.runtime != "openvino":
        return precision
    from livepresenter.fomm.runtime import RuntimeMissing, import_openvino

    try:
        import_openvino()
    except RuntimeMissing as exc:
        log.warning("FOMM precision %s: %s; using %s instead", precision.name, exc, precision.fallback)
        return PRECISIONS[precision.fallback]
    return precision


def build_networks(model: FommModel, precision: Precision) -> TorchNetworks:
    """The networks `precision` runs; the loaded model is left as it is unless precision is fp32."""
    kp_detector, generator = model.kp_detector, model.generator
    device = torch.device(precision.device_type)
    if not precision.fused:
        return TorchNetworks(kp_detector, generator, device, precision.channels_last, precision.motion_tf32)
    example = torch.full((1, model.config.model_params["common_params"]["num_channels"],
                          model.image_size, model.image_size), 0.5)
    if precision.runtime == "openvino":
        from livepresenter.fomm.runtime import OpenVinoNetworks

        kp_detector, generator = fused_networks(kp_detector, generator, example)
        decoder_precision = "bf16" if precision.dtype == torch.bfloat16 else "f32"
        return OpenVinoNetworks(kp_detector, generator, example, decoder_precision)
    kp_detector, generator = fused_networks(kp_detector, generator, example, precision.dtype)
    return TorchNetworks(kp_detector, generator, device, precision.channels_last, precision.motion_tf32)


class FrameGraph:
    """The whole per-frame call (uint8 crop on the GPU → uint8 prediction) as one CUDA graph.

    Replaying it costs one launch instead of hundreds; it holds the source, the reference and
    the movement scale as constants, so it is rebuilt when any of them changes.
    """

    def __init__(self, step, pixels: torch.Tensor) -> None:
        self.pixels = pixels.clone()
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(2):  # warm-up: cuDNN algorithm choice and allocator pools before capture
                step(self.pixels)
        torch.cuda.current_stream().wait_stream(stream)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.output = step(self.pixels)

    def __call__(self, pixels: torch.Tensor) -> torch.Tensor:
        self.pixels.copy_(pixels, non_blocking=True)
        self.graph.replay()
        return self.output


class Animator:
    """FOMM with relative keypoint motion on face crops.

    `set_source(crop)` once per portrait, `set_reference(crop)` for the neutral driving frame
    (the first animated frame when never called), then `animate(crop) -> crop` per frame.
    Crops are HxWx3 uint8 RGB of any size; output is image_size x image_size (256 for vox).
    `precision` is a PRECISIONS name; `self.precision` is the one in use after any fallback.
    """

    def __init__(self, model: FommModel, precision: str = "fp32", relative: bool = True,
                 adapt_movement_scale: bool = True) -> None:
        if precision not in PRECISIONS:
            raise ConfigError(f"unknown FOMM precision {precision!r}: choose one of {', '.join(PRECISIONS)}")
        self.model = model
        self.precision = available(PRECISIONS[precision])
        self.networks = build_networks(model, self.precision)
        self.device = torch.device(self.precision.device_type)
        self.relative = relative
        self.adapt_movement_scale = adapt_movement_scale
        self.size = model.image_size
        self._features: torch.Tensor | None = None
        self._source_small: torch.Tensor | None = None
        self._kp_source: KeypointDict | None = None
        self._kp_reference: KeypointDict | None = None
        self._movement_scale: float | None = None
        self._pinned: dict[tuple, torch.Tensor] = {}
        self._uploaded: torch.cuda.Event | None = None
        self._graph: FrameGraph | None = None

    # -- numpy <-> tensor edges ------------------------------------------------------------
    def upload(self, crop: np.ndarray) -> torch.Tensor:
        """HxWx3 (or a batch, BxHxWx3) uint8 RGB → the same on the device (through reusable pinned memory on CUDA)."""
        if crop.ndim not in (3, 4) or crop.shape[-1] != 3 or crop.dtype != np.uint8:
            raise ValueError(f"expected an HxWx3 uint8 RGB crop, got shape {crop.shape} dtype {crop.dtype}")
        pixels = torch.from_numpy(np.ascontiguousarray(crop))
        if self.device.type != "cuda":
            return pixels
        if self._uploaded is None:
            self._uploaded = torch.cuda.Event()
        self._uploaded.synchronize()  # the previous copy out of the pinned buffer has finished
        pixels = self._pinned_like(pixels, "upload").copy_(pixels).to(self.device, non_blocking=True)
        self._uploaded.record()
        return pixels

    def to_model_input(self, pixels: torch.Tensor) -> torch.Tensor:
        """HxWx3 (BxHxWx3) uint8 on the device → (1 (B), 3, S, S) float32 in [0, 1] (antialiased resize)."""
        image = (pixels if pixels.ndim == 4 else pixels[None]).permute(0, 3, 1, 2).float() / 255
        if image.shape[2:] != (self.size, self.size):
            image = F.interpolate(image, size=(self.size, self.size), mode="bilinear", antialias=True).clamp(0, 1)
        if self.precision.channels_last:
            image = image.contiguous(memory_format=torch.channels_last)
        return image

    def to_tensor(self, crop: np.ndarray) -> torch.Tensor:
        """HxWx3 uint8 RGB → (1, 3, S, S) float32 in [0, 1] on the device."""
        return self.to_model_input(self.upload(crop))

    @staticmethod
    def batch_pixels(prediction: torch.Tensor) -> torch.Tensor:
        """(B, 3, S, S) in [0, 1] → BxSxSx3 uint8 on the prediction's device."""
        return (prediction.float().clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1)

    @staticmethod
    def to_pixels(prediction: torch.Tensor) -> torch.Tensor:
        """(1, 3, S, S) in [0, 1] → SxSx3 uint8 on the prediction's device."""
        return Animator.batch_pixels(prediction[:1])[0]

    @staticmethod
    def to_image(prediction: torch.Tensor) -> np.ndarray:
        """(1, 3, S, S) in [0, 1] → SxSx3 uint8 RGB."""
        return Animator.to_pixels(prediction).cpu().numpy()

    def download(self, pixels: torch.Tensor) -> np.ndarray:
        """SxSx3 uint8 on the device → numpy; on CUDA one copy to pinned memory and one sync."""
        if self.device.type != "cuda":
            return pixels.numpy()
        host = self._pinned_like(pixels, "download")
        host.copy_(pixels, non_blocking=True)
        torch.cuda.current_stream().synchronize()
        return host.numpy().copy()

    def _pinned_like(self, tensor: torch.Tensor, role: str) -> torch.Tensor:
        """A page-locked host buffer per role and shape, reused frame after frame."""
        key = (role, *tensor.shape, tensor.dtype)
        if key not in self._pinned:
            self._pinned[key] = torch.empty(tensor.shape, dtype=tensor.dtype, pin_memory=True)
        return self._pinned[key]

    # -- tensor-level steps ----------------------------------------------------------------
    def keypoints(self, image: torch.Tensor) -> KeypointDict:
        return self.networks.keypoints(image)

    def generate(self, kp_driving: KeypointDict) -> torch.Tensor:
        """Prediction (1, 3, S, S) float32 for normalized driving keypoints, from the cached source."""
        if self._features is None:
            raise RuntimeError("Animator.set_source must be called before animating")
        return self.networks.generate(self._features, self._source_small, kp_driving, self._kp_source)

    # -- crop-level API --------------------------------------------------------------------
    def set_source(self, crop: np.ndarray) -> None:
        """Cache everything that depends only on the portrait crop."""
        source = self.to_tensor(crop)
        self._features, self._source_small = self.networks.encode(source)
        self._kp_source = self.keypoints(source)
        self._reference_changed()

    def set_reference(self, crop: np.ndarray) -> None:
        """Measure relative motion from this driving crop (neutral pose) from now on."""
        self._kp_reference = self.keypoints(self.to_tensor(crop))
        self._reference_changed()

    def _reference_changed(self) -> None:
        """Redo what depends on both the source and the reference: the movement scale, and the
        CUDA graph, which holds them as constants."""
        self._graph = None
        if self.adapt_movement_scale and self._kp_source is not None and self._kp_reference is not None:
            self._movement_scale = movement_scale_of(self._kp_source, self._kp_reference)

    def normalized(self, kp_driving: KeypointDict) -> KeypointDict:
        """Driving keypoints in relative mode (or unchanged in absolute mode)."""
        if not self.relative:
            return kp_driving
        if self._kp_reference is None:
            self._kp_reference = kp_driving
            self._reference_changed()
        return normalize_kp(self._kp_source, kp_driving, self._kp_reference,
                            adapt_movement_scale=self.adapt_movement_scale, use_relative_movement=True,
                            use_relative_jacobian=True, movement_scale=self._movement_scale)

    @torch.inference_mode()
    def _step(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.to_pixels(self.generate(self.normalized(self.keypoints(self.to_model_input(pixels)))))

    def animate(self, crop: np.ndarray) -> np.ndarray:
        """Driving face crop (HxWx3 uint8 RGB) → animated portrait crop (SxSx3 uint8 RGB)."""
        pixels = self.upload(crop)
        if not self.precision.cuda_graphs or (self.relative and self._kp_reference is None):
            return self.download(self._step(pixels))
        if self._graph is None or self._graph.pixels.shape != pixels.shape:
            self._graph = FrameGraph(self._step, pixels)
        return self.download(self._graph(pixels))
