"""LoRA (Hu et al., 2022): a frozen Linear W plus a trained low-rank update, y = W·x + (α/r)·B·A·x.

A: [r, d_in], B: [d_out, r]. B starts at zero, so the model is unchanged at init (LoRA §4.1);
A takes nn.Linear's default (Kaiming-uniform) init, as the reference implementation (loralib) and
peft do. Target modules are *roles* ("query", "value", ...) that ``adapters/insertion.py`` maps
to Linear paths per architecture; on T5's decoder "query" is both self- and cross-attention q,
the same Linears that peft's ``target_modules=["q", "v"]`` matches.
Parameters per target Linear: r·(d_in + d_out).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from adapters.insertion import blocks, replace_submodule
from adapters.registry import Method, register

ROLES = ("query", "key", "value", "attention_output", "ffn_input", "ffn_output")


@dataclass
class LoRAConfig:
    # r = 8 and alpha = 8: LoRA paper Table 9, RoBERTa-base ("r_q = r_v = 8, alpha = 8").
    rank: int = 8
    alpha: float = 8.0
    # Dropout on the LoRA input: 0.0 is peft's default (LoRA's GLUE runs list none for RoBERTa).
    dropout: float = 0.0
    # W_q and W_v: LoRA §4.2 / §7.1 adapt the query and value projections.
    target_modules: tuple[str, ...] = ("query", "value")

    def __post_init__(self):
        self.target_modules = tuple(self.target_modules)  # YAML/JSON give lists
        if self.rank < 1:
            raise ValueError("rank must be >= 1")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError("dropout must be in [0, 1)")
        unknown = sorted(set(self.target_modules) - set(ROLES))
        if unknown or not self.target_modules:
            raise ValueError(f"target_modules must be a non-empty subset of {ROLES}; got {unknown}")


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


# LR 5e-4: LoRA Table 9, RoBERTa-base uses 4e-4 to 5e-4 depending on the task.
register(Method("lora", LoRAConfig, _apply, default_lrs=(5e-4,),
                description="LoRA low-rank updates on attention projections"))
