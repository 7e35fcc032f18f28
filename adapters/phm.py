"""PHM-Adapter (Compacter §3.1, §5.2): a bottleneck adapter whose projection weights are
parameterized hypercomplex multiplication (PHM) layers, W = Σ_{i=1..n} A_i ⊗ B_i (eq. 4), with
A_i: [n, n] and B_i: [out/n, in/n]. Each PHM layer owns its A_i here; Compacter (compacter.py)
shares them and factorizes B_i.

Per adapter (Compacter §4): 2·(n³ + d·m/n) weights, plus biases d + m.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from adapters.bottleneck import BottleneckAdapter
from adapters.configs import PHMConfig
from adapters.houlsby import bottleneck_size, insert_adapters
from adapters.layernorm import unfreeze_layer_norms


def check_divisible(d: int, m: int, n: int) -> None:
    if d % n or m % n:
        raise ValueError(f"phm_dim n={n} must divide the hidden size {d} and the bottleneck size "
                         f"{m} (d // reduction_factor); choose another phm_dim or reduction_factor")


class PHMLinear(nn.Module):
    """y = x W^T + b, W = Σ_i A_i ⊗ B_i: [out, in].

    ``rule``: a shared A parameter [n, n, n] (Compacter) or None for an own one (PHM-Adapter).
    ``rank``: None for full B_i [out/n, in/n]; r for B_i = s_i t_i^T with s_i: [out/n, r] and
    t_i: [r, in/n]
    (Compacter eq. 5). ``zero=True`` makes W = 0 at init (B, or s, zero; the other factor random so
    its gradient is non-zero from the first step), keeping the adapter the identity at init."""

    def __init__(self, in_features: int, out_features: int, n: int,
                 rule: nn.Parameter | None = None, rank: int | None = None, zero: bool = False):
        super().__init__()
        p, q = out_features // n, in_features // n
        # A entries std 1/sqrt(n), B entries std 1e-2: W entries std 1e-2 (var W = n·var A·var B),
        # the dense adapter's down-projection init.
        self.rule = rule if rule is not None else nn.Parameter(torch.randn(n, n, n) / math.sqrt(n))
        self.rank = rank
        if rank is None:
            self.B = nn.Parameter(torch.zeros(n, p, q) if zero else torch.randn(n, p, q) * 1e-2)
        else:
            std = math.sqrt(1e-2 / math.sqrt(rank))  # s t^T entries std 1e-2
            s = torch.zeros(n, p, rank) if zero else torch.randn(n, p, rank) * std
            self.s = nn.Parameter(s)
            self.t = nn.Parameter(torch.randn(n, rank, q) * std)
        self.bias = nn.Parameter(torch.zeros(out_features))
        self.shape = (out_features, in_features)

    def weight(self) -> torch.Tensor:
        B = self.B if self.rank is None else self.s @ self.t  # [n, p, q]
        # (A_i ⊗ B_i)[a·p + c, b·q + e] = A_i[a, b]·B_i[c, e]: sum over i, lay out as [a, c, b, e]
        return torch.einsum("iab,ice->acbe", self.rule, B).reshape(self.shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: [..., in] -> [..., out]
        # W is tiny (d × m); building it per call is cheaper than a Kronecker-structured matmul.
        return F.linear(x, self.weight(), self.bias)


def phm_adapter(d: int, config: PHMConfig) -> BottleneckAdapter:
    m = bottleneck_size(d, config.reduction_factor)
    check_divisible(d, m, config.phm_dim)
    return BottleneckAdapter(d, m, config.activation,
                             down=PHMLinear(d, m, config.phm_dim),
                             up=PHMLinear(m, d, config.phm_dim, zero=True))


def _apply(model, config: PHMConfig) -> None:
    # Two adapters per layer: Compacter §4 counts PHM-Adapter as 4·L·(k·d/n + n³).
    insert_adapters(model, config, ("attention_output", "ffn_output"),
                    make_adapter=lambda d: phm_adapter(d, config))
    if config.train_layer_norm:
        unfreeze_layer_norms(model)
