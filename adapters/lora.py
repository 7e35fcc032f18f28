"""LoRA (Hu et al., 2022): a frozen Linear W plus a trained low-rank update, y = W·x + (α/r)·B·A·x.

A: [r, d_in], B: [d_out, r]. B starts at zero, so the model is unchanged at init (LoRA §4.1);
A takes nn.Linear's default (Kaiming-uniform) init, as the reference implementation (loralib) and
peft do. Target modules are *roles* ("query", "value", ...) that ``adapters/insertion.py`` maps
to Linear paths per architecture; on T5's decoder "query" is both self- and cross-attention q,
the same Linears that peft's ``target_modules=["q", "v"]`` matches.
Parameters per target Linear: r·(d_in + d_out).
"""

from __future__ import annotations


import torch
import torch.nn as nn

from adapters.configs import LoRAConfig
from adapters.insertion import blocks, replace_submodule


class LoRALinear(nn.Module):
    def __init__(self, base: nn.Linear, rank: int, alpha: float, dropout: float):
        super().__init__()
        self.base = base
        self.lora_A = nn.Linear(base.in_features, rank, bias=False,
                                device=base.weight.device, dtype=base.weight.dtype)
        self.lora_B = nn.Linear(rank, base.out_features, bias=False,
                                device=base.weight.device, dtype=base.weight.dtype)
        nn.init.zeros_(self.lora_B.weight)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.scaling = alpha / rank

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: [..., d_in]
        return self.base(x) + self.lora_B(self.lora_A(self.dropout(x))) * self.scaling


def lora_params(d_in: int, d_out: int, rank: int) -> int:
    """Closed form of one LoRA update's parameter count."""
    return rank * (d_in + d_out)


def _apply(model, config: LoRAConfig) -> None:
    for stack, block in blocks(model):
        for role in config.target_modules:
            for path in stack.linear_paths(role):
                lora = LoRALinear(block.get_submodule(path), config.rank, config.alpha,
                                  config.dropout)
                replace_submodule(block, path, lora)
                for p in (lora.lora_A.weight, lora.lora_B.weight):
                    p.requires_grad_(True)
