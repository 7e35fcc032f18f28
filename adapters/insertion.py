"""Where methods attach, per architecture, as data (the one place that knows model layouts).

Every entry names, relative to ``model.base_model``:
- ``layers``: the ModuleList of transformer blocks;
- ``attention_output``: inside one block, the Linear that projects self-attention back to the
  hidden size (Houlsby's first adapter goes right after it, before the residual add, Houlsby §3.1);
- ``ffn_output``: inside one block, the FFN's output Linear (Houlsby's second / Pfeiffer's only
  adapter goes right after it);
- ``head_in_base``: modules inside the base model that belong to the task head and are trained by
  every method (BERT's pooler feeds its classifier; RoBERTa's head carries its own dense layer).
No method looks at a model name; they call :func:`points_for`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch.nn as nn


@dataclass(frozen=True)
class InsertionPoints:
    layers: str
    attention_output: str
    ffn_output: str
    head_in_base: tuple[str, ...] = ()


_BERT_LIKE = InsertionPoints(
    layers="encoder.layer",
    attention_output="attention.output.dense",
    ffn_output="output.dense",
    head_in_base=("pooler",),
)

# model_type (from the HF config) -> insertion points. BERT, RoBERTa and XLM-R share a layout.
ARCHITECTURES: dict[str, InsertionPoints] = {
    "bert": _BERT_LIKE,
    "roberta": _BERT_LIKE,
    "xlm-roberta": _BERT_LIKE,
}


def points_for(model: nn.Module) -> InsertionPoints:
    model_type = model.config.model_type
    if model_type not in ARCHITECTURES:
        raise ValueError(
            f"no insertion points for model_type {model_type!r}; known: {sorted(ARCHITECTURES)}"
        )
    return ARCHITECTURES[model_type]


def transformer_layers(model: nn.Module) -> nn.ModuleList:
    return model.base_model.get_submodule(points_for(model).layers)


def replace_submodule(root: nn.Module, path: str, new: nn.Module) -> None:
    parent_path, _, name = path.rpartition(".")
    parent = root.get_submodule(parent_path) if parent_path else root
    setattr(parent, name, new)
