"""What training reads from an official-style YAML besides the networks: `train_params` and the discriminator.

`livepresenter.fomm.config` keeps only `model_params` (inference needs no more); training also needs the losses'
weights, the optimiser's settings and the epoch length, which default to the official vox-256 values below. Naming a
variant (`vox-adv-256`) or passing `--adv` trains the adversarial variant's discriminator with its GAN terms.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

from livepresenter.errors import CheckpointError
from livepresenter.fomm.config import VARIANTS, FommConfig, load_config

__all__ = ["TrainConfig", "read_train_config"]

VOX_TRAIN_PARAMS: dict = {
    "num_epochs": 100,
    "num_repeats": 75,
    "epoch_milestones": [60, 90],
    "lr_generator": 2.0e-4,
    "lr_discriminator": 2.0e-4,
    "lr_kp_detector": 2.0e-4,
    "batch_size": 40,
    "scales": [1, 0.5, 0.25, 0.125],
    "transform_params": {"sigma_affine": 0.05, "sigma_tps": 0.005, "points_tps": 5},
    "loss_weights": {
        "generator_gan": 0,
        "discriminator_gan": 1,
        "feature_matching": [10, 10, 10, 10],
        "perceptual": [10, 10, 10, 10, 10],
        "equivariance_value": 10,
        "equivariance_jacobian": 10,
    },
}
VOX_DISCRIMINATOR: dict = {"scales": [1], "block_expansion": 32, "max_features": 512, "num_blocks": 4, "sn": True}
"""vox-256's discriminator (spectral norm, the image alone). vox-256 does not train it, but its checkpoints hold it
and its optimiser, and first-order-model's train.py needs both to resume from a file: so every checkpoint has them."""
ADV_DISCRIMINATOR: dict = {"scales": [1], "block_expansion": 32, "max_features": 512, "num_blocks": 4,
                           "use_kp": True}
"""vox-adv-256's discriminator (no spectral norm, the keypoints' Gaussians as extra input channels): used with
--adv when the YAML names none."""


@dataclass(frozen=True)
class TrainConfig:
    """The networks' config, the training parameters (official names) and the discriminator's; `adversarial`: the
    discriminator is trained and the GAN terms count (generator_gan > 0)."""

    model: FommConfig
    train_params: dict
    discriminator_params: dict
    label: str

    @property
    def adversarial(self) -> bool:
        return bool(self.train_params["loss_weights"]["generator_gan"])


def read_train_config(config: str | Path | None, adv: bool = False) -> TrainConfig:
    """The YAML (or variant name, None: vox-256) with the official defaults filled in; `adv` forces the GAN on."""
    model = load_config(config)
    label = str(config or "vox-256")
    if config is None or str(config) in VARIANTS:
        data: dict = {}
        adv = adv or label == "vox-adv-256"
    else:
        import yaml

        data = yaml.safe_load(Path(config).read_text())  # load_config has just read and checked it
    train = _merged(VOX_TRAIN_PARAMS, data.get("train_params") or {})
    weights = train["loss_weights"]
    if adv:
        weights["generator_gan"] = weights.get("generator_gan") or 1
    given = data.get("model_params", {}).get("discriminator_params")
    discriminator = copy.deepcopy(given if isinstance(given, dict) else
                                  ADV_DISCRIMINATOR if weights["generator_gan"] else VOX_DISCRIMINATOR)
    _check(train, label)
    return TrainConfig(model, train, discriminator, label)


def _merged(defaults: dict, given: dict) -> dict:
    out = copy.deepcopy(defaults)
    for key, value in given.items():
        out[key] = _merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _check(train: dict, label: str) -> None:
    """One line for a train_params value training cannot use."""
    weights = train["loss_weights"]
    problems = []
    if not isinstance(weights.get("perceptual"), list) or not weights["perceptual"]:
        problems.append("loss_weights.perceptual must be a list of 5 weights (relu1_1 ... relu5_1)")
    elif len(weights["perceptual"]) != 5:
        problems.append(f"loss_weights.perceptual has {len(weights['perceptual'])} weights, VGG19 has 5 taps")
    if not isinstance(train.get("scales"), list) or not all(0 < s <= 1 for s in train["scales"]):
        problems.append("scales must be a list of pyramid scales in (0, 1]")
    for key in ("num_epochs", "num_repeats", "batch_size"):
        if not isinstance(train.get(key), int) or train[key] < 1:
            problems.append(f"{key} must be a positive whole number")
    if problems:
        raise CheckpointError(f"FOMM config {label}: train_params.{problems[0]}")
