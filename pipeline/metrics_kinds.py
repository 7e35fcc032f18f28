"""Official metrics for span QA, tagging, MultiRC and ReCoRD, in pure Python (0..1 scale).

Each function restates one official definition; the docstrings name the source. Every result
dict carries ``score``, the number the dev selection uses (as in ``pipeline.metrics.score``).
"""

from __future__ import annotations

import re
import string
from collections import Counter, defaultdict

_PUNCTUATION = frozenset(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def _check_lengths(**named: list) -> None:
    lengths = {name: len(values) for name, values in named.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"length mismatch: {lengths}")
    if not next(iter(lengths.values())):
        raise ValueError("no examples to score")


# --- SQuAD v1.1 (evaluate-v1.1.py: normalize_answer, exact_match_score, f1_score) -------------

def squad_normalize(text: str) -> str:
    """``normalize_answer`` of the SQuAD v1.1 script: lowercase, delete ``string.punctuation``
    (deleted, not replaced by a space), replace the whole words a/an/the by a space, then
    collapse whitespace."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def _token_f1(prediction: str, gold: str) -> float:
    pred, ref = squad_normalize(prediction).split(), squad_normalize(gold).split()
    same = sum((Counter(pred) & Counter(ref)).values())  # multiset intersection
    if same == 0:  # v1.1: also 0 when both are empty after normalisation
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


def squad_em_f1(prediction: str, golds: list[str]) -> tuple[float, float]:
    """Exact match and token F1 of one prediction, each the max over the gold answers
    (``metric_max_over_ground_truths``)."""
    if not golds:
        raise ValueError("a question needs at least one gold answer")
    norm = squad_normalize(prediction)
    em = max(float(norm == squad_normalize(g)) for g in golds)
    return em, max(_token_f1(prediction, g) for g in golds)


def squad_scores(predictions: list[str], golds: list[list[str]]) -> dict[str, float]:
    """Mean EM and F1 over questions; ``score`` is F1, the number SQuAD/XQuAD tables report
    first (EM is kept alongside)."""
    _check_lengths(predictions=predictions, golds=golds)
    pairs = [squad_em_f1(p, g) for p, g in zip(predictions, golds)]
    em = sum(e for e, _ in pairs) / len(pairs)
    f1 = sum(f for _, f in pairs) / len(pairs)
    return {"exact_match": em, "f1": f1, "score": f1}


# --- Entity-level F1 (seqeval 1.2.2 default mode = conlleval, IOB1/IOB2 tags) ----------------

def _split_tag(tag: str) -> tuple[str, str]:
    """'B-PER' -> ('B', 'PER'); 'O' -> ('O', '_') as seqeval does (untyped chunks are '_')."""
    if not (tag in ("O", "B", "I") or tag[:2] in ("B-", "I-")):
        raise ValueError(f"not an IOB tag: {tag!r} (only O, B-X, I-X are supported)")
    return tag[:1], tag[2:] or "_"


def _entities(tags: list[str]) -> set[tuple[str, int, int]]:
    """seqeval's ``get_entities`` restricted to IOB: an entity starts on B-X, or on I-X after
    O or after a tag of another type; it ends before B, before O, before a type change, and
    at the end of the sentence. Returns {(type, first index, last index)}."""
    entities, start = set(), 0
    prev_prefix, prev_type = "O", ""
    for i, tag in enumerate([*tags, "O"]):  # trailing O closes an entity open at the end
        prefix, type_ = _split_tag(tag)
        if prev_prefix != "O" and (prefix in ("B", "O") or type_ != prev_type):
            entities.add((prev_type, start, i - 1))
        if prefix == "B" or (prefix == "I" and (prev_prefix == "O" or type_ != prev_type)):
            start = i
        prev_prefix, prev_type = prefix, type_
    return entities


def seqeval_f1(pred_tags: list[list[str]], gold_tags: list[list[str]]) -> dict[str, float]:
    """Micro precision/recall/F1 over entities (``seqeval.metrics.classification_report``'s
    micro avg, default non-strict mode). A predicted entity counts only if type, start and end
    all match a gold one; entities never cross sentences. 0 where a denominator is 0 (seqeval's
    zero_division default)."""
    _check_lengths(pred_tags=pred_tags, gold_tags=gold_tags)
    tp = n_pred = n_gold = 0
    for pred, gold in zip(pred_tags, gold_tags):
        if len(pred) != len(gold):
            raise ValueError(f"sentence lengths differ: {len(pred)} predicted, {len(gold)} gold")
        p, g = _entities(pred), _entities(gold)
        tp, n_pred, n_gold = tp + len(p & g), n_pred + len(p), n_gold + len(g)
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "score": f1}


# --- SuperGLUE MultiRC and ReCoRD (Wang et al., 2019, SuperGLUE, Table 1 / Section 3) --------

def multirc_scores(question_ids: list, answer_labels: list[int],
                   predictions: list[int]) -> dict[str, float]:
    """MultiRC as SuperGLUE scores it: ``f1a`` = binary F1 (class 1) over all answer options;
    ``em`` = fraction of questions whose options are all predicted right (options grouped by
    the hashable ``question_ids``, e.g. (paragraph, question)).

    ``score`` = (f1a + em) / 2: SuperGLUE averages a task's metrics into its task score when it
    has two, and Compacter's Table 2 prints MultiRC as the pair "F1a/EM"."""
    _check_lengths(question_ids=question_ids, answer_labels=answer_labels,
                   predictions=predictions)
    pairs = list(zip(answer_labels, predictions))
    if any(v not in (0, 1) for pair in pairs for v in pair):
        raise ValueError("MultiRC labels and predictions must be 0 or 1")
    tp = sum(1 for g, p in pairs if g == 1 and p == 1)
    wrong = sum(1 for g, p in pairs if g != p)  # fp + fn
    f1a = 2 * tp / (2 * tp + wrong) if tp else 0.0
    all_right: dict = defaultdict(lambda: True)
    for qid, (g, p) in zip(question_ids, pairs):
        all_right[qid] = all_right[qid] and g == p
    em = sum(all_right.values()) / len(all_right)
    return {"f1a": f1a, "em": em, "score": (f1a + em) / 2}


def record_scores(query_ids: list, predictions: list[str],
                  golds: list[list[str]]) -> dict[str, float]:
    """ReCoRD v1.0 official script: per query, max token F1 and max EM of the predicted entity
    over the gold entity strings, with SQuAD's ``normalize_answer``; means over queries.

    ``score`` = (f1 + exact_match) / 2: SuperGLUE reports ReCoRD as F1/Accuracy (= EM) and
    averages the two into the task score; Compacter's Table 2 prints the pair "F1/EM"."""
    _check_lengths(query_ids=query_ids, predictions=predictions, golds=golds)
    repeated = [q for q, n in Counter(query_ids).items() if n > 1]
    if repeated:
        raise ValueError(f"query ids repeat: {repeated[:5]}")
    s = squad_scores(predictions, golds)
    return {"f1": s["f1"], "exact_match": s["exact_match"],
            "score": (s["f1"] + s["exact_match"]) / 2}
