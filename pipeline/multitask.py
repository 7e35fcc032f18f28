"""Multi-task training (Mundra et al. 2023, §3; its public code AI4Bharat/adapter-efficiency):
one body, one head per task, a sampler that decides which task each batch comes from.

Two spec methods (pipeline/spec.py); a grid point of either names every task of the spec:
- ``multitask_full``: one shared encoder trained by every task, one head per task;
- ``multitask_adapter``: one frozen shared encoder, one adapter set + head per task (config
  ``adapter``: any adapter method of the registry), trained jointly.

Each task's model is built by its own kind (any kind of the registry), then the models are
tied: every encoder parameter that is shared (all of them for full fine-tuning, the frozen ones
for adapters) becomes the same Parameter object, so gradients of every task reach it.
"""

from __future__ import annotations

import contextlib
import math
import random
from typing import TYPE_CHECKING, Callable, ContextManager

import numpy as np
import torch

import adapters
from pipeline.multitask_config import MultitaskConfig

if TYPE_CHECKING:  # imported where used: pipeline.train imports the spec
    from pipeline.train import EpochResult


def task_probabilities(sizes: list[int], config: MultitaskConfig) -> list[float]:
    power = 1.0 if config.sampling == "proportional" else 1.0 / config.temperature
    weights = [n ** power for n in sizes]
    return [w / sum(weights) for w in weights]


def _set_parameter(model: torch.nn.Module, name: str, param: torch.nn.Parameter) -> None:
    module_path, _, leaf = name.rpartition(".")
    setattr(model.get_submodule(module_path) if module_path else model, leaf, param)


def tie_bodies(models: list[torch.nn.Module], train_body: bool) -> int:
    """Make the encoders of ``models`` one: every base-model parameter outside the task head
    (and, for adapters, only the frozen ones) is replaced by the first model's. Returns the
    number of tied tensors per model."""
    first = models[0]
    shared = dict(first.base_model.named_parameters())
    tied = 0
    for model in models[1:]:
        head = {id(p) for p in adapters.head_parameters(model)}
        for name, p in list(model.base_model.named_parameters()):
            if id(p) in head or name not in shared or (p.requires_grad and not train_body):
                continue
            if shared[name].shape != p.shape:
                raise ValueError(f"cannot share {name}: {tuple(p.shape)} vs {tuple(shared[name].shape)}")
            _set_parameter(model.base_model, name, shared[name])
            tied += 1
    return tied // max(1, len(models) - 1)


def unique_trainable(models) -> list[torch.nn.Parameter]:
    seen, out = set(), []
    for model in models:
        for p in model.parameters():
            if p.requires_grad and id(p) not in seen:
                seen.add(id(p))
                out.append(p)
    return out


def train_multitask(models: dict, kinds: dict, tasks: dict, train_data: dict, dev: dict,
                    training, lr: float, seed: int, pad_id: int, device: torch.device,
                    config: MultitaskConfig,
                    on_eval: Callable[[str, "EpochResult"], None] | None = None,
                    guard: Callable[[], ContextManager] = contextlib.nullcontext,
                    waited: Callable[[], float] = lambda: 0.0,
                    share: dict[str, float] | None = None,
                    ) -> tuple[dict[str, list["EpochResult"]], float, dict[str, int]]:
    """The multi-task loop: an epoch is as many steps as one epoch of every task alone; each step
    draws its task from the sampler and takes that task's next batch (its rows reshuffled when
    used up); every task is evaluated on its own dev set after each epoch and every
    ``eval_every_steps``. ``share``: the part of each task's data an epoch uses (adding a task:
    1 for the new one, the replay share for the old ones; 0 never draws the task, but it is
    still evaluated). Returns (history per task, training seconds excluding evaluation and
    lease waits, batches drawn per task)."""
    from pipeline.train import EpochResult, evaluate, schedule, timed_step  # train imports spec

    torch.manual_seed(seed)
    names = list(models)
    params = unique_trainable(models.values())
    share = share or dict.fromkeys(names, 1.0)
    sizes = [share[t] * len(train_data[t]) for t in names]
    steps_per_epoch = sum(math.ceil(n / training.batch_size) for n in sizes)
    optimizer, scheduler, total = schedule(params, training, lr, steps_per_epoch)
    rng = random.Random(seed)
    probabilities = task_probabilities(sizes, config)
    queues = {t: [] for t in names}  # row indices left in the task's current pass
    history = {t: [] for t in names}
    drawn = dict.fromkeys(names, 0)
    losses: list[float] = []
    step, train_seconds = 0, 0.0

    def next_batch(t: str) -> list[int]:
        if len(queues[t]) < training.batch_size:  # a new pass over the task's rows
            order = list(range(len(train_data[t])))
            rng.shuffle(order)
            queues[t] += order
        idx, queues[t][:] = queues[t][: training.batch_size], queues[t][training.batch_size :]
        return idx

    def evaluation(epoch: int) -> None:
        for t in names:
            scores = evaluate(models[t], kinds[t], tasks[t], dev[t], training.eval_batch_size,
                              pad_id, device, guard)
            result = EpochResult(epoch, step, float(np.mean(losses)) if losses else float("nan"),
                                 scores, train_seconds)
            history[t].append(result)
            if on_eval is not None:
                on_eval(t, result)
        losses.clear()
        for model in models.values():
            model.train()

    for model in models.values():
        model.train()
    every = training.eval_every_steps
    for epoch in range(1, training.epochs + 1):
        if step >= total:
            break
        for _ in range(steps_per_epoch):
            if step >= total:
                break
            t = rng.choices(names, weights=probabilities)[0]
            loss, seconds = timed_step(
                models[t], lambda: kinds[t].collate(train_data[t], next_batch(t), pad_id),
                optimizer, scheduler, device, guard, waited)
            losses.append(loss)
            drawn[t] += 1
            step += 1
            train_seconds += seconds
            if every and step % every == 0 and step % steps_per_epoch and step < total:
                evaluation(epoch)
        evaluation(epoch)
    return history, train_seconds, drawn
