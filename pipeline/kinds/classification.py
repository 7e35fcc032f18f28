"""Sequence classification and regression (GLUE, SuperGLUE's sentence-pair tasks, XNLI,
PAWS-X): one or two text fields, a head on the pooled output, the GLUE metrics."""

from __future__ import annotations

import numpy as np
import torch

from pipeline import metrics
from pipeline.kinds.base import Encoded, Kind, mask, pad, random_ids, subset
from pipeline.models import load_model


class Classification(Kind):
    name = "classification"

    def text_fields(self, task) -> tuple[str, ...]:
        return task.fields

    def load_model(self, model_name, task, seed):
        return load_model(model_name, task.num_labels, seed=seed)

    def texts(self, task, columns: dict[str, list], order: list[int]) -> list[list[str]]:
        """One list per text field (the tokenizer's text and text_pair)."""
        return [[columns[c][i] for i in order] for c in self.text_fields(task)]

    def labels(self, task, columns: dict[str, list], order: list[int]) -> np.ndarray:
        dtype = np.float32 if task.num_labels == 1 else np.int64
        return np.asarray([columns["label"][i] for i in order], dtype=dtype)

    def encode(self, tokenizer, task, columns, max_len, limit, seed):
        order = subset(len(columns["label"]), limit, seed)
        enc = tokenizer(*self.texts(task, columns, order), truncation=True, max_length=max_len)
        types = enc.get("token_type_ids") or [[0] * len(ids) for ids in enc["input_ids"]]
        return Encoded({"input_ids": enc["input_ids"], "token_type_ids": types,
                        "labels": self.labels(task, columns, order)},
                       [len(ids) for ids in enc["input_ids"]], refs=self.refs(columns, order))

    def refs(self, columns, order):
        return None

    def collate(self, data, idx, pad_id):
        ids = [data.rows["input_ids"][i] for i in idx]
        return {"input_ids": pad(ids, pad_id),  # [batch, seq]
                "token_type_ids": pad([data.rows["token_type_ids"][i] for i in idx], 0),
                "attention_mask": mask(ids),
                "labels": torch.from_numpy(data.rows["labels"][idx])}

    def predict(self, model, inputs):
        logits = model(**inputs).logits.float().cpu()  # [batch, num_labels]
        return list(logits.squeeze(-1).numpy() if logits.shape[-1] == 1 else
                    logits.argmax(-1).numpy())

    def score(self, task, data, outputs):
        return metrics.score(task.metric, np.asarray(outputs), data.rows["labels"])

    def random_batch(self, model, seq_len, batch_size, device):
        g = torch.Generator().manual_seed(0)
        ids = random_ids(model, (batch_size, seq_len), g)
        if model.config.num_labels == 1:
            labels = torch.rand(batch_size, generator=g)
        else:
            labels = torch.randint(0, model.config.num_labels, (batch_size,), generator=g)
        batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": labels}
        return {k: v.to(device) for k, v in batch.items()}
