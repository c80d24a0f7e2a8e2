"""Building the FOMM networks and loading official checkpoints into them.

Checkpoints are read with `torch.load(..., weights_only=True)` only: a file holding anything but
tensors and plain containers is refused, never unpickled. Every failure is one CheckpointError
line naming the file and what does not fit.
"""

from __future__ import annotations

import pickle
import re
import sys
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from livepresenter.errors import CheckpointError
from livepresenter.fomm.config import FommConfig, load_config
from livepresenter.fomm.generator import OcclusionAwareGenerator
from livepresenter.fomm.keypoint_detector import KPDetector

OBTAIN_HINT = ("get vox-cpk.pth.tar or vox-adv-cpk.pth.tar from the first-order-model project "
               "(see README, 'FOMM checkpoints')")


@dataclass
class FommModel:
    """The two inference networks (eval mode) and where they came from."""

    kp_detector: KPDetector
    generator: OcclusionAwareGenerator
    config: FommConfig
    checkpoint: Path | None = None

    @property
    def image_size(self) -> int:
        return self.config.image_size


def build_models(config: FommConfig, align_corners: bool = False) -> tuple[KPDetector, OcclusionAwareGenerator]:
    """Networks with fresh (random) weights, built exactly as the official demo builds them."""
    params = config.model_params
    common = params["common_params"]
    kp_detector = KPDetector(**params["kp_detector_params"], **common)
    generator = OcclusionAwareGenerator(**params["generator_params"], **common, align_corners=align_corners)
    return kp_detector, generator


def checkpoint_filter_fn(state_dict: dict[str, torch.Tensor], model: nn.Module) -> OrderedDict:
    """Map a foreign state dict onto `model`'s names.

    Strips DataParallel `module.` prefixes and fills in BatchNorm `num_batches_tracked`
    counters, which checkpoints from before torch 0.4.1 lack (they do not affect inference).
    """
    own = model.state_dict()
    out = OrderedDict((key.removeprefix("module."), value) for key, value in state_dict.items())
    for key, value in own.items():
        if key.endswith("num_batches_tracked") and key not in out:
            out[key] = torch.zeros_like(value)
    return out


_ZIP_MAGIC = b"PK\x03\x04"  # torch.save since 1.6
_LEGACY_MAGIC = b"\x80\x02\x8a\x0a"  # torch.save before 1.6: a protocol-2 pickle of its magic number (a long)


def read_checkpoint(path: Path) -> dict:
    """The checkpoint's dict, or one CheckpointError line that says what the file is instead."""
    if not path.is_file():
        raise CheckpointError(f"FOMM checkpoint {path} does not exist: {OBTAIN_HINT}")
    with path.open("rb") as handle:
        head = handle.read(4)
    if head != _ZIP_MAGIC and head != _LEGACY_MAGIC:
        kind = "a plain pickle, not a torch.save file; refusing to unpickle it" if head[:1] == b"\x80" else \
            "not a PyTorch file"
        raise CheckpointError(f"FOMM checkpoint {path} is {kind}: {OBTAIN_HINT}")
    try:
        with warnings.catch_warnings():  # torch's own notes on pickle protocols: the project speaks for itself
            warnings.simplefilter("ignore")
            data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        refused = re.search(r"Unsupported global: GLOBAL (\S+)", str(exc))
        if refused and not _cut_off_torch_name(refused.group(1)):
            raise CheckpointError(f"FOMM checkpoint {path} holds Python objects besides tensors; refusing to "
                                  "unpickle it (only plain weight files are loaded)") from None
        raise CheckpointError(f"FOMM checkpoint {path} is corrupt or truncated: download it again") from None
    except Exception as exc:  # noqa: BLE001 - torch.load raises many types on garbage input
        reason = str(exc).splitlines()[0].split(". ")[0] if str(exc) else exc.__class__.__name__
        raise CheckpointError(f"FOMM checkpoint {path} is truncated or not a PyTorch file ({reason}): "
                              "download it again") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"FOMM checkpoint {path} is not a checkpoint dict (found {type(data).__name__})")
    return data


def _cut_off_torch_name(name: str) -> bool:
    """Whether a global the unpickler refused is a torch name cut short by the end of a truncated file (then the
    file is damaged, not malicious). Looked up among loaded modules only: nothing named in the file is imported."""
    module, _, attribute = name.rpartition(".")
    return module.split(".")[0] == "torch" and module in sys.modules and not hasattr(sys.modules[module], attribute)


def load_weights(module: nn.Module, name: str, data: dict, path: Path, config_label: str) -> None:
    """Load `data[name]` (a state dict of the checkpoint at `path`) into `module`, strictly; every mismatch is one
    CheckpointError line naming the first tensors that do not fit `config_label`."""
    state = data.get(name)
    if not isinstance(state, dict):
        found = ", ".join(sorted(map(str, data))) or "nothing"
        raise CheckpointError(f"FOMM checkpoint {path} has no '{name}' weights (found: {found}); {OBTAIN_HINT}")
    state = checkpoint_filter_fn(state, module)
    own = module.state_dict()
    problems = [f"{name}.{k} is {tuple(v.shape)} in the file but {tuple(own[k].shape)} in the model"
                for k, v in state.items() if k in own and tuple(v.shape) != tuple(own[k].shape)]
    problems += [f"{name}.{k} missing" for k in own if k not in state]
    problems += [f"{name}.{k} unexpected" for k in state if k not in own]
    if problems:
        more = f" (+{len(problems) - 2} more)" if len(problems) > 2 else ""
        raise CheckpointError(f"FOMM checkpoint {path} does not fit config {config_label}: "
                              f"{'; '.join(problems[:2])}{more}; give the YAML the weights were trained with")
    module.load_state_dict(state, strict=True)


def load_fomm(checkpoint: str | Path, config: str | Path | None = None, device: str | torch.device = "cpu",
              align_corners: bool = False) -> FommModel:
    """Load an official FOMM checkpoint into fresh networks, in eval mode on `device`.

    `config` is an official-style YAML path, a variant name, or None for vox-256.
    `align_corners` picks the grid_sample convention (False: parity with the official code today;
    True: the torch-1.0 behaviour the published weights were trained with).
    """
    path = Path(checkpoint)
    cfg = load_config(config)
    kp_detector, generator = build_models(cfg, align_corners=align_corners)
    data = read_checkpoint(path)
    config_label = str(config or "vox-256")
    load_weights(kp_detector, "kp_detector", data, path, config_label)
    load_weights(generator, "generator", data, path, config_label)
    return FommModel(kp_detector.to(device).eval(), generator.to(device).eval(), cfg, path)
