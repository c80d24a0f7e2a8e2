"""Per-frame FOMM networks as plain tensor graphs, and an OpenVINO runtime for them.

OpenVINO is optional: it is imported only when an `openvino_*` precision is built, and a missing
package raises `RuntimeMissing` (the animator then falls back to PyTorch). It prepares every
convolution once when compiling (weight layout, ReLU and elementwise ops fused in) and runs bf16
on AVX512-BF16 / AMX; on 2-core AVX512-BF16 machines it beat eager PyTorch at the same precision
(BENCHMARKS.md). The three graphs are what changes per frame; the source encoder runs once per
portrait and stays in PyTorch.

The graphs take and return tensors only, so they also export with `torch.onnx.export` (opset 17
for GridSample; the 2x2 jacobian inverse is already in closed form, `dense_motion.inverse_2x2`).
ONNX Runtime was measured on them and not kept (slower, no CPU bf16; see BENCHMARKS.md).
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from torch import nn

from livepresenter.fomm.generator import OcclusionAwareGenerator
from livepresenter.fomm.keypoint_detector import KeypointDict, KPDetector
from livepresenter.fomm.networks import TorchNetworks


class RuntimeMissing(ImportError):
    """The inference runtime a precision needs is not installed."""


def keypoint_keys(kp_detector: KPDetector) -> tuple[str, ...]:
    return ("value", "jacobian") if kp_detector.jacobian is not None else ("value",)


def motion_keys(generator: OcclusionAwareGenerator) -> tuple[str, ...]:
    dense = generator.dense_motion_network
    return ("deformation", "occlusion_map") if dense.occlusion is not None else ("deformation",)


class KeypointGraph(nn.Module):
    """image (B, C, S, S) → keypoint tensors in `keypoint_keys` order."""

    def __init__(self, kp_detector: KPDetector) -> None:
        super().__init__()
        self.kp_detector = kp_detector
        self.keys = keypoint_keys(kp_detector)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, ...]:
        kp = self.kp_detector(image)
        return tuple(kp[key] for key in self.keys)


class MotionGraph(nn.Module):
    """(source at motion resolution, driving keypoint tensors, source keypoint tensors) → motion tensors."""

    def __init__(self, generator: OcclusionAwareGenerator, keys: tuple[str, ...]) -> None:
        super().__init__()
        self.dense_motion = generator.dense_motion_network
        self.keys = keys
        self.outputs = motion_keys(generator)

    def forward(self, source_small: torch.Tensor, *kp: torch.Tensor) -> tuple[torch.Tensor, ...]:
        n = len(self.keys)
        driving, source = dict(zip(self.keys, kp[:n])), dict(zip(self.keys, kp[n:]))
        motion = self.dense_motion(source_small, driving, source, source_small=source_small)
        return tuple(motion[key] for key in self.outputs)


class DecodeGraph(nn.Module):
    """(cached source features, motion tensors) → prediction (B, C, S, S)."""

    def __init__(self, generator: OcclusionAwareGenerator) -> None:
        super().__init__()
        self.generator = generator
        self.keys = motion_keys(generator)

    def forward(self, features: torch.Tensor, *motion: torch.Tensor) -> torch.Tensor:
        # decode passes the visualisation outputs through; the graph has none.
        fields = {**dict(zip(self.keys, motion)), "mask": None, "sparse_deformed": None}
        return self.generator.decode(features, fields)["prediction"]


def import_openvino():
    """The openvino module, or RuntimeMissing with what to install."""
    try:
        import openvino
    except ImportError as exc:
        raise RuntimeMissing("the 'openvino' package is not installed (pip install openvino)") from exc
    return openvino


class OpenVinoGraph:
    """One compiled graph with a reusable infer request; torch tensors in and out."""

    def __init__(self, core, module: nn.Module, example: tuple[torch.Tensor, ...], precision: str,
                 threads: int) -> None:
        ov = import_openvino()
        with warnings.catch_warnings():  # tracer warnings about shape checks, constant for a fixed size
            warnings.simplefilter("ignore")
            model = ov.convert_model(module, example_input=example)
        config = {"INFERENCE_PRECISION_HINT": precision, "PERFORMANCE_HINT": "LATENCY",
                  "INFERENCE_NUM_THREADS": threads}
        self.request = core.compile_model(model, "CPU", config).create_infer_request()

    def __call__(self, *inputs: torch.Tensor) -> list[torch.Tensor]:
        arrays = [np.ascontiguousarray(t.detach().float().cpu().numpy()) for t in inputs]
        # share_inputs: no copy of the 4 MB source features each frame; outputs are copied out.
        return [torch.from_numpy(out) for out in self.request.infer(arrays, share_inputs=True).to_tuple()]


class OpenVinoNetworks(TorchNetworks):
    """Keypoints, dense motion and decoding compiled by OpenVINO for the CPU.

    Keypoints and motion run in float32 (bf16 moves keypoints by ~0.02 and breaks the motion);
    the decoder, 85% of the per-frame work, runs in `decoder_precision` ("bf16" or "f32").
    The source encoder stays in PyTorch (once per portrait). Needs a dense motion network.
    """

    def __init__(self, kp_detector: KPDetector, generator: OcclusionAwareGenerator, image: torch.Tensor,
                 decoder_precision: str) -> None:
        """`image`: an example input (1, C, S, S) that fixes the graphs' shapes."""
        ov = import_openvino()
        super().__init__(kp_detector, generator, torch.device("cpu"))
        core = ov.Core()
        threads = torch.get_num_threads()
        keypoints = KeypointGraph(kp_detector)
        motion = MotionGraph(generator, keypoints.keys)
        self.keys = keypoints.keys
        with torch.no_grad():
            kp = keypoints(image)
            features, source_small = self.encode(image)
            motion_out = motion(source_small, *kp, *kp)
        self.keypoint_graph = OpenVinoGraph(core, keypoints, (image,), "f32", threads)
        self.motion_graph = OpenVinoGraph(core, motion, (source_small, *kp, *kp), "f32", threads)
        self.decode_graph = OpenVinoGraph(core, DecodeGraph(generator), (features, *motion_out),
                                          decoder_precision, threads)

    def keypoints(self, image: torch.Tensor) -> KeypointDict:
        return dict(zip(self.keys, self.keypoint_graph(image)))

    def generate(self, features: torch.Tensor, source_small: torch.Tensor | None, kp_driving: KeypointDict,
                 kp_source: KeypointDict) -> torch.Tensor:
        motion = self.motion_graph(source_small, *(kp_driving[k] for k in self.keys),
                                   *(kp_source[k] for k in self.keys))
        return self.decode_graph(features, *motion)[0]
