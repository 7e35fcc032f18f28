"""The bottleneck adapter of Houlsby et al. (2019) and the Linear wrapper that inserts it.

adapter(h) = h + W_up · act(W_down · h + b_down) + b_up, with d = hidden size, m = d // reduction.
Parameters per adapter: 2·d·m + d + m (Compacter §4 counts the weights 2·d·m; we keep the biases).
W_up starts at zero, so an inserted adapter is the identity at init (Houlsby §3.1 uses a
near-identity init; exact zero makes "outputs unchanged" testable bit for bit).
"""

from __future__ import annotations

import torch
import torch.nn as nn


class BottleneckAdapter(nn.Module):
    def __init__(self, hidden_size: int, bottleneck: int, activation: str = "relu"):
        super().__init__()
        self.down = nn.Linear(hidden_size, bottleneck)
        self.up = nn.Linear(bottleneck, hidden_size)
        self.act = {"relu": nn.ReLU(), "gelu": nn.GELU(), "swish": nn.SiLU()}[activation]
        nn.init.normal_(self.down.weight, std=1e-2)
        nn.init.zeros_(self.down.bias)
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)

    def forward(self, h: torch.Tensor) -> torch.Tensor:  # h: [batch, seq, d]
        return h + self.up(self.act(self.down(h)))


class AdaptedLinear(nn.Module):
    """A frozen Linear followed by an adapter: y = adapter(base(x))."""

    def __init__(self, base: nn.Linear, adapter: nn.Module):
        super().__init__()
        self.base = base
        self.adapter = adapter

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.adapter(self.base(x))


def adapter_params(hidden_size: int, bottleneck: int) -> int:
    """Closed form of one adapter's parameter count (weights + biases)."""
    return 2 * hidden_size * bottleneck + hidden_size + bottleneck
