"""Adapter-LowRank (Compacter §5.1): a bottleneck adapter whose down- and up-projection weights are
each "a product of two rank-one weights", W = u v^T.

Per adapter: down r·(d+m) + m, up r·(m+d) + d, i.e. 2·r·(d+m) + d + m (weights + biases).
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from adapters.bottleneck import BottleneckAdapter
from adapters.configs import LowRankConfig
from adapters.houlsby import bottleneck_size, insert_adapters
from adapters.layernorm import unfreeze_layer_norms


class LowRankLinear(nn.Module):
    """y = x (u v^T)^T + b with u: [out, r], v: [in, r]. ``zero=True`` starts u at zero (W = 0)
    while v stays random, so the gradient of u is non-zero from the first step."""

    def __init__(self, in_features: int, out_features: int, rank: int, zero: bool = False):
        super().__init__()
        # Each factor std sqrt(1e-2 / sqrt(r)) gives W entries std 1e-2, the dense adapter's init.
        std = math.sqrt(1e-2 / math.sqrt(rank))
        self.u = nn.Parameter(torch.zeros(out_features, rank) if zero
                              else torch.randn(out_features, rank) * std)
        self.v = nn.Parameter(torch.randn(in_features, rank) * std)
        self.bias = nn.Parameter(torch.zeros(out_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: [..., in] -> [..., out]
        return F.linear(x, self.u @ self.v.T, self.bias)


def lowrank_adapter(d: int, config: LowRankConfig) -> BottleneckAdapter:
    m = bottleneck_size(d, config.reduction_factor)
    return BottleneckAdapter(d, m, config.activation,
                             down=LowRankLinear(d, m, config.rank),
                             up=LowRankLinear(m, d, config.rank, zero=True))


def _apply(model, config: LowRankConfig) -> None:
    # Two adapters per layer like the Adapter baseline it reparametrises (Compacter §5.1).
    insert_adapters(model, config, ("attention_output", "ffn_output"),
                    make_adapter=lambda d: lowrank_adapter(d, config))
    if config.train_layer_norm:
        unfreeze_layer_norms(model)
