"""MultiRC (SuperGLUE): every answer option of a question is a binary classification of the
pair (paragraph, question + " " + answer) with the sequence-classification head; the score
groups the options by question for F1a over all options and exact match per question.

``limit`` keeps a seeded subset of *questions* with all their options (a question with some of
its options dropped would change its exact match); ``meta["examples"]`` counts questions."""

from __future__ import annotations

from pipeline import metrics_kinds
from pipeline.kinds.base import subset
from pipeline.kinds.classification import Classification


def take(columns: dict[str, list], rows: list[int]) -> dict[str, list]:
    """The columns restricted to ``rows``, in that order."""
    return {name: [values[i] for i in rows] for name, values in columns.items()}


def question_id(idx: dict) -> tuple[int, int]:
    """A question's key in the HF layout (idx = {paragraph, question, answer})."""
    return idx["paragraph"], idx["question"]


class MultiRC(Classification):
    name = "multirc"

    def texts(self, task, columns, order):
        return [[columns["paragraph"][i] for i in order],
                [f"{columns['question'][i]} {columns['answer'][i]}" for i in order]]

    def refs(self, columns, order):
        return [question_id(columns["idx"][i]) for i in order]  # each row's question

    def encode(self, tokenizer, task, columns, max_len, limit, seed):
        questions = [question_id(idx) for idx in columns["idx"]]
        distinct = list(dict.fromkeys(questions))  # dataset order
        kept = {distinct[i] for i in subset(len(distinct), limit, seed)}
        rows = [r for r, q in enumerate(questions) if q in kept]
        data = super().encode(tokenizer, task, take(columns, rows), max_len, None, seed)
        data.meta["examples"] = len(kept)
        return data

    def score(self, task, data, outputs):
        return metrics_kinds.multirc_scores(data.refs, [int(y) for y in data.rows["labels"]],
                                            [int(p) for p in outputs])
