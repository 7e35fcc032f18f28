"""Extractive question answering (SQuAD v1.1, XQuAD): a start and an end logit per token, long
contexts split into overlapping windows, the best valid span over all windows of an example,
SQuAD's EM and F1.

Windows and decoding follow the conventions of Hugging Face's ``run_qa.py`` / ``utils_qa.py``:
a training window whose context does not hold the whole first gold answer points both targets
at the CLS token; a prediction is the highest ``start_logit + end_logit`` over the n-best starts
and ends that form a span inside the context, ``start <= end``, at most 30 tokens long.
"""

from __future__ import annotations

import numpy as np
import torch
from transformers import AutoModelForQuestionAnswering

from pipeline.kinds.base import Encoded, Kind, mask, pad, random_ids, subset
from pipeline.metrics_kinds import squad_scores
from pipeline.models import load_model

N_BEST = 20  # starts and ends considered per window (run_qa's n_best_size)
MAX_ANSWER_TOKENS = 30  # run_qa's max_answer_length
CLS = 0  # the CLS token's position: the target of a window without the answer


def doc_stride(max_len: int) -> int:
    """Tokens two neighbouring windows share: run_qa's default 128 of 384, the same ratio."""
    return max_len // 3


def best_span(start_logits: np.ndarray, end_logits: np.ndarray,
              offsets: list[tuple[int, int] | None]) -> tuple[float, int, int] | None:
    """(start_logit + end_logit, start token, end token) of the best valid span of one window,
    or None. Logits are [seq]; ``offsets[t]`` is token t's character span in the context, None
    for question, special and padding tokens."""
    n = min(len(offsets), len(start_logits))
    starts = np.argsort(start_logits[:n])[::-1][:N_BEST]
    ends = np.argsort(end_logits[:n])[::-1][:N_BEST]
    best = None
    for s in starts:
        for e in ends:
            if offsets[s] is None or offsets[e] is None or e < s or e - s + 1 > MAX_ANSWER_TOKENS:
                continue
            value = float(start_logits[s] + end_logits[e])
            if best is None or value > best[0]:
                best = (value, int(s), int(e))
    return best


def clip_questions(tokenizer, questions: list[str], max_tokens: int) -> list[str]:
    """Each question cut after its first ``max_tokens`` tokens. Questions in scripts an English
    vocabulary splits into characters (XQuAD ar/el/hi/ru: up to 181 MiniLM tokens) would
    otherwise leave no room for the context; no SQuAD question and no XQuAD question at
    run_qa's 384 tokens is cut."""
    enc = tokenizer(questions, add_special_tokens=False, return_offsets_mapping=True)
    return [q if len(offs) <= max_tokens else q[: offs[max_tokens - 1][1]]
            for q, offs in zip(questions, enc["offset_mapping"])]


def answer_tokens(offsets: list[tuple[int, int] | None], start_char: int, end_char: int
                  ) -> tuple[int, int]:
    """Target (start, end) token of the answer characters [start_char, end_char) in one window:
    the context tokens that contain its first and last character; (CLS, CLS) unless the window's
    context holds the whole answer."""
    ctx = [t for t, off in enumerate(offsets) if off is not None]
    if not (offsets[ctx[0]][0] <= start_char and offsets[ctx[-1]][1] >= end_char):
        return CLS, CLS
    start = max(t for t in ctx if offsets[t][0] <= start_char)
    end = min(t for t in ctx if offsets[t][1] >= end_char)
    return start, end


class ExtractiveQA(Kind):
    name = "extractive_qa"
    target_keys = ("start_positions", "end_positions")

    def columns(self, task):
        return list(task.fields)  # id, context, question, answers (no label column)

    def load_model(self, model_name, task, seed):
        # the head (qa_outputs: hidden -> start/end logit) sits outside base_model: always trained
        return load_model(model_name, num_labels=2, seed=seed,
                          auto_class=AutoModelForQuestionAnswering)

    def encode(self, tokenizer, task, columns, max_len, limit, seed):
        """One row per window; ``limit`` subsets examples (all windows of an example are kept).

        refs: per window ``example`` (index into ``contexts``/``answers``) and ``offsets``
        (context tokens only); per example ``contexts`` and gold ``answers`` (texts)."""
        order = subset(len(columns["id"]), limit, seed)
        stride = doc_stride(max_len)
        if max_len - max_len // 2 - 3 <= stride:  # context room after a clipped question
            raise ValueError(f"max_seq_len {max_len} leaves no room for QA windows (use >= 32)")
        questions = clip_questions(tokenizer, [columns["question"][i].strip() for i in order],
                                   max_len // 2)
        contexts = [columns["context"][i] for i in order]
        answers = [columns["answers"][i] for i in order]  # {"text": [...], "answer_start": [...]}
        enc = tokenizer(questions, contexts, truncation="only_second", max_length=max_len,
                        stride=stride, return_overflowing_tokens=True,
                        return_offsets_mapping=True)
        example = list(enc["overflow_to_sample_mapping"])  # window -> example
        offsets, starts, ends = [], [], []
        for w, ex in enumerate(example):
            in_context = [s == 1 for s in enc.sequence_ids(w)]
            offs = [tuple(o) if c else None for o, c in zip(enc["offset_mapping"][w], in_context)]
            first = answers[ex]["answer_start"][0]
            start, end = answer_tokens(offs, first, first + len(answers[ex]["text"][0]))
            offsets.append(offs)
            starts.append(start)
            ends.append(end)
        ids = enc["input_ids"]
        types = enc.get("token_type_ids") or [[0] * len(row) for row in ids]
        rows = {"input_ids": ids, "token_type_ids": types,
                "start_positions": np.asarray(starts, dtype=np.int64),
                "end_positions": np.asarray(ends, dtype=np.int64)}
        refs = {"example": example, "offsets": offsets, "contexts": contexts,
                "answers": [a["text"] for a in answers]}
        return Encoded(rows, [len(row) for row in ids], refs=refs,
                       meta={"examples": len(order)})

    def collate(self, data, idx, pad_id):
        ids = [data.rows["input_ids"][i] for i in idx]
        return {"input_ids": pad(ids, pad_id),  # [batch, seq]
                "token_type_ids": pad([data.rows["token_type_ids"][i] for i in idx], 0),
                "attention_mask": mask(ids),
                "start_positions": torch.from_numpy(data.rows["start_positions"][idx]),  # [batch]
                "end_positions": torch.from_numpy(data.rows["end_positions"][idx])}

    def predict(self, model, inputs):
        """Per row (start logits, end logits), numpy [row length] each."""
        out = model(**inputs)
        start = out.start_logits.float().cpu().numpy()  # [batch, seq]
        end = out.end_logits.float().cpu().numpy()
        lengths = inputs["attention_mask"].sum(-1).tolist()
        return [(start[r, :n], end[r, :n]) for r, n in enumerate(lengths)]

    def score(self, task, data, outputs):
        """Each example's answer is its best valid span over all its windows ("" if none)."""
        refs = data.refs
        best: list[tuple[float, str] | None] = [None] * len(refs["contexts"])
        for w, (start_logits, end_logits) in enumerate(outputs):
            ex, offsets = refs["example"][w], refs["offsets"][w]
            span = best_span(start_logits, end_logits, offsets)
            if span is not None and (best[ex] is None or span[0] > best[ex][0]):
                text = refs["contexts"][ex][offsets[span[1]][0] : offsets[span[2]][1]]
                best[ex] = (span[0], text)
        predictions = [b[1] if b is not None else "" for b in best]
        return squad_scores(predictions, refs["answers"])

    def random_batch(self, model, seq_len, batch_size, device):
        g = torch.Generator().manual_seed(0)
        ids = random_ids(model, (batch_size, seq_len), g)
        batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids),
                 "start_positions": torch.randint(0, seq_len, (batch_size,), generator=g),
                 "end_positions": torch.randint(0, seq_len, (batch_size,), generator=g)}
        return {k: v.to(device) for k, v in batch.items()}
