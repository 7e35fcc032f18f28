"""Save and load only what a method trained (plus the task head), with the method's config.

One safetensors file; its metadata holds the method name and its config as JSON, so a file is
self-describing: ``load_trainable(fresh_model, path)`` re-applies the method to a freshly loaded
base model and fills in the trained tensors. The base weights are not stored (they come from the
base model), nor is anything a method derives from its config (Intrinsic-SAID's projections are
regenerated from their seed).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import torch.nn as nn
from safetensors.torch import load_file, safe_open, save_file

from adapters.registry import apply_method, trainable_state_dict

FORMAT = "adapterbench-trainable/1"


def save_trainable(model: nn.Module, path: str | Path, method: str, config) -> None:
    """Write the trainable tensors of ``model`` and ``method``'s ``config`` to ``path``."""
    metadata = {
        "format": FORMAT,
        "method": method,
        "config": json.dumps(dataclasses.asdict(config), sort_keys=True),
    }
    tensors = {name: t.cpu() for name, t in trainable_state_dict(model).items()}
    save_file(tensors, str(path), metadata=metadata)


def read_metadata(path: str | Path) -> tuple[str, dict]:
    """(method name, config overrides) stored in a file written by :func:`save_trainable`."""
    with safe_open(str(path), framework="pt") as f:
        metadata = f.metadata() or {}
    if metadata.get("format") != FORMAT:
        raise ValueError(f"{path}: not an adapterbench trainable-weights file")
    return metadata["method"], json.loads(metadata["config"])


def load_trainable(model: nn.Module, path: str | Path):
    """Apply the stored method to a fresh base ``model`` and load its trained tensors.

    Fails if the file and the model's trainable parameters do not match one to one.
    Returns the method's config."""
    method, overrides = read_metadata(path)
    config = apply_method(model, method, overrides)
    tensors = load_file(str(path), device=str(next(model.parameters()).device))
    expected = set(trainable_state_dict(model))
    if set(tensors) != expected:
        missing, extra = sorted(expected - set(tensors)), sorted(set(tensors) - expected)
        raise ValueError(f"{path}: trainable tensors differ (missing {missing}, unexpected {extra})")
    model.load_state_dict(tensors, strict=False)
    return config
