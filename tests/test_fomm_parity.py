"""Parity of livepresenter.fomm with the official implementation's golden outputs.

Every `<name>-io.pt` in tests/data/fomm with its `<name>.yaml` and `<name>-cpk.pth.tar` is checked; the
tests are parametrised by what each file holds (modes, intermediates), so nothing is assumed and nothing skips.
"""

from __future__ import annotations

from functools import cache

import pytest
import torch

from livepresenter.fomm import load_fomm, normalize_kp
from tests.conftest import FIXTURES

KP_ATOL = 1e-4
MAP_ATOL = 1e-4          # mask, occlusion_map, deformation
IMAGE_MAX, IMAGE_MEAN = 2e-3, 1e-4  # prediction, deformed, sparse_deformed
MODES = {
    "relative_adapt": {"adapt_movement_scale": True, "use_relative_movement": True, "use_relative_jacobian": True},
    "relative": {"adapt_movement_scale": False, "use_relative_movement": True, "use_relative_jacobian": True},
    "absolute": {},
}
IMAGE_KEYS = {"prediction", "deformed", "sparse_deformed"}

FIXTURE_NAMES = sorted(p.name.removesuffix("-io.pt") for p in FIXTURES.glob("*-io.pt"))
assert FIXTURE_NAMES, f"no FOMM parity fixtures in {FIXTURES}"


@cache
def golden(name: str) -> dict:
    return torch.load(FIXTURES / f"{name}-io.pt", weights_only=True)


@cache
def models(name: str) -> dict:
    torch.set_num_threads(2)
    return {ac: load_fomm(FIXTURES / f"{name}-cpk.pth.tar", FIXTURES / f"{name}.yaml", align_corners=ac)
            for ac in (False, True)}


def holding(key: str) -> list[str]:
    """The fixtures whose golden file has `key`."""
    return [name for name in FIXTURE_NAMES if key in golden(name)]


def with_modes(prefix: str) -> list[tuple[str, str]]:
    return [(name, mode) for mode in MODES for name in holding(f"{prefix}{mode}")]


def assert_close(actual: torch.Tensor, expected: torch.Tensor, key: str) -> None:
    diff = (actual.float() - expected.float()).abs()
    if key in IMAGE_KEYS:
        assert diff.max() <= IMAGE_MAX and diff.mean() <= IMAGE_MEAN, f"{key}: max {diff.max():.2e} mean {diff.mean():.2e}"
    else:
        tol = KP_ATOL if key in ("value", "jacobian") else MAP_ATOL
        assert diff.max() <= tol, f"{key}: max {diff.max():.2e}"


def frames(io: dict) -> range:
    return range(io["driving"].shape[0])


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_keypoints(name):
    io, detector = golden(name), models(name)[False].kp_detector
    with torch.no_grad():
        kp_source = detector(io["source"])
        for key in ("value", "jacobian"):
            assert_close(kp_source[key], io["kp_source"][key], key)
        for t in frames(io):
            kp = detector(io["driving"][t:t + 1])
            for key in ("value", "jacobian"):
                assert_close(kp[key], io["kp_driving"][key][t:t + 1], key)


@pytest.mark.parametrize("name", holding("debug_source"))
def test_keypoint_intermediates(name):
    io, detector = golden(name), models(name)[False].kp_detector
    with torch.no_grad():
        small = detector.down(io["source"])
        features = detector.predictor(small)
        assert_close(small, io["debug_source"]["kp_down_input"], "map")
        assert_close(detector.kp(features), io["debug_source"]["kp_logits"], "map")
        assert_close(detector.jacobian(features), io["debug_source"]["kp_jacobian_map"], "map")


@pytest.mark.parametrize(("name", "mode"), with_modes("kp_norm_"))
def test_normalize_kp(name, mode):
    io = golden(name)
    reference = {k: v[0:1] for k, v in io["kp_driving"].items()}
    for t in frames(io):
        driving = {k: v[t:t + 1] for k, v in io["kp_driving"].items()}
        out = normalize_kp(io["kp_source"], driving, reference, **MODES[mode])
        for key in ("value", "jacobian"):
            assert_close(out[key], io[f"kp_norm_{mode}"][key][t:t + 1], key)


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_adapt_movement_scale(name):
    io = golden(name)
    from livepresenter.fomm.keypoints import hull_area, movement_scale_of

    reference = {k: v[0:1] for k, v in io["kp_driving"].items()}
    assert hull_area(io["kp_source"]["value"]) == pytest.approx(float(io["convex_hull_area_source"]), rel=1e-5)
    assert movement_scale_of(io["kp_source"], reference) == pytest.approx(float(io["adapt_movement_scale"]), rel=1e-5)


@pytest.mark.parametrize(("name", "mode"), with_modes("generator_"))
def test_generator(name, mode):
    io = golden(name)
    expected = io[f"generator_{mode}"]
    generator = models(name)[False].generator
    with torch.no_grad():
        for t in frames(io):
            kp_driving = {k: v[t:t + 1] for k, v in io[f"kp_norm_{mode}"].items()}
            out = generator(io["source"], kp_source=io["kp_source"], kp_driving=kp_driving)
            out["deformation"] = generator.dense_motion_network(io["source"], kp_driving, io["kp_source"])["deformation"]
            for key, value in expected.items():
                assert_close(out[key], value[t:t + 1], key)


@pytest.mark.parametrize("name", holding("generator_relative_adapt_align_corners_true"))
def test_align_corners_true(name):
    io, pair = golden(name), models(name)
    expected = io["generator_relative_adapt_align_corners_true"]
    with torch.no_grad():
        for t in frames(io):
            kp_driving = {k: v[t:t + 1] for k, v in io["kp_norm_relative_adapt"].items()}
            out_true = pair[True].generator(io["source"], kp_source=io["kp_source"], kp_driving=kp_driving)
            out_false = pair[False].generator(io["source"], kp_source=io["kp_source"], kp_driving=kp_driving)
            assert_close(out_true["prediction"], expected["prediction"][t:t + 1], "prediction")
            # The convention matters: the default must not match the True fixture.
            assert (out_false["prediction"] - expected["prediction"][t:t + 1]).abs().max() > 10 * IMAGE_MAX
