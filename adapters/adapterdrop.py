"""AdapterDrop (Rücklé et al., 2021, §3): no adapters in the lower layers.

- specialized: no adapters in the first n layers of each stack, n fixed (``drop_first_n``);
- robust (``robust: true``): adapters in every layer, and for each training batch n is drawn
  uniformly from 0..L−1 ("Drawing the integer n randomly from [0, 11] for each training batch").

``set_dropped_layers(model, n)`` evaluates the same trained model with adapters off in the first n
layers of each stack (AdapterDrop Fig. 2 / Table 8); evaluation uses all layers unless told
otherwise. It works on any model whose adapters sit in ``AdaptedLinear`` (Houlsby, Pfeiffer,
Compacter, fusion, ...), since a disabled ``AdaptedLinear`` is just its frozen Linear.
A disabled adapter costs nothing, and autograd stops below the lowest enabled one: the training
speed-up of AdapterDrop comes for free.
"""

from __future__ import annotations


import torch
import torch.nn as nn

from adapters.bottleneck import AdaptedLinear
from adapters.configs import ADAPTERDROP_POSITIONS, AdapterDropConfig
from adapters.houlsby import insert_adapters
from adapters.insertion import blocks, replace_submodule


def stack_blocks(model) -> list[list[nn.Module]]:
    """Blocks grouped by stack (BERT: [encoder]; T5: [encoder, decoder]), bottom to top."""
    stacks: dict[str, list[nn.Module]] = {}
    for stack, block in blocks(model):
        stacks.setdefault(stack.path, []).append(block)
    return list(stacks.values())


def adapted_linears(block: nn.Module) -> list[tuple[str, AdaptedLinear]]:
    return [(name, m) for name, m in block.named_modules() if isinstance(m, AdaptedLinear)]


def remove_adapters_below(model, n: int) -> None:
    """Put the frozen Linear back (drop the adapter and its parameters) in the first n layers of
    each stack: specialized AdapterDrop trains no adapters there."""
    for stack in stack_blocks(model):
        if n >= len(stack):
            raise ValueError(f"drop_first_n={n} leaves no adapter in a stack of "
                             f"{len(stack)} layers")
        for block in stack[:n]:
            for path, adapted in adapted_linears(block):
                replace_submodule(block, path, adapted.base)


class LayerDrop:
    """Chooses, before every forward of the model, in how many lower layers adapters are off:
    a fresh draw from 0..L−1 per training batch when robust, else none in training; ``eval_n``
    (0 unless ``set_dropped_layers`` says otherwise) in eval mode."""

    def __init__(self, model, robust: bool):
        # per stack, per layer: the AdaptedLinears in it
        self.stacks = [[[m for _, m in adapted_linears(b)] for b in s] for s in stack_blocks(model)]
        self.depth = min(len(s) for s in self.stacks)  # L (T5: encoder and decoder both 12)
        self.robust = robust
        self.eval_n = 0
        self.last_n = 0  # what the last forward used (for tests and logging)
        self.handle = model.register_forward_pre_hook(self)

    def apply(self, n: int) -> None:
        for stack in self.stacks:
            for i, layer in enumerate(stack):
                for adapted in layer:
                    adapted.enabled = i >= n
        self.last_n = n

    def __call__(self, model, args) -> None:
        if model.training:
            self.apply(int(torch.randint(self.depth, ())) if self.robust else 0)
        else:
            self.apply(self.eval_n)


def layer_drop(model) -> LayerDrop:
    """The model's LayerDrop, attached (not robust) on first use."""
    if getattr(model, "adapter_layer_drop", None) is None:
        model.adapter_layer_drop = LayerDrop(model, robust=False)
    return model.adapter_layer_drop


def set_dropped_layers(model, n: int) -> None:
    """Evaluate with adapters off in the first n layers of each stack (0 = all layers)."""
    drop = layer_drop(model)
    if not 0 <= n <= drop.depth:
        raise ValueError(f"n must be in 0..{drop.depth}")
    drop.eval_n = n
    drop.apply(n)


def _apply(model, config: AdapterDropConfig) -> None:
    insert_adapters(model, config, ADAPTERDROP_POSITIONS[config.architecture])
    if config.drop_first_n:
        remove_adapters_below(model, config.drop_first_n)
    model.adapter_layer_drop = LayerDrop(model, robust=config.robust)
