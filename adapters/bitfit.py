"""BitFit (Ben Zaken et al., 2021): train only the bias terms (plus the task head).

T5 has no biases at all (no bias in its Linears, and its RMS layer norm only scales). Compacter
§5.1 (footnote 7) re-introduces them for BitFit: we add a zero bias to every bias-free Linear and
layer norm of the base model, so the model's outputs are unchanged until the first step.
Models that already have all their biases (BERT, RoBERTa, XLM-R) get nothing added.
"""

from __future__ import annotations


import torch
import torch.nn as nn

from adapters.configs import BitFitConfig


def _add_bias_after(module: nn.Module, args, output: torch.Tensor) -> torch.Tensor:
    return output + module.bias


def _is_norm(module: nn.Module) -> bool:
    # Structural, not by model name: layer norms (nn.LayerNorm, T5LayerNorm, RMSNorm variants)
    # are the modules whose class name says "norm" and that hold a 1-D scale `weight`.
    weight = getattr(module, "weight", None)
    return ("norm" in type(module).__name__.lower() and isinstance(weight, nn.Parameter)
            and weight.dim() == 1)


def add_missing_biases(root: nn.Module) -> list[nn.Parameter]:
    """Give every bias-free Linear and layer norm under ``root`` a zero bias; return the new ones.

    nn.Linear and nn.LayerNorm use ``self.bias`` in their own forward once it is set; other norms
    (T5LayerNorm) get a forward hook that adds it to their output."""
    added = []
    for module in list(root.modules()):
        if not (isinstance(module, nn.Linear) or _is_norm(module)):
            continue
        if getattr(module, "bias", None) is not None:
            continue
        ref = module.weight
        size = module.out_features if isinstance(module, nn.Linear) else ref.shape[0]
        bias = nn.Parameter(torch.zeros(size, dtype=ref.dtype, device=ref.device))
        if hasattr(module, "bias"):  # registered as None (nn.Linear(bias=False), LayerNorm(bias=False))
            module.bias = bias
        else:
            module.register_parameter("bias", bias)
        if not isinstance(module, (nn.Linear, nn.LayerNorm)):
            module.register_forward_hook(_add_bias_after)
        added.append(bias)
    return added


def _apply(model, config: BitFitConfig) -> None:
    if config.add_missing_biases:
        add_missing_biases(model.base_model)
    for name, p in model.base_model.named_parameters():
        if name.endswith(".bias"):
            p.requires_grad_(True)
