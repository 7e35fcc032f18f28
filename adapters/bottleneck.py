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
    """``down``/``up`` replace the two dense projections (Adapter-LowRank, PHM, Compacter keep this
    bottleneck and residual and only reparametrise its weights); they must map d -> m and m -> d,
    and ``up`` should start at zero to keep the identity at init."""

    def __init__(self, hidden_size: int, bottleneck: int, activation: str = "relu",
                 down: nn.Module | None = None, up: nn.Module | None = None):
        super().__init__()
        if down is None:
            down = nn.Linear(hidden_size, bottleneck)
            nn.init.normal_(down.weight, std=1e-2)
            nn.init.zeros_(down.bias)
        if up is None:
            up = nn.Linear(bottleneck, hidden_size)
            nn.init.zeros_(up.weight)
            nn.init.zeros_(up.bias)
        self.down = down
        self.up = up
        self.act = {"relu": nn.ReLU(), "gelu": nn.GELU(), "swish": nn.SiLU()}[activation]

    def forward(self, h: torch.Tensor) -> torch.Tensor:  # h: [batch, seq, d]
        return h + self.up(self.act(self.down(h)))


class AdaptedLinear(nn.Module):
    """A frozen Linear followed by an adapter: y = adapter(base(x)).

    ``enabled = False`` skips the adapter (AdapterDrop: no adapter compute in that layer, and no
    backward below the lowest enabled adapter)."""

    def __init__(self, base: nn.Linear, adapter: nn.Module):
        super().__init__()
        self.base = base
        self.adapter = adapter
        self.enabled = True

    # Model code reads the Linear's weight (T5's FFN checks ``wo.weight.dtype``).
    @property
    def weight(self) -> torch.Tensor:
        return self.base.weight

    @property
    def bias(self) -> torch.Tensor | None:
        return self.base.bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.base(x)
        return self.adapter(y) if self.enabled else y


def adapter_params(hidden_size: int, bottleneck: int) -> int:
    """Closed form of one adapter's parameter count (weights + biases)."""
    return 2 * hidden_size * bottleneck + hidden_size + bottleneck
