"""The method registry: a plain dict filled by one ``register`` call per method (peft's style).

A method only injects modules and chooses trainable parameters; everything else (data, loss,
training, timing) belongs to ``pipeline/`` and is identical for every method.
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # torch is imported where models are built, not to read a spec
    import torch.nn as nn


@dataclass(frozen=True)
class Method:
    name: str
    config_cls: type  # a dataclass; its field defaults are the paper defaults
    # "module:function" of apply(model, config), which injects the method's modules and sets
    # requires_grad on its parameters; imported on first use (adapters/configs.py says why).
    apply_ref: str
    default_lrs: tuple[float, ...]  # used when a spec gives no LR list for this method
    description: str
    # Bump when the training behind an unchanged config changes (a default's meaning, a fix that
    # changes results): every trial_key of the method changes, so resumed sweeps re-run it.
    # Changed default *values* need no bump (pipeline/grid.py, pipeline/key_baseline.py).
    config_version: int = 1

    def apply(self, model: nn.Module, config) -> None:
        module, function = self.apply_ref.split(":")
        getattr(importlib.import_module(module), function)(model, config)


METHODS: dict[str, Method] = {}


def register(method: Method) -> Method:
    if method.name in METHODS:
        raise ValueError(f"method {method.name!r} registered twice")
    METHODS[method.name] = method
    return method


def get_method(name: str) -> Method:
    if name not in METHODS:
        raise KeyError(f"unknown method {name!r}; known methods: {', '.join(sorted(METHODS))}")
    return METHODS[name]


def make_config(name: str, overrides: dict[str, Any] | None = None):
    """The method's config with overrides; unknown keys fail naming the valid ones."""
    cls = get_method(name).config_cls
    overrides = dict(overrides or {})
    valid = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(overrides) - valid)
    if unknown:
        raise ValueError(
            f"unknown config key(s) {unknown} for method {name!r}; valid: {sorted(valid) or 'none'}"
        )
    return cls(**overrides)


def head_parameters(model: nn.Module) -> list[nn.Parameter]:
    """The task head: everything outside the base model plus the head parts declared in it."""
    from adapters.insertion import points_for

    base_ids = {id(p) for p in model.base_model.parameters()}
    params = [p for p in model.parameters() if id(p) not in base_ids]
    for path in points_for(model).head_in_base:
        module = getattr(model.base_model, path, None)
        if module is not None:
            params += list(module.parameters())
    return params


def apply_method(model: nn.Module, name: str, overrides: dict[str, Any] | None = None):
    """Freeze the model, let the method inject and unfreeze its parameters, unfreeze the head.

    Returns the resolved config (a dataclass instance)."""
    config = make_config(name, overrides)
    for p in model.parameters():
        p.requires_grad_(False)
    get_method(name).apply(model, config)
    for p in head_parameters(model):
        p.requires_grad_(True)
    if getattr(config, "train_output_layer", False):
        output = model.get_output_embeddings()
        if output is None:
            raise ValueError(f"train_output_layer: {type(model).__name__} has no output layer "
                             "(its classification head is always trained); it is for T5's LM "
                             "head under training.objective text2text")
        for p in output.parameters():
            p.requires_grad_(True)
    return config


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """(trainable, total) parameter counts."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return trainable, total


def trainable_state_dict(model: nn.Module) -> dict:
    """Only the trained weights (what a task needs to store besides the base model)."""
    return {n: p.detach().contiguous() for n, p in model.named_parameters() if p.requires_grad}
