"""Where methods attach, per architecture, as data (the one place that knows model layouts).

An architecture is one or more *stacks* of transformer blocks (BERT: the encoder; T5: the encoder
and the decoder). Paths are relative to ``model.base_model`` (stack) and to one block (the rest):
- ``attention_output``: the Linear that projects self-attention back to the hidden size
  (Houlsby's first adapter goes right after it, before the residual add, Houlsby §3.1);
- ``ffn_output``: the FFN's output Linear (Houlsby's second / Pfeiffer's only adapter).
``linears`` maps a role ("query", "key", "value", "attention_output", "ffn_input", "ffn_output")
to the Linear paths that play it in one block (T5's decoder has two queries: self and cross
attention); LoRA's target modules are roles. Use :meth:`Stack.linear_paths`.
``head_in_base`` names modules inside the base model that belong to the task head and are
trained by every method (BERT's pooler feeds its classifier).
No method looks at a model name; they call :func:`points_for` / :func:`blocks`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch.nn as nn


@dataclass(frozen=True)
class Stack:
    path: str  # the ModuleList of blocks, relative to model.base_model
    attention_output: str
    ffn_output: str
    linears: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (role, paths) pairs; hashable

    def linear_paths(self, role: str) -> tuple[str, ...]:
        roles = dict(self.linears)
        if role not in roles:
            raise ValueError(f"unknown linear role {role!r}; known: {sorted(roles)}")
        return roles[role]


@dataclass(frozen=True)
class InsertionPoints:
    stacks: tuple[Stack, ...]
    head_in_base: tuple[str, ...] = ()


_BERT_LIKE = InsertionPoints(
    stacks=(Stack("encoder.layer", "attention.output.dense", "output.dense", linears=(
        ("query", ("attention.self.query",)),
        ("key", ("attention.self.key",)),
        ("value", ("attention.self.value",)),
        ("attention_output", ("attention.output.dense",)),
        ("ffn_input", ("intermediate.dense",)),
        ("ffn_output", ("output.dense",)),
    )),),
    head_in_base=("pooler",),
)


def _t5_linears(attentions: tuple[str, ...], ffn: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return (
        ("query", tuple(f"{a}.q" for a in attentions)),
        ("key", tuple(f"{a}.k" for a in attentions)),
        ("value", tuple(f"{a}.v" for a in attentions)),
        ("attention_output", tuple(f"{a}.o" for a in attentions)),
        ("ffn_input", (f"{ffn}.wi",)),
        ("ffn_output", (f"{ffn}.wo",)),
    )


_T5 = InsertionPoints(stacks=(
    Stack("encoder.block", "layer.0.SelfAttention.o", "layer.1.DenseReluDense.wo",
          linears=_t5_linears(("layer.0.SelfAttention",), "layer.1.DenseReluDense")),
    # decoder blocks: self-attention, cross-attention, FFN
    Stack("decoder.block", "layer.0.SelfAttention.o", "layer.2.DenseReluDense.wo",
          linears=_t5_linears(("layer.0.SelfAttention", "layer.1.EncDecAttention"),
                              "layer.2.DenseReluDense")),
))

# model_type (from the HF config) -> insertion points. BERT, RoBERTa and XLM-R share a layout.
ARCHITECTURES: dict[str, InsertionPoints] = {
    "bert": _BERT_LIKE,
    "roberta": _BERT_LIKE,
    "xlm-roberta": _BERT_LIKE,
    "t5": _T5,
}


def points_for(model: nn.Module) -> InsertionPoints:
    model_type = model.config.model_type
    if model_type not in ARCHITECTURES:
        raise ValueError(
            f"no insertion points for model_type {model_type!r}; known: {sorted(ARCHITECTURES)}"
        )
    return ARCHITECTURES[model_type]


def blocks(model: nn.Module) -> list[tuple[Stack, nn.Module]]:
    """Every transformer block with the stack it belongs to, bottom to top, encoder first."""
    out = []
    for stack in points_for(model).stacks:
        out += [(stack, block) for block in model.base_model.get_submodule(stack.path)]
    return out


def replace_submodule(root: nn.Module, path: str, new: nn.Module) -> None:
    parent_path, _, name = path.rpartition(".")
    parent = root.get_submodule(parent_path) if parent_path else root
    setattr(parent, name, new)
