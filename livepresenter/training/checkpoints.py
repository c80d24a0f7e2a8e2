"""Training checkpoints in the official layout, written so that an interruption never costs the last good one.

The file holds what first-order-model's `Logger.save_cpk` writes — `generator`, `kp_detector`, `discriminator`,
`optimizer_generator`, `optimizer_kp_detector`, `optimizer_discriminator` and `epoch` (the discriminator and its
optimiser even when it is not trained, as in vox-256's files: the official train.py needs them to resume) — so
`load_fomm` and the official code read it, plus two keys of ours that both ignore: `step` (steps done) and
`losses` (the per-step loss terms, for the curve). Only tensors, numbers and plain containers go in,
so it loads with `torch.load(..., weights_only=True)`.

A checkpoint is written to a hidden file beside the target and renamed over it when complete: Ctrl-C, a crash or a
full disk during the write leaves the previous checkpoint as it was.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import torch
from torch import nn

from livepresenter.errors import CheckpointError, OutputError
from livepresenter.fomm.checkpoint import load_weights
from livepresenter.outputs import oserror_reason

__all__ = ["restore", "save_atomically", "state_dict_cpu", "training_checkpoint"]


def state_dict_cpu(module: nn.Module | torch.optim.Optimizer) -> dict:
    """The state dict with every tensor copied to the CPU (a GPU checkpoint then loads anywhere)."""
    def to_cpu(value: object) -> object:
        if isinstance(value, torch.Tensor):
            return value.detach().to("cpu", copy=True)
        if isinstance(value, dict):
            return type(value)((k, to_cpu(v)) for k, v in value.items())
        if isinstance(value, list | tuple):
            return type(value)(to_cpu(v) for v in value)
        return value

    return to_cpu(module.state_dict())


def training_checkpoint(modules: dict[str, nn.Module], optimizers: dict[str, torch.optim.Optimizer], *,
                        epoch: int, step: int, losses: dict[str, list[float]]) -> dict:
    """The dict to save: modules and optimizers by their official names, then epoch, step and the loss history."""
    data: dict[str, object] = {name: state_dict_cpu(module) for name, module in modules.items()}
    data.update({f"optimizer_{name}": state_dict_cpu(opt) for name, opt in optimizers.items()})
    data["epoch"] = epoch
    data["step"] = step
    data["losses"] = {name: torch.tensor(values, dtype=torch.float32) for name, values in losses.items()}
    return data


def save_atomically(data: dict, path: Path) -> None:
    """torch.save to a hidden file beside `path`, flushed to disk, then renamed over `path`."""
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")
    try:
        with partial.open("wb") as handle:
            torch.save(data, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    except OSError as exc:
        raise OutputError(f"cannot write checkpoint {path}: {oserror_reason(exc, path)}") from None
    finally:
        partial.unlink(missing_ok=True)


def restore(modules: dict[str, nn.Module], optimizers: dict[str, torch.optim.Optimizer], data: dict,
            path: Path, config_label: str) -> tuple[int, int, dict[str, list[float]]]:
    """Load a checkpoint written by `training_checkpoint` into the modules and optimizers; the epoch and step it was
    saved at, and its loss history. Anything that does not fit is one CheckpointError line."""
    step = data.get("step")
    if not isinstance(step, int):
        raise CheckpointError(f"{path} was not written by `livepresenter train` (no step count): --resume continues "
                              "only its own checkpoints; give it as --init to fine-tune from it")
    for name, module in modules.items():
        if name == "discriminator":
            if not isinstance(data.get(name), dict):
                raise CheckpointError(f"{path} has no discriminator: resume with the options it was trained with")
            try:
                module.load_state_dict(data[name])
            except RuntimeError:
                raise CheckpointError(f"{path}: its discriminator does not fit the config's discriminator_params; "
                                      "resume with the --config it was trained with") from None
        else:
            load_weights(module, name, data, path, config_label)
    for name, optimizer in optimizers.items():
        key = f"optimizer_{name}"
        if not isinstance(data.get(key), dict):
            raise CheckpointError(f"{path} has no {key}: resume with the options it was trained with")
        try:
            optimizer.load_state_dict(data[key])
        except (ValueError, KeyError):
            raise CheckpointError(f"{path}: {key} does not fit these networks; resume with the options it was "
                                  "trained with") from None
    losses = data.get("losses") if isinstance(data.get("losses"), dict) else {}
    epoch = data.get("epoch") if isinstance(data.get("epoch"), int) else 0
    return epoch, step, {name: [float(v) for v in values] for name, values in losses.items()}
