"""Serving k tasks with one multi-task model (Mundra et al. 2023: multi-task full fine-tuning as
the alternative to per-task adapters): one shared encoder pass per batch, then k task heads.

The three ways of answering k tasks on one input that the probes time (``n_tasks`` k):
- k fully fine-tuned models, one after another (pipeline/probes.py);
- one frozen backbone with k adapter sets (adapters/multitask.py, AdapterDrop §3);
- one multi-task model (``SharedEncoderHeads``, here): what ``multitask_full`` trains, a body
  shared by every task and a head per task, so the body runs once and only the heads run k times.

``SharedEncoderHeads`` needs no model code of its own. The *trunk* is every child of the base
model that is not a head part (BERT: embeddings and encoder; the pooler is the head's,
adapters/insertion.py ``head_in_base``). Task 0's model runs whole, and forward hooks keep what
its trunk modules returned; every other task's model is a copy whose trunk modules are
``Replay`` modules that return those outputs. So each task model runs its own head code
unchanged (a multiple-choice head's reshape, a QA head's two logits) on the encoder states of
this batch, computed once. What still runs per task besides the head: the base model's few
lines of glue (the attention-mask expansion), no matmul over the sequence.
"""

from __future__ import annotations

import copy

import torch
import torch.nn as nn

from adapters.insertion import points_for


def trunk_names(model: nn.Module) -> list[str]:
    """The base model's children that every task shares (all but the head parts); empty when the
    model has no separate head (T5 text-to-text: the whole model is the task's)."""
    base = model.base_model
    if base is model:
        return []
    heads = set(points_for(model).head_in_base)
    return [n for n, m in base.named_children() if n not in heads and m is not None]


class Replay(nn.Module):
    """Stands in for a trunk module of task t ≥ 1: returns what task 0's module returned for the
    current batch, whatever it is given."""

    def __init__(self, outputs: dict, name: str):
        super().__init__()
        self.outputs, self.name = outputs, name

    def forward(self, *args, **kwargs):
        return self.outputs[self.name]


class SharedEncoderHeads(nn.Module):
    """k tasks on one input with one encoder pass. ``task_models``: k models whose trunks are the
    same weights (a multi-task model's task models, pipeline/multitask.py ``tie_bodies``; or one
    model k times), each with its own head. Task 0's model is used as it is (its trunk gets
    forward hooks); tasks 1..k−1 are copies without a trunk, so memory holds one body and k
    heads. ``forward(**inputs)`` -> the k task models' outputs, in order (classification: each
    with ``logits`` [B, labels])."""

    def __init__(self, task_models: list[nn.Module]):
        super().__init__()
        if not task_models:
            raise ValueError("need at least one task")
        first = task_models[0]
        self.trunk = trunk_names(first)
        if not self.trunk:
            raise ValueError(f"{type(first).__name__} has no head apart from its body")
        check_shared_trunk(task_models)  # else task t would get task 0's encoder states
        self.outputs: dict = {}  # trunk module name -> its output for the current batch
        self.serving = False  # task 0's model called on its own keeps nothing
        base = first.base_model
        for name in self.trunk:
            getattr(base, name).register_forward_hook(self._keep(name))
        views = [first]
        for model in task_models[1:]:
            # Copy the task model with Replay modules in place of its trunk (deepcopy's memo
            # maps the trunk modules to them, so the trunk weights are never copied).
            memo = {id(getattr(model.base_model, n)): Replay(self.outputs, n) for n in self.trunk}
            views.append(copy.deepcopy(model, memo))
        self.tasks = nn.ModuleList(views)

    def _keep(self, name: str):
        def hook(module, args, output):
            if self.serving:
                self.outputs[name] = output
        return hook

    def forward(self, **inputs) -> list:
        self.serving = True
        try:
            return [model(**inputs) for model in self.tasks]  # task 0 first: it fills outputs
        finally:
            self.serving = False
            self.outputs.clear()  # never serve a stale batch, never hold its activations


def check_shared_trunk(task_models: list[nn.Module]) -> None:
    """The task models' trunks must hold the same weights (a multi-task model's tied body)."""
    ref = task_models[0].base_model
    for t, model in enumerate(task_models[1:], 1):
        for name in trunk_names(task_models[0]):
            mine = dict(getattr(model.base_model, name).named_parameters())
            for n, p in getattr(ref, name).named_parameters():
                if n not in mine or not (mine[n] is p or torch.equal(mine[n], p)):
                    raise ValueError(f"task {t} does not share task 0's {name}.{n}")


class TaskGroup(nn.Module):
    """The task models of one multi-task trial (tied bodies), as the probes see them: a k-task
    inference cell is served by one multi-task model; any other cell times the first task's
    model, as a single-task trial would (pipeline/probes.py ``prepare``)."""

    def __init__(self, task_models: list[nn.Module]):
        super().__init__()
        self.tasks = nn.ModuleList(task_models)

    def prepare(self, dropped_layers: int, n_tasks: int):
        """A copy to time (the trained models are untouched). k tasks: the group's task models in
        turn up to k (a group of 2 serving k = 4 repeats its heads: the same cost as 4 heads),
        as one backbone with k adapter sets when the tasks have adapters (multitask_adapter),
        else as one encoder pass and k heads (multitask_full); a model whose body is its head
        (text-to-text) runs k times."""
        from adapters.adapterdrop import remove_adapters_below
        from adapters.bottleneck import AdaptedLinear
        from adapters.multitask import MultiTaskParallel, task_parts

        group = copy.deepcopy(self.tasks)  # one copy: the bodies stay tied within it
        if dropped_layers:
            for model in group:
                remove_adapters_below(model, dropped_layers)
        if n_tasks == 1:
            return group[0]
        served = [group[t % len(group)] for t in range(n_tasks)]
        if any(isinstance(m, AdaptedLinear) for m in group[0].modules()):
            parts = [copy.deepcopy(task_parts(m)) for m in served]  # k distinct adapter sets
            return MultiTaskParallel(group[0], parts)
        if not trunk_names(group[0]):
            return [group[0]] * n_tasks
        return SharedEncoderHeads(served)  # k heads (copies), one body
