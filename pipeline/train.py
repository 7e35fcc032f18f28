"""The fixed training and evaluation loop, identical for every method (AlgoPerf's fixed part).

AdamW over the trainable parameters, linear warm-up then linear decay to zero, evaluation on the
dev split after every epoch with the task's official metric; the best dev score is kept
(both papers report the best development score over epochs).
"""

from __future__ import annotations

import contextlib
import math
import random
import time
from dataclasses import dataclass
from typing import Callable, ContextManager

import numpy as np
import torch

from pipeline.kinds.base import Encoded
from pipeline.spec import Training
from pipeline.tasks import Task, dev_source, load_split, train_source


def load_data(tokenizer, kind, source, training: Training, data_dir, limit: int | None,
              seed: int) -> Encoded:
    """One split as the kind's rows; ``limit`` keeps a seeded random subset of its examples."""
    columns = load_split(source, data_dir, kind.columns(source.task))
    data = kind.encode(tokenizer, source.task, columns, training.max_seq_len, limit, seed)
    data.meta.update(source=source.describe(), split=source.split, language=source.language)
    return data


def load_task_data(tokenizer, kind, task: Task, training: Training, data_dir, seed: int):
    """(train, dev): the dev subset does not depend on the seed, so every run is scored on
    the same examples. Splits named in the spec replace the task's defaults (recorded)."""
    train = load_data(tokenizer, kind, train_source(task, training.train_split), training,
                      data_dir, training.max_train_samples, seed)
    dev = load_data(tokenizer, kind, dev_source(task, training.dev_split), training, data_dir,
                    training.max_eval_samples, 0)
    return train, dev


def _to(batch: dict, device) -> dict:
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


@torch.no_grad()
def evaluate(model, kind, task: Task, dev: Encoded, batch_size: int, pad_id: int,
             device: torch.device,
             guard: Callable[[], ContextManager] = contextlib.nullcontext) -> dict[str, float]:
    """The kind's predictions for every row, then its official metric."""
    model.eval()
    # Batches of similar length pad less; the scores do not depend on the order.
    order = sorted(range(len(dev)), key=lambda i: dev.lengths[i])
    outputs = [None] * len(dev)
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        batch = kind.collate(dev, idx, pad_id)
        inputs = {k: v for k, v in batch.items() if k not in kind.target_keys}
        with guard():
            predicted = kind.predict(model, _to(inputs, device))
        for i, out in zip(idx, predicted):
            outputs[i] = out  # back to dataset order
    return kind.score(task, dev, outputs)


@dataclass
class EpochResult:
    """One evaluation: at an epoch's end, or every ``eval_every_steps`` steps."""
    epoch: int
    step: int
    train_loss: float  # mean over the steps since the previous evaluation
    scores: dict[str, float]
    train_seconds: float = 0.0  # training so far, excluding evaluation and lease waits


def schedule(params, training: Training, lr: float, steps_per_epoch: int):
    """(AdamW, linear warm-up then decay, total steps): the same for every loop."""
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=training.weight_decay)
    total = steps_per_epoch * training.epochs
    if training.max_steps is not None:
        total = min(total, training.max_steps)
    scheduler = linear_warmup_decay(optimizer, int(training.warmup_ratio * total), total)
    return optimizer, scheduler, total


def linear_warmup_decay(optimizer, warmup: int, total: int) -> torch.optim.lr_scheduler.LambdaLR:
    """The LR factor rises linearly from 0 to 1 over ``warmup`` steps, then falls linearly to 0
    at ``total`` (BERT's schedule; the same factors as transformers'
    get_linear_schedule_with_warmup, whose import costs a sweep's driver 5 s on a 2-core CPU)."""
    def factor(step: int) -> float:
        if step < warmup:
            return step / max(1, warmup)
        return max(0.0, (total - step) / max(1, total - warmup))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def timed_step(model, make_batch: Callable[[], dict], optimizer, scheduler, device,
               guard: Callable[[], ContextManager], waited: Callable[[], float]
               ) -> tuple[float, float]:
    """One optimizer step on the batch ``make_batch()`` builds; returns (loss, its seconds
    including the batch's collation, excluding lease waits)."""
    started, waited_before = time.perf_counter(), waited()
    batch = make_batch()
    with guard():
        loss = model(**_to(batch, device)).loss
        loss.backward()
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        # inside the lease: on CUDA the calls above only queue kernels, and .item() waits for
        # them, so a probe that takes the device next does not overlap this step's kernels
        value = loss.item()
    return value, time.perf_counter() - started - (waited() - waited_before)


def train(model, kind, task: Task, train_data: Encoded, dev: Encoded, training: Training, lr: float,
          seed: int, pad_id: int, device: torch.device,
          on_epoch: Callable[[EpochResult], None] | None = None,
          guard: Callable[[], ContextManager] = contextlib.nullcontext,
          waited: Callable[[], float] = lambda: 0.0,
          ) -> tuple[list[EpochResult], float]:
    """Train; evaluate after every epoch and every ``training.eval_every_steps`` steps.
    Returns (every evaluation, training seconds excluding evaluation and lease waits).

    ``guard()`` wraps every step and eval batch (the device lease: a probe elsewhere on this
    device waits for the step in flight, then has the device alone); ``waited()`` is the lease's
    running total of such waits, taken out of the training seconds step by step."""
    torch.manual_seed(seed)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer, scheduler, total = schedule(params, training, lr,
                                           math.ceil(len(train_data) / training.batch_size))
    rng = random.Random(seed)
    history, step, train_seconds, losses = [], 0, 0.0, []

    def evaluation(epoch: int) -> None:
        result = EpochResult(epoch, step, float(np.mean(losses)),
                             evaluate(model, kind, task, dev, training.eval_batch_size, pad_id,
                                      device, guard), train_seconds)
        losses.clear()
        history.append(result)
        if on_epoch is not None:
            on_epoch(result)
        model.train()

    every = training.eval_every_steps
    for epoch in range(1, training.epochs + 1):
        if step >= total:
            break
        model.train()
        order = list(range(len(train_data)))
        rng.shuffle(order)
        for start in range(0, len(order), training.batch_size):
            if step >= total:
                break
            idx = order[start : start + training.batch_size]
            loss, seconds = timed_step(model, lambda: kind.collate(train_data, idx, pad_id),
                                       optimizer, scheduler, device, guard, waited)
            losses.append(loss)
            step += 1
            train_seconds += seconds
            last_of_epoch = start + training.batch_size >= len(order) or step >= total
            if every and step % every == 0 and not last_of_epoch:
                evaluation(epoch)
        evaluation(epoch)
    return history, train_seconds
