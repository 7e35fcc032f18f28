"""T5 text-to-text, as Compacter trains it (its public code, seq2seq/data/tasks.py): the source is
the task prefix and "field: value" pieces joined by spaces ("sst2 sentence: <text>"), the
target is the label word (str(label); STS-B rounded to one decimal), the loss is teacher-forced
cross-entropy over the target tokens, and predictions are greedy decodes mapped back to labels.

An output that is no label word counts as wrong: classification predicts ``(gold + 1) %
labels`` for it (for binary tasks the opposite of gold, Compacter's ``f1_score_with_invalid``;
a -1 would be ignored by our F1 and Matthews counts instead of counting against them); STS-B
parses the output as a float and gives -1.0 when it is none, as Compacter's
``string_to_float``. The official metric is then ``pipeline.metrics.score``, as for the head
objective, so the two objectives' scores compare.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable

import numpy as np
import torch
from transformers import AutoModelForSeq2SeqLM

from pipeline import metrics
from pipeline.kinds.base import Encoded, Kind, mask, pad, random_ids, subset
from pipeline.models import load_model

# task -> (prefix, pieces): each piece is shown as written, followed by the column of the same
# name without its colon. Prefixes and pieces are Compacter's, including its quirks: SuperGLUE
# prefixes "superglue-<task>", MNLI's "hypothesis" without a colon, COPA without its question,
# WiC with its word.
FORMATS: dict[str, tuple[str, tuple[str, ...]]] = {
    "cola": ("cola", ("sentence:",)),
    "sst2": ("sst2", ("sentence:",)),
    "mrpc": ("mrpc", ("sentence1:", "sentence2:")),
    "stsb": ("stsb", ("sentence1:", "sentence2:")),
    "qqp": ("qqp", ("question1:", "question2:")),
    "mnli": ("mnli", ("premise:", "hypothesis")),
    "mnli_mm": ("mnli", ("premise:", "hypothesis")),  # same training data and prefix as MNLI
    "qnli": ("qnli", ("question:", "sentence:")),
    "rte": ("rte", ("sentence1:", "sentence2:")),
    "wnli": ("wnli", ("sentence1:", "sentence2:")),
    "boolq": ("superglue-boolq", ("question:", "passage:")),
    "cb": ("superglue-cb", ("premise:", "hypothesis:")),
    "copa": ("superglue-copa", ("premise:", "choice1:", "choice2:")),  # label: "0" / "1"
    "wic": ("superglue-wic", ("sentence1:", "sentence2:", "word:")),
    "superglue_rte": ("superglue-rte", ("premise:", "hypothesis:")),
    # Not in Compacter: the same pattern, the task's name as prefix.
    "xnli": ("xnli", ("premise:", "hypothesis:")),
    "pawsx": ("pawsx", ("sentence1:", "sentence2:")),
}
# Greedy decoding stops here at the latest: the longest label word ("4.6") is at most 3 tokens
# and an EOS in T5's and MiniLM's vocabularies.
MAX_NEW_TOKENS = 8
STSB_WORDS = tuple(f"{v / 10:.1f}" for v in range(51))  # 0.0 .. 5.0: STS-B's targets


def format_name(task) -> str | None:
    """The FORMATS key of a task (zero-shot sets use their training task's, XCOPA: COPA's)."""
    name = task.train_task or task.name
    return name if name in FORMATS else None


def expresses(task) -> bool:
    return format_name(task) is not None


def fmt(task) -> tuple[str, tuple[str, ...]]:
    if not expresses(task):
        raise ValueError(f"training.objective text2text cannot express task {task.name!r} "
                         f"(kind {task.kind}): it has no task prefix and label words; "
                         f"text2text covers {', '.join(FORMATS)}")
    return FORMATS[format_name(task)]


def source_text(task, columns: dict[str, list], i: int) -> str:
    prefix, pieces = fmt(task)
    return " ".join([prefix] + [f"{p} {columns[p.rstrip(':')][i]}" for p in pieces])


def label_word(task, label) -> str:
    """Compacter: str(label); STS-B np.round(label, decimals=1) (its round_stsb_target rounds to
    0.1 steps, not T5's 0.2)."""
    return str(float(np.round(float(label), 1))) if task.num_labels == 1 else str(int(label))


@dataclass
class Answers:
    gold: np.ndarray  # [rows]: label ids (STS-B: scores)
    words: dict[str, int | float]  # label word as the tokenizer decodes it -> its label
    decode: Callable[[list[list[int]]], list[str]]  # token ids -> text, special tokens dropped


class Text2Text(Kind):
    name = "text2text"
    target_keys = ("labels",)

    def columns(self, task):
        return [p.rstrip(":") for p in fmt(task)[1]] + ["label"]

    def load_model(self, model_name, task, seed):
        fmt(task)  # fail before loading a model for a task that has no text-to-text form
        return load_model(model_name, seed=seed, auto_class=AutoModelForSeq2SeqLM)

    def encode(self, tokenizer, task, columns, max_len, limit, seed):
        order = subset(len(columns["label"]), limit, seed)
        sources = [source_text(task, columns, i) for i in order]
        src = tokenizer(sources, truncation=True, max_length=max_len)["input_ids"]
        eos = tokenizer.eos_token_id if tokenizer.eos_token_id is not None \
            else tokenizer.sep_token_id  # MiniLM's tokenizer: [SEP], the built-in T5s' EOS
        words = [label_word(task, columns["label"][i]) for i in order]
        tgt = [ids + [eos] for ids in tokenizer(words, add_special_tokens=False)["input_ids"]]
        regression = task.num_labels == 1
        vocab = STSB_WORDS if regression else [str(i) for i in range(task.num_labels or 2)]
        decode = partial(tokenizer.batch_decode, skip_special_tokens=True)
        spelled = decode(tokenizer(list(vocab), add_special_tokens=False)["input_ids"])
        gold = np.asarray([columns["label"][i] for i in order],
                          dtype=np.float32 if regression else np.int64)
        return Encoded({"input_ids": src, "labels": tgt}, [len(s) for s in src],
                       refs=Answers(gold, {s.strip(): float(w) if regression else int(w)
                                           for s, w in zip(spelled, vocab)}, decode))

    def collate(self, data, idx, pad_id):
        ids = [data.rows["input_ids"][i] for i in idx]
        return {"input_ids": pad(ids, pad_id),  # [batch, seq]
                "attention_mask": mask(ids),  # [batch, seq]
                "labels": pad([data.rows["labels"][i] for i in idx], -100)}  # [batch, tgt]

    def predict(self, model, inputs):
        """Greedy decodes as token ids (score() decodes them with the task data's tokenizer)."""
        return greedy(model, inputs, MAX_NEW_TOKENS).cpu().tolist()

    def to_labels(self, task, answers: Answers, texts: list[str]) -> np.ndarray:
        """Decoded outputs -> predictions; one that is no label word counts as wrong."""
        texts = [t.strip() for t in texts]
        if task.num_labels == 1:
            return np.asarray([answers.words.get(t, _float(t)) for t in texts], dtype=np.float32)
        n = len(answers.words)
        return np.asarray([answers.words.get(t, (g + 1) % n)
                           for t, g in zip(texts, answers.gold)], dtype=np.int64)

    def score(self, task, data, outputs):
        answers = data.refs
        pred = self.to_labels(task, answers, answers.decode(outputs))
        return metrics.score(task.metric, pred, answers.gold)

    def random_batch(self, model, seq_len, batch_size, device):
        """Random source ids and a 2-token target (a label word and EOS); the decoder inputs
        are given, so the inference probe's forward (labels removed) runs the decoder too."""
        g = torch.Generator().manual_seed(0)
        ids = random_ids(model, (batch_size, seq_len), g)  # [batch, seq]
        labels = random_ids(model, (batch_size, 2), g)  # [batch, 2]
        labels[:, -1] = model.config.eos_token_id
        start = torch.full((batch_size, 1), model.config.decoder_start_token_id)
        batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": labels,
                 "decoder_input_ids": torch.cat([start, labels[:, :-1]], dim=1)}  # [batch, 2]
        return {k: v.to(device) for k, v in batch.items()}


@torch.no_grad()
def greedy(model, inputs: dict[str, torch.Tensor], max_new_tokens: int) -> torch.Tensor:
    """What ``model.generate(num_beams=1, do_sample=False)`` returns ([batch, 1 + steps]: the
    decoder start, the argmax tokens, pad after EOS), computed with the model's own forward at
    every step: generate calls the encoder directly, past hooks on the model's forward
    (prompt tuning prepends its prompt there), so its encoder would not see what training saw.
    Costs an encoder pass per step; label words are short and decoding stops at EOS."""
    cfg = model.config
    ids = inputs["input_ids"]
    out = torch.full((ids.shape[0], 1), cfg.decoder_start_token_id, device=ids.device)
    done = torch.zeros(ids.shape[0], dtype=torch.bool, device=ids.device)  # [batch]
    for _ in range(max_new_tokens):
        logits = model(**inputs, decoder_input_ids=out, use_cache=False).logits  # [b, t, V]
        step = logits[:, -1].argmax(-1).masked_fill(done, cfg.pad_token_id)  # [batch]
        out = torch.cat([out, step[:, None]], dim=1)
        done |= step == cfg.eos_token_id
        if done.all():
            break
    return out


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return -1.0
