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
from transformers import get_linear_schedule_with_warmup

from pipeline import metrics
from pipeline.spec import Training
from pipeline.tasks import Task, load_split


@dataclass
class Encoded:
    input_ids: list[list[int]]
    token_type_ids: list[list[int]]
    labels: np.ndarray  # [n] int64 class ids, or float32 scores for regression


def encode(tokenizer, task: Task, columns: dict[str, list], max_len: int,
           limit: int | None, seed: int) -> Encoded:
    """Tokenize a split; ``limit`` keeps a seeded random subset (the same for every method)."""
    n = len(columns["label"])
    order = list(range(n))
    if limit is not None and limit < n:
        order = sorted(random.Random(seed).sample(order, limit))
    texts = [[columns[c][i] for i in order] for c in task.text_columns]
    enc = tokenizer(*texts, truncation=True, max_length=max_len)
    dtype = np.float32 if task.num_labels == 1 else np.int64
    labels = np.asarray([columns["label"][i] for i in order], dtype=dtype)
    token_types = enc.get("token_type_ids") or [[0] * len(ids) for ids in enc["input_ids"]]
    return Encoded(enc["input_ids"], token_types, labels)


def load_task_data(tokenizer, task: Task, training: Training, data_dir, seed: int):
    train = encode(tokenizer, task, load_split(task, task.train_split, data_dir),
                   training.max_seq_len, training.max_train_samples, seed)
    # The dev subset does not depend on the seed: every run is scored on the same examples.
    dev = encode(tokenizer, task, load_split(task, task.dev_split, data_dir),
                 training.max_seq_len, training.max_eval_samples, 0)
    return train, dev


def collate(data: Encoded, idx: list[int], pad_id: int) -> dict[str, torch.Tensor]:
    """Pad a batch to its longest sequence: [batch, seq_len] tensors."""
    width = max(len(data.input_ids[i]) for i in idx)
    ids = torch.full((len(idx), width), pad_id, dtype=torch.long)
    types = torch.zeros((len(idx), width), dtype=torch.long)
    mask = torch.zeros((len(idx), width), dtype=torch.long)
    for row, i in enumerate(idx):
        n = len(data.input_ids[i])
        ids[row, :n] = torch.tensor(data.input_ids[i])
        types[row, :n] = torch.tensor(data.token_type_ids[i])
        mask[row, :n] = 1
    return {"input_ids": ids, "token_type_ids": types, "attention_mask": mask,
            "labels": torch.from_numpy(data.labels[idx])}


@torch.no_grad()
def evaluate(model, task: Task, dev: Encoded, batch_size: int, pad_id: int,
             device: torch.device,
             guard: Callable[[], ContextManager] = contextlib.nullcontext) -> dict[str, float]:
    model.eval()
    # Batches of similar length pad less; the scores do not depend on the order.
    order = sorted(range(len(dev.labels)), key=lambda i: len(dev.input_ids[i]))
    outputs = []
    for start in range(0, len(order), batch_size):
        batch = collate(dev, order[start : start + batch_size], pad_id)
        batch.pop("labels")
        with guard():
            logits = model(**{k: v.to(device) for k, v in batch.items()}).logits  # [batch, labels]
        outputs.append(logits.float().cpu())
    logits = torch.empty_like(torch.cat(outputs))
    logits[torch.tensor(order)] = torch.cat(outputs)  # back to dataset order
    pred = logits.squeeze(-1).numpy() if task.num_labels == 1 else logits.argmax(-1).numpy()
    return metrics.score(task.metric, pred, dev.labels)


@dataclass
class EpochResult:
    epoch: int
    step: int
    train_loss: float
    scores: dict[str, float]


def train(model, task: Task, train_data: Encoded, dev: Encoded, training: Training, lr: float,
          seed: int, pad_id: int, device: torch.device,
          on_epoch: Callable[[EpochResult], None] | None = None,
          guard: Callable[[], ContextManager] = contextlib.nullcontext,
          ) -> tuple[list[EpochResult], float]:
    """Train and evaluate every epoch; returns (per-epoch results, training seconds excl. eval).

    ``guard()`` wraps every step and eval batch (the device lease: a probe elsewhere on this
    device waits for the step in flight, then has the device alone)."""
    torch.manual_seed(seed)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=training.weight_decay)
    steps_per_epoch = math.ceil(len(train_data.labels) / training.batch_size)
    total = steps_per_epoch * training.epochs
    if training.max_steps is not None:
        total = min(total, training.max_steps)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(training.warmup_ratio * total), total)
    rng = random.Random(seed)
    history, step, train_seconds = [], 0, 0.0
    for epoch in range(1, training.epochs + 1):
        if step >= total:
            break
        model.train()
        order = list(range(len(train_data.labels)))
        rng.shuffle(order)
        losses = []
        started = time.perf_counter()
        for start in range(0, len(order), training.batch_size):
            if step >= total:
                break
            batch = collate(train_data, order[start : start + training.batch_size], pad_id)
            with guard():
                loss = model(**{k: v.to(device) for k, v in batch.items()}).loss
                loss.backward()
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
            losses.append(loss.item())
            step += 1
        train_seconds += time.perf_counter() - started
        result = EpochResult(epoch, step, float(np.mean(losses)),
                             evaluate(model, task, dev, training.eval_batch_size, pad_id, device, guard))
        history.append(result)
        if on_epoch is not None:
            on_epoch(result)
    return history, train_seconds
