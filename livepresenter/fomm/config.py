"""FOMM configuration in the official YAML layout; variants are table entries, not subclasses.

Only `model_params` matters for inference: `common_params` (num_kp, num_channels,
estimate_jacobian), `kp_detector_params` and `generator_params` (with `dense_motion_params`).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

from livepresenter.errors import CheckpointError

VOX_256: dict = {
    "common_params": {"num_kp": 10, "num_channels": 3, "estimate_jacobian": True},
    "kp_detector_params": {
        "temperature": 0.1, "block_expansion": 32, "max_features": 1024, "scale_factor": 0.25, "num_blocks": 5,
    },
    "generator_params": {
        "block_expansion": 64, "max_features": 512, "num_down_blocks": 2, "num_bottleneck_blocks": 6,
        "estimate_occlusion_map": True,
        "dense_motion_params": {"block_expansion": 64, "max_features": 1024, "num_blocks": 5, "scale_factor": 0.25},
    },
}

# vox-adv-256's generator and keypoint detector are structurally identical to vox-256's.
VARIANTS: dict[str, dict] = {"vox-256": VOX_256, "vox-adv-256": VOX_256}

IMAGE_SIZE = 256  # input side of the vox models; the config does not record it


@dataclass(frozen=True)
class FommConfig:
    """What building the networks needs: official `model_params` and the input side."""

    model_params: dict
    image_size: int = IMAGE_SIZE


def load_config(config: str | Path | None = None) -> FommConfig:
    """Read an official-style YAML file, or a variant name from VARIANTS (None: vox-256).

    The input side comes from `dataset_params.frame_shape` when the YAML has it.
    """
    if config is None or str(config) in VARIANTS:
        return FommConfig(copy.deepcopy(VARIANTS[str(config or "vox-256")]))
    import yaml

    path = Path(config)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise CheckpointError(f"cannot read FOMM config {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise CheckpointError(f"FOMM config {path} is not valid YAML ({exc.__class__.__name__})") from None
    if not isinstance(data, dict) or not isinstance(data.get("model_params"), dict):
        raise CheckpointError(f"FOMM config {path} has no 'model_params' section: give an official-style YAML")
    params = data["model_params"]
    for section in ("common_params", "kp_detector_params", "generator_params"):
        if not isinstance(params.get(section), dict):
            raise CheckpointError(f"FOMM config {path}: model_params.{section} is missing")
    shape = (data.get("dataset_params") or {}).get("frame_shape")
    return FommConfig(params, int(shape[0]) if shape else IMAGE_SIZE)
