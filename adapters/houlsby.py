"""Houlsby adapters (Houlsby et al., 2019): a bottleneck adapter after the attention output
projection and after the FFN output projection of every layer (AdapterDrop Fig. 1, left)."""

from __future__ import annotations

from typing import Callable

import torch.nn as nn

from adapters.bottleneck import AdaptedLinear, BottleneckAdapter
from adapters.configs import BottleneckConfig
from adapters.insertion import blocks, replace_submodule


def bottleneck_size(hidden_size: int, reduction_factor: int) -> int:
    return max(1, hidden_size // reduction_factor)


def insert_adapters(model, config, positions: tuple[str, ...],
                    make_adapter: Callable[[int], nn.Module] | None = None) -> list[nn.Module]:
    """Wrap the Linear at each named position ("attention_output", "ffn_output") of every block
    with an adapter from ``make_adapter(hidden_size)`` (default: a bottleneck adapter sized by
    ``config.reduction_factor``). Returns the inserted adapters, bottom to top."""
    d = model.config.hidden_size if hasattr(model.config, "hidden_size") else model.config.d_model
    if make_adapter is None:
        def make_adapter(d):
            return BottleneckAdapter(d, bottleneck_size(d, config.reduction_factor),
                                     config.activation)
    inserted = []
    for stack, block in blocks(model):
        for position in positions:
            path = getattr(stack, position)
            linear = block.get_submodule(path)
            adapter = make_adapter(d).to(linear.weight.device)
            replace_submodule(block, path, AdaptedLinear(linear, adapter))
            inserted.append(adapter)
        if getattr(config, "train_layer_norm", False):
            for name, module in block.named_modules():
                if "norm" in type(module).__name__.lower():
                    for p in module.parameters():
                        p.requires_grad_(True)
    return inserted


def _apply(model, config: BottleneckConfig) -> None:
    insert_adapters(model, config, ("attention_output", "ffn_output"))
