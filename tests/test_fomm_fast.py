"""The fast FOMM paths (fused, bf16, OpenVINO) against the fp32 reference.

Accuracy target (issue 7): `prediction` within 0.01 mean abs and 0.1 max abs of fp32, on the
parity fixtures' inputs and on real face crops, with the fixtures' random weights; keypoints are
computed in float32 on every path, so they must agree closely. No speed is asserted here.
"""

from __future__ import annotations

import logging
import sys

import cv2
import numpy as np
import pytest
import torch

from livepresenter.fomm import Animator, load_fomm
from livepresenter.fomm import animator as animator_module
from livepresenter.fomm.animator import PRECISIONS, best_precision, supported_precisions
from livepresenter.fomm.blocks import UpBlock2d
from livepresenter.fomm.fused import UpsampleConvReLU, fused_networks
from tests.conftest import DRIVING, FIXTURES

PRED_MAX, PRED_MEAN = 0.1, 0.01
KP_ATOL = 1e-3  # float32 everywhere: only summation order differs (~1e-6)
EXACT_MAX = 2e-3  # float32 rewrites: the parity tests' image tolerance
FAST = [name for name in supported_precisions() if name != "fp32"]  # CUDA paths too where torch sees a GPU
CHECKPOINTS = ["dev-small", "dev-vox256-narrow"]


def to_uint8(image: torch.Tensor) -> np.ndarray:
    return (image.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)


def load(name: str):
    torch.set_num_threads(2)
    return load_fomm(FIXTURES / f"{name}-cpk.pth.tar", FIXTURES / f"{name}.yaml")


def fixture_crops(name: str) -> list[np.ndarray]:
    """Source, then the driving frames (frame 0 is the reference)."""
    io = torch.load(FIXTURES / f"{name}-io.pt", weights_only=True)
    return [to_uint8(io["source"][0]), *(to_uint8(frame) for frame in io["driving"])]


def clip_crops(count: int = 4) -> list[np.ndarray]:
    """A face crop from one real clip as the source, then frames of another as the driver."""
    crops = []
    for clip, frames in (("grid_bbaf2n_256.mp4", [30]), ("pexels_wolfganglanger_expressions_360.mp4",
                                                         [0, *range(40, 40 + 30 * (count - 1), 30)])):
        video = cv2.VideoCapture(str(DRIVING / clip))
        for index in frames:
            video.set(cv2.CAP_PROP_POS_FRAMES, index)
            ok, frame = video.read()
            assert ok, f"cannot decode frame {index} of {clip}"
            crops.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
        video.release()
    return crops


def run(animator: Animator, crops: list[np.ndarray]) -> tuple[list[dict], list[torch.Tensor]]:
    """Keypoints and predictions of every driving crop, relative to the first one."""
    animator.set_source(crops[0])
    animator.set_reference(crops[1])
    keypoints, predictions = [], []
    for crop in crops[1:]:
        kp = animator.keypoints(animator.to_tensor(crop))
        keypoints.append({key: value.float().cpu() for key, value in kp.items()})
        predictions.append(animator.generate(animator.normalized(kp)).float().cpu())
    return keypoints, predictions


@pytest.fixture(scope="module", params=CHECKPOINTS)
def outputs(request):
    """fp32 and every fast path on the fixture inputs and on real clips, for one checkpoint."""
    name = request.param
    model = load(name)
    inputs = {"fixture": fixture_crops(name), "clips": clip_crops()}
    results = {}
    for precision in ["fp32", *FAST]:
        animator = Animator(model, precision=precision)
        assert animator.precision.name == precision
        results[precision] = {source: run(animator, crops) for source, crops in inputs.items()}
    return name, results


@pytest.mark.parametrize("precision", FAST)
@pytest.mark.parametrize("source", ["fixture", "clips"])
def test_prediction_within_target_of_fp32(outputs, precision, source):
    name, results = outputs
    _, reference = results["fp32"][source]
    _, fast = results[precision][source]
    diff = torch.cat([(f - r).abs().flatten() for f, r in zip(fast, reference)])
    limit_max, limit_mean = (EXACT_MAX, 1e-4) if PRECISIONS[precision].dtype == torch.float32 else (PRED_MAX, PRED_MEAN)
    assert diff.max() <= limit_max and diff.mean() <= limit_mean, (
        f"{name} {source} {precision}: max {diff.max():.3g} mean {diff.mean():.3g}")


@pytest.mark.parametrize("precision", FAST)
def test_keypoints_agree_with_fp32(outputs, precision):
    _, results = outputs
    for source in ("fixture", "clips"):
        for fast, reference in zip(results[precision][source][0], results["fp32"][source][0]):
            for key in reference:
                assert torch.allclose(fast[key], reference[key], atol=KP_ATOL), f"{source} {key}"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")
def test_cuda_graph_replays_what_the_plain_cuda_path_computes():
    """animate() through one captured CUDA graph gives the frames the step-by-step call gives, also
    after the reference changes (the graph holds it as a constant and must be rebuilt)."""
    model = load("dev-vox256-narrow")
    crops = clip_crops(count=6)
    frames = {}
    for precision in ("cuda_fp16", "cuda_fp16_graphs"):
        animator = Animator(model, precision=precision)
        animator.set_source(crops[0])
        animator.set_reference(crops[1])
        out = [animator.animate(crop) for crop in crops[1:4]]
        animator.set_reference(crops[3])
        out += [animator.animate(crop) for crop in crops[3:]]
        frames[precision] = np.stack(out).astype(np.int16)
    # The same frame under the two references differs clearly, so a stale graph would show.
    assert np.abs(frames["cuda_fp16"][2] - frames["cuda_fp16"][3]).mean() > 1.0
    diff = np.abs(frames["cuda_fp16_graphs"] - frames["cuda_fp16"])  # cuDNN may pick other kernels
    assert diff.max() <= 3 and diff.mean() < 0.5, f"graph replay differs: max {diff.max()} mean {diff.mean():.3g}"


def test_transposed_conv_equals_upsample_then_conv():
    torch.manual_seed(0)
    block = UpBlock2d(6, 5).eval()
    block.norm.running_mean.uniform_(-1, 1)
    block.norm.running_var.uniform_(0.5, 2)
    x = torch.randn(2, 6, 9, 7)
    with torch.no_grad():
        expected = block(x)
        for transposed in (False, True):
            assert torch.allclose(UpsampleConvReLU(block, transposed)(x), expected, atol=1e-5)


def test_reduced_precision_keeps_motion_and_interfaces_fp32():
    model = load("dev-small")
    image = torch.rand(1, 3, model.image_size, model.image_size)
    kp_detector, generator = fused_networks(model.kp_detector, model.generator, image, torch.bfloat16)
    assert all(p.dtype == torch.float32 for p in kp_detector.parameters())
    assert all(p.dtype == torch.float32 for p in generator.dense_motion_network.parameters())
    assert all(p.dtype == torch.bfloat16 for p in generator.bottleneck.parameters())
    with torch.no_grad():
        features = generator.encode_source(image)
        kp = kp_detector(image)
        motion = generator.dense_motion_network(image, kp, kp)
        prediction = generator.decode(features, motion)["prediction"]
    assert features.dtype == prediction.dtype == torch.float32
    assert model.generator.bottleneck[0].conv1.weight.dtype == torch.float32  # the loaded model is untouched


def test_openvino_missing_falls_back_with_a_message(monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "openvino", None)  # makes `import openvino` raise ImportError
    with caplog.at_level(logging.WARNING, logger="livepresenter.fomm.animator"):
        animator = Animator(load("dev-small"), precision="openvino_bf16")
    assert animator.precision.name == "bf16_mixed"
    assert "openvino_bf16" in caplog.text and "pip install openvino" in caplog.text and "bf16_mixed" in caplog.text


@pytest.mark.parametrize(("bf16", "openvino", "expected"), [
    (True, True, "openvino_bf16"), (True, False, "bf16_mixed"),
    (False, True, "openvino_fp32"), (False, False, "fp32_channels_last"),
])
def test_best_precision_follows_cpu_features_and_runtimes(monkeypatch, bf16, openvino, expected):
    monkeypatch.setattr(animator_module, "cpu_has_bf16", lambda: bf16)
    monkeypatch.setattr(animator_module, "openvino_installed", lambda: openvino)
    assert best_precision("cpu") == expected
    assert best_precision("cuda:0") == "cuda_fp16_graphs"
    from livepresenter.engine.fomm_engine import auto_precision

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert auto_precision() == "cuda_fp16_graphs"  # a GPU torch can see wins without being asked for
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert auto_precision() == expected
    assert auto_precision("cpu") == expected
