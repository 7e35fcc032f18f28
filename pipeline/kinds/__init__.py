"""Task kinds: one small file per kind behind the interface of ``pipeline.kinds.base``.

``kind_name(task, objective)`` is the only place that maps a task (and the spec's training
objective) to its kind; nothing outside pipeline/kinds/ branches on a kind. This module
imports no torch (the kinds do, when first used): ``kind_name`` serves the spec and the plan."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline.kinds.base import Kind

# kind name -> "module:Class", imported on first use (QA and text-to-text pull in more code)
_KINDS = {
    "classification": "pipeline.kinds.classification:Classification",
    "multiple_choice": "pipeline.kinds.multiple_choice:MultipleChoice",
    "token_classification": "pipeline.kinds.token_classification:TokenClassification",
    "extractive_qa": "pipeline.kinds.extractive_qa:ExtractiveQA",
    "multirc": "pipeline.kinds.multirc:MultiRC",
    "record": "pipeline.kinds.record:ReCoRD",
    "text2text": "pipeline.kinds.text2text:Text2Text",
}
OBJECTIVES = ("head", "text2text")  # training.objective: the kind's head, or T5 text-to-text
_loaded: dict[str, Kind] = {}


def get_kind(name: str) -> Kind:
    if name not in _KINDS:
        raise KeyError(f"unknown task kind {name!r}; known: {', '.join(sorted(_KINDS))}")
    if name not in _loaded:
        module, cls = _KINDS[name].split(":")
        _loaded[name] = getattr(importlib.import_module(module), cls)()
    return _loaded[name]


def kind_name(task, objective: str = "head") -> str:
    """The task's own kind, or text-to-text (Compacter's setup) when the objective says so."""
    if objective not in OBJECTIVES:
        raise ValueError(f"unknown objective {objective!r}; known: {', '.join(OBJECTIVES)}")
    return "text2text" if objective == "text2text" else task.kind


def kind_for(task, objective: str = "head") -> Kind:
    return get_kind(kind_name(task, objective))


__all__ = ["OBJECTIVES", "get_kind", "kind_for", "kind_name"]
