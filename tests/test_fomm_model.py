"""FOMM networks: state-dict compatibility with the official vox-256 manifest, checkpoint errors,
and the animator's cached path against the plain generator."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from livepresenter.errors import CheckpointError
from livepresenter.fomm import Animator, load_fomm
from livepresenter.fomm.blocks import AntiAliasInterpolation2d
from livepresenter.fomm.checkpoint import build_models
from livepresenter.fomm.config import load_config
from tests.conftest import FIXTURES

DTYPES = {"float32": torch.float32, "int64": torch.int64}


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads((FIXTURES / "vox-256-manifest.json").read_text())


@pytest.mark.parametrize("variant", ["vox-256", "vox-adv-256"])
def test_state_dict_matches_manifest(manifest, variant):
    kp_detector, generator = build_models(load_config(variant))
    for name, module in (("kp_detector", kp_detector), ("generator", generator)):
        expected = manifest[variant][name]
        if expected == "identical to vox-256":
            expected = manifest["vox-256"][name]
        state = module.state_dict()
        assert list(state) == list(expected), f"{name}: key order or names differ"
        for key, tensor in state.items():
            assert list(tensor.shape) == expected[key]["shape"], key
            assert tensor.dtype == DTYPES[expected[key]["dtype"]], key
    assert sum(p.numel() for p in generator.parameters()) == manifest["param_counts"]["generator_total"]
    assert sum(p.numel() for p in kp_detector.parameters()) == manifest["param_counts"]["kp_detector_total"]


def test_antialias_kernel_matches_checkpoint(fomm_fixtures):
    state = torch.load(fomm_fixtures / "dev-small-cpk.pth.tar", weights_only=True)["kp_detector"]
    assert torch.allclose(AntiAliasInterpolation2d(3, 0.25).weight, state["down.weight"], atol=1e-7)


# -- checkpoint errors: one clear line naming the file ----------------------------------------------

@pytest.fixture
def small(fomm_fixtures):
    return fomm_fixtures / "dev-small-cpk.pth.tar", fomm_fixtures / "dev-small.yaml"


def error_of(*args, **kwargs) -> str:
    with pytest.raises(CheckpointError) as info:
        load_fomm(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_missing_file(tmp_path):
    message = error_of(tmp_path / "vox-cpk.pth.tar")
    assert "does not exist" in message and "vox-cpk.pth.tar" in message


def test_truncated_file(tmp_path, small):
    path = tmp_path / "cut.pth.tar"
    path.write_bytes(small[0].read_bytes()[:50_000])
    message = error_of(path, small[1])
    assert str(path) in message and "truncated" in message


def test_not_a_checkpoint(tmp_path):
    path = tmp_path / "notes.pth.tar"
    path.write_text("this is not a checkpoint\n")
    message = error_of(path)
    assert str(path) in message and "not a PyTorch file" in message


def test_random_bytes_are_not_called_python_objects(tmp_path):
    path = tmp_path / "noise.pth.tar"
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 100_000, dtype=np.uint8).tobytes())
    message = error_of(path)
    assert "not a PyTorch file" in message and "Python objects" not in message


def test_truncated_legacy_file(tmp_path, small):
    """A file in torch's pre-1.6 format cut short: corrupt, not 'holds Python objects'."""
    legacy = tmp_path / "legacy.pth.tar"
    torch.save(torch.load(small[0], weights_only=True), legacy, _use_new_zipfile_serialization=False)
    cut = tmp_path / "cut-legacy.pth.tar"
    cut.write_bytes(legacy.read_bytes()[:60_000])
    message = error_of(cut, small[1])
    assert "truncated" in message and "Python objects" not in message


def test_plain_pickle_is_refused_without_torch_warnings(tmp_path, recwarn):
    import pickle

    path = tmp_path / "raw.pth.tar"
    path.write_bytes(pickle.dumps({"generator": {"w": torch.zeros(2)}}, protocol=4))
    message = error_of(path)
    assert "plain pickle" in message and "refusing to unpickle" in message
    assert not [w for w in recwarn if "pickle protocol" in str(w.message)]


def test_arbitrary_objects_refused(tmp_path):
    path = tmp_path / "evil.pth.tar"
    # A whole pickled module (not a state dict): weights_only loading must refuse to build it.
    torch.save({"generator": torch.nn.Linear(2, 2)}, path)
    assert "refusing to unpickle" in error_of(path)


def test_missing_key(tmp_path, small):
    data = torch.load(small[0], weights_only=True)
    del data["kp_detector"]
    path = tmp_path / "nokp.pth.tar"
    torch.save(data, path)
    message = error_of(path, small[1])
    assert "'kp_detector'" in message and "generator" in message


def test_missing_tensor(tmp_path, small):
    data = torch.load(small[0], weights_only=True)
    del data["generator"]["final.weight"]
    path = tmp_path / "partial.pth.tar"
    torch.save(data, path)
    assert "generator.final.weight missing" in error_of(path, small[1])


def test_config_does_not_fit(small):
    message = error_of(small[0])  # dev-small weights against the built-in vox-256 config
    assert "does not fit config vox-256" in message and "in the file but" in message


def test_bad_yaml(tmp_path, small):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model_params: [unclosed\n")
    assert "not valid YAML" in error_of(small[0], bad)


def test_prefixed_and_legacy_checkpoint_loads(tmp_path, small):
    """DataParallel `module.` prefixes and BN without num_batches_tracked (pre-0.4.1) load."""
    data = torch.load(small[0], weights_only=True)
    data["generator"] = {f"module.{k}": v for k, v in data["generator"].items()}
    data["kp_detector"] = {k: v for k, v in data["kp_detector"].items() if not k.endswith("num_batches_tracked")}
    path = tmp_path / "legacy.pth.tar"
    torch.save(data, path, _use_new_zipfile_serialization=False)
    model = load_fomm(path, small[1])
    assert not model.generator.training and not model.kp_detector.training


# -- animator -------------------------------------------------------------------------------------

def test_animator_cached_path_matches_generator(small):
    torch.set_num_threads(2)
    io = torch.load(FIXTURES / "dev-small-io.pt", weights_only=True)
    model = load_fomm(*small)
    to_uint8 = lambda t: (t[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    animator = Animator(model)
    source = to_uint8(io["source"])
    animator.set_source(source)
    animator.set_reference(to_uint8(io["driving"][0:1]))
    for t in range(io["driving"].shape[0]):
        frame = to_uint8(io["driving"][t:t + 1])
        out = animator.animate(frame)
        assert out.shape == (64, 64, 3) and out.dtype == np.uint8
        with torch.no_grad():
            kp_source = model.kp_detector(animator.to_tensor(source))
            kp_driving = animator.normalized(model.kp_detector(animator.to_tensor(frame)))
            expected = model.generator(animator.to_tensor(source), kp_source=kp_source, kp_driving=kp_driving)
        cached = animator.generate(kp_driving)
        diff = (cached - expected["prediction"]).abs()
        assert diff.max() <= 2e-3 and diff.mean() <= 1e-4
        assert np.abs(out.astype(int) - Animator.to_image(expected["prediction"]).astype(int)).max() <= 1


def test_animator_resizes_any_crop(small):
    animator = Animator(load_fomm(*small))
    rng = np.random.default_rng(0)
    animator.set_source(rng.integers(0, 255, (300, 300, 3), dtype=np.uint8))
    assert animator.animate(rng.integers(0, 255, (128, 128, 3), dtype=np.uint8)).shape == (64, 64, 3)
    with pytest.raises(ValueError, match="uint8"):
        animator.animate(np.zeros((64, 64, 3), np.float32))
