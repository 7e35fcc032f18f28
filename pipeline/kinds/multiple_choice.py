"""Multiple choice (COPA, XCOPA, Social IQa): each choice is encoded with the context, the model
gives one score per choice ([batch, n_choices]), softmax over the choices, accuracy.

How an example becomes (context, choice) pairs depends only on its fields:
- COPA/XCOPA (premise, question, choice1, choice2): the premise joined to the choice by the
  connective the question asks for ("because" for a cause, "so" for an effect), the usual
  formulation for encoder models;
- Social IQa (context, question, answerA..C): "context question" paired with each answer; its
  label is the string "1".."3" (1-based, as in the HF set).
"""

from __future__ import annotations

import numpy as np
import torch
from transformers import AutoModelForMultipleChoice

from pipeline import metrics
from pipeline.kinds.base import Encoded, Kind, mask, pad, random_ids, subset
from pipeline.models import load_model

CONNECTIVE = {"cause": "because", "effect": "so"}


def choice_pairs(columns: dict[str, list], i: int) -> list[tuple[str, str]]:
    """(first segment, second segment) per choice of example ``i``."""
    if "choice1" in columns:  # COPA / XCOPA
        premise = columns["premise"][i].rstrip(".")
        question = columns["question"][i]
        # "cause" / "effect" in every COPA-shaped set we know; another question word is kept as
        # it is (the 2023 paper's code puts the question word itself before each choice).
        first = f"{premise} {CONNECTIVE.get(question, question)}"
        return [(first, columns["choice1"][i]), (first, columns["choice2"][i])]
    first = f"{columns['context'][i]} {columns['question'][i]}"  # Social IQa
    return [(first, columns[c][i]) for c in ("answerA", "answerB", "answerC")]


def label_index(value) -> int:
    return int(value) - 1 if isinstance(value, str) else int(value)  # SIQa: "1".."3"


class MultipleChoice(Kind):
    name = "multiple_choice"

    def load_model(self, model_name, task, seed):
        return load_model(model_name, num_labels=1, seed=seed,
                          auto_class=AutoModelForMultipleChoice)

    def encode(self, tokenizer, task, columns, max_len, limit, seed):
        order = subset(len(columns["label"]), limit, seed)
        pairs = [choice_pairs(columns, i) for i in order]
        flat = [p for example in pairs for p in example]
        enc = tokenizer([a for a, _ in flat], [b for _, b in flat], truncation=True,
                        max_length=max_len)
        types = enc.get("token_type_ids") or [[0] * len(ids) for ids in enc["input_ids"]]
        ids, type_rows, start = [], [], 0
        for example in pairs:  # regroup: one row = all choices of one example
            ids.append(enc["input_ids"][start : start + len(example)])
            type_rows.append(types[start : start + len(example)])
            start += len(example)
        labels = np.asarray([label_index(columns["label"][i]) for i in order], dtype=np.int64)
        return Encoded({"input_ids": ids, "token_type_ids": type_rows, "labels": labels},
                       [max(len(c) for c in row) for row in ids])

    def collate(self, data, idx, pad_id):
        rows = [data.rows["input_ids"][i] for i in idx]
        n_choices, width = len(rows[0]), max(len(c) for row in rows for c in row)
        flat = [c for row in rows for c in row]
        types = [t for i in idx for t in data.rows["token_type_ids"][i]]
        shape = (len(idx), n_choices, width)
        ids = pad(flat, pad_id, width).view(shape)  # [batch, choices, seq]
        return {"input_ids": ids, "token_type_ids": pad(types, 0, width).view(shape),
                "attention_mask": mask(flat, width).view(shape),
                "labels": torch.from_numpy(data.rows["labels"][idx])}

    def predict(self, model, inputs):
        return list(model(**inputs).logits.argmax(-1).cpu().numpy())  # logits [batch, choices]

    def score(self, task, data, outputs):
        return metrics.score("accuracy", np.asarray(outputs), data.rows["labels"])

    def random_batch(self, model, seq_len, batch_size, device):
        """``batch_size`` examples of two choices each (COPA's shape)."""
        g = torch.Generator().manual_seed(0)
        ids = random_ids(model, (batch_size, 2, seq_len), g)
        batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids),
                 "labels": torch.randint(0, 2, (batch_size,), generator=g)}
        return {k: v.to(device) for k, v in batch.items()}
