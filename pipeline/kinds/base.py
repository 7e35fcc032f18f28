"""The interface every task kind implements, and the helpers they share.

The training loop, the trial and the probes only call these methods (DESIGN.md, "Task kinds"):

    columns(task)                    -> the split columns the kind reads
    load_model(name, task, seed)     -> a model whose forward(**batch) returns .loss when the
                                        batch has the kind's target keys
    encode(tokenizer, task, columns, max_len, limit, seed) -> Encoded (rows the loop batches)
    collate(data, idx, pad_id)       -> dict of tensors: model inputs + target keys
    predict(model, inputs)           -> one output per row (no_grad, eval mode; targets removed)
    score(task, data, outputs)       -> the task's official scores; key "score" selects epochs
    random_batch(model, seq_len, batch_size, device) -> a batch for timing probes

Rows are what a batch is made of: a sentence (classification), an example with all its choices
(multiple choice), a window of a long context (extractive QA). ``Encoded.refs`` holds what the
metric needs beyond the rows (gold answers, question groups), in the kind's own format.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import torch


@dataclass
class Encoded:
    rows: dict[str, list]  # per row: "input_ids" always, plus the kind's own features/targets
    lengths: list[int]  # tokens per row (evaluation batches rows of similar length)
    refs: Any = None  # example-level references for score()
    meta: dict = field(default_factory=dict)  # e.g. which split/language it came from

    def __len__(self) -> int:
        return len(self.lengths)


class Kind:
    name = ""
    target_keys: tuple[str, ...] = ("labels",)

    def columns(self, task) -> list[str]:
        return [*task.fields, "label"]

    def load_model(self, model_name: str, task, seed: int):
        raise NotImplementedError

    def encode(self, tokenizer, task, columns: dict[str, list], max_len: int,
               limit: int | None, seed: int) -> Encoded:
        raise NotImplementedError

    def collate(self, data: Encoded, idx: list[int], pad_id: int) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def predict(self, model, inputs: dict[str, torch.Tensor]) -> list:
        raise NotImplementedError

    def score(self, task, data: Encoded, outputs: list) -> dict[str, float]:
        raise NotImplementedError

    def random_batch(self, model, seq_len: int, batch_size: int, device) -> dict:
        raise NotImplementedError


def subset(n: int, limit: int | None, seed: int) -> list[int]:
    """Indices of a seeded random subset of ``limit`` of ``n`` rows, in dataset order (the same
    for every method); all rows when ``limit`` is None or not smaller than n."""
    order = list(range(n))
    if limit is not None and limit < n:
        order = sorted(random.Random(seed).sample(order, limit))
    return order


def pad(seqs: list[list[int]], value: int, width: int | None = None) -> torch.Tensor:
    """[len(seqs), width] long tensor, right-padded with ``value``."""
    width = width or max(len(s) for s in seqs)
    out = torch.full((len(seqs), width), value, dtype=torch.long)
    for row, s in enumerate(seqs):
        out[row, : len(s)] = torch.tensor(s, dtype=torch.long)
    return out


def mask(seqs: list[list[int]], width: int | None = None) -> torch.Tensor:
    width = width or max(len(s) for s in seqs)
    out = torch.zeros((len(seqs), width), dtype=torch.long)
    for row, s in enumerate(seqs):
        out[row, : len(s)] = 1
    return out


def random_ids(model, shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    """Token ids drawn uniformly from the vocabulary: timing does not depend on the text."""
    return torch.randint(1000, model.config.vocab_size, shape, generator=generator)
