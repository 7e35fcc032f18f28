"""Compacter and Compacter++ (Compacter §3.2): PHM adapters whose slow weights A_i are shared by
every adapter layer of the model ("we share the A_i across all layers and positions"), and whose
fast weights B_i = s_i t_i^T are rank r (eq. 5; r = 1 in the paper). Compacter++ keeps only the
adapter after the FFN (§5.2).

Trainable (Compacter §4, plus the biases it keeps): n³ once, and per adapter 2·r·(d + m) + d + m.
With two adapters in each of L layers and r = 1: n³ + 4·L·(d + m) weights (the paper's formula).
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from adapters.bottleneck import BottleneckAdapter
from adapters.configs import CompacterConfig
from adapters.houlsby import bottleneck_size, insert_adapters
from adapters.layernorm import unfreeze_layer_norms
from adapters.phm import PHMLinear, check_divisible


def insert_compacter(model, config: CompacterConfig, positions: tuple[str, ...]) -> nn.Parameter:
    """Insert LPHM adapters at ``positions``; returns the shared slow weights A: [n, n, n]."""
    n = config.phm_dim
    device = next(model.parameters()).device
    # One parameter object registered in every PHMLinear: model.parameters() counts it once and
    # one optimizer update moves it for all layers.
    shared = nn.Parameter(torch.randn(n, n, n, device=device) / math.sqrt(n))

    def make_adapter(d: int) -> BottleneckAdapter:
        m = bottleneck_size(d, config.reduction_factor)
        check_divisible(d, m, n)
        return BottleneckAdapter(d, m, config.activation,
                                 down=PHMLinear(d, m, n, rule=shared, rank=config.rank),
                                 up=PHMLinear(m, d, n, rule=shared, rank=config.rank, zero=True))

    insert_adapters(model, config, positions, make_adapter=make_adapter)
    if config.train_layer_norm:
        unfreeze_layer_norms(model)
    return shared


def _apply_compacter(model, config: CompacterConfig) -> None:
    insert_compacter(model, config, ("attention_output", "ffn_output"))


def _apply_compacterpp(model, config: CompacterConfig) -> None:
    # Compacter++: only after the feed-forward layer (Compacter §5.2).
    insert_compacter(model, config, ("ffn_output",))
