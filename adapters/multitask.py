"""Multi-task parallel inference (AdapterDrop §3, Table 2): one input, N task adapters.

The N tasks share the frozen base model. The layers below the lowest adapter (AdapterDrop: the
first n layers) give the same output for every task, so they run once on the batch [B, ...]; from
the first adapted layer on, the batch is stacked N times, [N·B, ...], rows t·B..(t+1)·B belonging
to task t, and each adapter position and head applies task t's module to its rows. The output is
per-task logits [N, B, labels], the same as running each task's model alone.

This works through forward pre-hooks on the blocks, without touching the model code:
- the model's inputs are repeated N times (so masks and T5's <eos> lookup see N·B rows);
- a shared (lower) block takes the first B rows of every N·B-row tensor it is given;
- a per-task (upper) block repeats N times every B-row tensor it is given (the hidden states
  arriving from the shared part, masks or T5's position bias computed there).
"""

from __future__ import annotations

import copy

import torch
import torch.nn as nn

from adapters.bottleneck import AdaptedLinear
from adapters.insertion import blocks, points_for, replace_submodule
from adapters.registry import apply_method


class PerTask(nn.Module):
    """Task t's module on rows t·B..(t+1)·B of x: [N·B, ...] (nn.Identity where a task has none)."""

    def __init__(self, modules: list[nn.Module | None]):
        super().__init__()
        self.tasks = nn.ModuleList([m if m is not None else nn.Identity() for m in modules])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([m(c) for m, c in zip(self.tasks, x.chunk(len(self.tasks)))])


def head_paths(model) -> list[str]:
    """The task head's modules by name: the model's children outside the base model that have
    parameters, and the head parts inside it (BERT's pooler)."""
    base = model.base_model
    prefix = next(n for n, m in model.named_children() if m is base)
    names = [n for n, m in model.named_children() if m is not base and len(list(m.parameters()))]
    return names + [f"{prefix}.{p}" for p in points_for(model).head_in_base
                     if getattr(base, p, None) is not None]


def task_parts(model) -> tuple[dict[str, nn.Module], dict[str, nn.Module]]:
    """(enabled adapters by the name of their AdaptedLinear, head modules by name)."""
    adapters = {n: m.adapter for n, m in model.named_modules()
                if isinstance(m, AdaptedLinear) and m.enabled}
    return adapters, {n: model.get_submodule(n) for n in head_paths(model)}


def _map_tensors(args: tuple, kwargs: dict, fn) -> tuple[tuple, dict]:
    def f(x):
        return fn(x) if isinstance(x, torch.Tensor) and x.dim() >= 2 else x
    return tuple(f(a) for a in args), {k: f(v) for k, v in kwargs.items()}


class MultiTaskParallel(nn.Module):
    """N tasks on one input. ``skeleton``: a model of the shared architecture and base weights (it
    is modified: its own adapters and head are replaced); ``tasks``: per task, the output of
    ``task_parts`` on a model with that task's adapters and head."""

    def __init__(self, skeleton: nn.Module, tasks: list[tuple[dict, dict]]):
        super().__init__()
        if len(tasks) < 1:
            raise ValueError("need at least one task")
        self.n = len(tasks)
        self.model = skeleton
        drop = getattr(skeleton, "adapter_layer_drop", None)
        if drop is not None:  # the skeleton's own AdapterDrop hook would act on removed adapters
            drop.handle.remove()
            skeleton.adapter_layer_drop = None
        for name, m in list(skeleton.named_modules()):  # back to the frozen base Linears
            if isinstance(m, AdaptedLinear):
                replace_submodule(skeleton, name, m.base)
        for name in sorted({n for adapters, _ in tasks for n in adapters}):
            parallel = PerTask([adapters.get(name) for adapters, _ in tasks])
            replace_submodule(skeleton, name, AdaptedLinear(skeleton.get_submodule(name), parallel))
        for name in head_paths(skeleton):
            replace_submodule(skeleton, name, PerTask([heads[name] for _, heads in tasks]))

        # shared blocks: every block below the first one with an adapter (encoder first)
        order = [block for _, block in blocks(skeleton)]
        adapted = [any(isinstance(m, AdaptedLinear) for m in b.modules()) for b in order]
        if not any(adapted):
            raise ValueError("no task has adapters: nothing to run per task")
        self.num_shared = adapted.index(True)
        self.batch = 0  # B of the current forward
        for i, block in enumerate(order):
            hook = self._shared if i < self.num_shared else self._per_task
            block.register_forward_pre_hook(hook, with_kwargs=True)

    def _shared(self, module, args, kwargs):
        nb = self.n * self.batch
        return _map_tensors(args, kwargs, lambda x: x[: self.batch] if x.shape[0] == nb else x)

    def _per_task(self, module, args, kwargs):
        b, n = self.batch, self.n
        if n == 1:
            return None
        return _map_tensors(args, kwargs, lambda x: x.repeat(n, *[1] * (x.dim() - 1))
                            if x.shape[0] == b else x)

    def forward(self, **inputs) -> torch.Tensor:
        """Model inputs for one batch of B examples (no labels) -> logits [N, B, labels]."""
        first = next(v for v in inputs.values() if isinstance(v, torch.Tensor))
        self.batch = first.shape[0]
        stacked = {k: v.repeat(self.n, *[1] * (v.dim() - 1)) if isinstance(v, torch.Tensor) else v
                   for k, v in inputs.items()}
        logits = self.model(**stacked).logits  # [N·B, labels]
        return logits.view(self.n, self.batch, -1)


def check_same_base(models: list[nn.Module]) -> None:
    """The task models must share the frozen base weights (adapters and heads may differ). Methods
    that train base weights (layer norms, BitFit biases) give each task its own: refused."""
    def base_state(model):
        skip = tuple(n + "." for n in head_paths(model))
        params = model.named_parameters(remove_duplicate=False)
        return {n.replace(".base.", "."): p for n, p in params
                if ".adapter." not in n and not n.startswith(skip)}
    ref = base_state(models[0])
    for t, model in enumerate(models[1:], 1):
        state = base_state(model)
        if state.keys() != ref.keys() or any(not torch.equal(state[n], ref[n]) for n in ref):
            raise ValueError(f"task {t} does not share task 0's base model weights")


def from_task_models(task_models: list[nn.Module]) -> MultiTaskParallel:
    """One parallel model from N models of the same base, each with its task's adapters and head
    (any method whose adapters sit in AdaptedLinear; AdapterDrop's dropped layers are shared)."""
    check_same_base(task_models)
    return MultiTaskParallel(copy.deepcopy(task_models[0]), [task_parts(m) for m in task_models])


def from_method(model: nn.Module, method: str, n_tasks: int, overrides: dict | None = None,
                ) -> MultiTaskParallel:
    """N fresh task adapters of ``method`` on ``model`` (for timing probes): one task model exists
    at a time, so memory holds two copies of the base, not N."""
    tasks = []
    for _ in range(n_tasks):
        task = copy.deepcopy(model)
        apply_method(task, method, overrides)
        tasks.append(task_parts(task))  # keeps only the adapters and head alive
        del task
    return MultiTaskParallel(copy.deepcopy(model), tasks)
