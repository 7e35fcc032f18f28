"""ReCoRD (SuperGLUE): a query's "@placeholder" is one of the passage's entities. Each candidate
entity is a row: the pair (passage, query with the placeholder replaced by the entity), a
2-class sequence-classification head trained with cross-entropy, the gold entities positive and
the others negative. A candidate's score is its log-odds (logit "answer" − logit "not"; the same
model as one logit with binary cross-entropy), the query's prediction is its highest-scoring
candidate (the first one on a tie), and the metric is the official max token-F1 / EM over the
gold answers (``metrics_kinds.record_scores``).

``limit`` keeps a seeded subset of *queries* with all their candidates; ``meta["examples"]``
counts queries. Repeated entity strings of a passage are one candidate."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline import metrics_kinds
from pipeline.kinds.base import subset
from pipeline.kinds.classification import Classification
from pipeline.models import load_model

PLACEHOLDER = "@placeholder"
HIGHLIGHT = re.compile(r"([.!?])?\n@highlight\n")


@dataclass
class Queries:
    ids: list  # per query: (passage idx, query idx)
    answers: list[list[str]]  # per query: the gold entity strings
    query_of_row: list[int]  # per row: its query's position in ``ids``
    entity_of_row: list[str]  # per row: the candidate entity


def clean_passage(text: str) -> str:
    """The "@highlight" line markers before the summary bullets become sentence ends (a "."
    unless the text before ends with one)."""
    return HIGHLIGHT.sub(lambda m: (m.group(1) or ".") + " ", text)


class ReCoRD(Classification):
    name = "record"

    def columns(self, task):
        return list(task.fields)  # no "label" column: the answers are entity strings

    def load_model(self, model_name, task, seed):
        return load_model(model_name, 2, seed=seed)

    def texts(self, task, columns, order):
        return [[columns["passage"][i] for i in order], [columns["filled"][i] for i in order]]

    def encode(self, tokenizer, task, columns, max_len, limit, seed):
        order = subset(len(columns["query"]), limit, seed)
        queries = Queries([], [], [], [])
        rows: dict[str, list] = {"passage": [], "filled": [], "label": []}
        for q in order:
            passage, query = clean_passage(columns["passage"][q]), columns["query"][q]
            answers = list(columns["answers"][q])
            for entity in dict.fromkeys(columns["entities"][q]):
                rows["passage"].append(passage)
                rows["filled"].append(query.replace(PLACEHOLDER, entity))
                rows["label"].append(int(entity in answers))
                queries.query_of_row.append(len(queries.ids))
                queries.entity_of_row.append(entity)
            idx = columns["idx"][q]
            queries.ids.append((idx["passage"], idx["query"]))
            queries.answers.append(answers)
        data = super().encode(tokenizer, task, rows, max_len, None, seed)
        data.refs = queries
        data.meta["examples"] = len(order)
        return data

    def predict(self, model, inputs):
        logits = model(**inputs).logits.float().cpu()  # [batch, 2]
        return list((logits[:, 1] - logits[:, 0]).numpy())

    def score(self, task, data, outputs):
        queries: Queries = data.refs
        best: dict[int, tuple[float, str]] = {}
        for q, entity, s in zip(queries.query_of_row, queries.entity_of_row, outputs):
            if q not in best or s > best[q][0]:
                best[q] = (float(s), entity)
        # A query without candidates predicts nothing (scores 0).
        predictions = [best[q][1] if q in best else "" for q in range(len(queries.ids))]
        return metrics_kinds.record_scores(queries.ids, predictions, queries.answers)
