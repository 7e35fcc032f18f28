"""Official GLUE metrics, in numpy (same definitions as sklearn / scipy / the GLUE scorer)."""

from __future__ import annotations

import numpy as np


def accuracy(pred: np.ndarray, gold: np.ndarray) -> float:
    return float(np.mean(pred == gold))


def f1(pred: np.ndarray, gold: np.ndarray) -> float:
    """Binary F1 of the positive class (label 1), as GLUE reports for MRPC and QQP."""
    tp = float(np.sum((pred == 1) & (gold == 1)))
    fp = float(np.sum((pred == 1) & (gold == 0)))
    fn = float(np.sum((pred == 0) & (gold == 1)))
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


def matthews(pred: np.ndarray, gold: np.ndarray) -> float:
    """Matthews correlation for binary labels (CoLA); 0 when a marginal is empty."""
    tp = float(np.sum((pred == 1) & (gold == 1)))
    tn = float(np.sum((pred == 0) & (gold == 0)))
    fp = float(np.sum((pred == 1) & (gold == 0)))
    fn = float(np.sum((pred == 0) & (gold == 1)))
    denom = np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    return 0.0 if denom == 0 else float((tp * tn - fp * fn) / denom)


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    x = x - x.mean()
    y = y - y.mean()
    denom = np.sqrt((x * x).sum() * (y * y).sum())
    return 0.0 if denom == 0 else float((x * y).sum() / denom)


def _ranks(a: np.ndarray) -> np.ndarray:
    """Average ranks with ties (scipy.stats.rankdata's 'average')."""
    order = np.argsort(a, kind="mergesort")
    sorted_a = a[order]
    ranks = np.empty(len(a), dtype=np.float64)
    i = 0
    while i < len(a):
        j = i
        while j + 1 < len(a) and sorted_a[j + 1] == sorted_a[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    return pearson(_ranks(x), _ranks(y))


# metric name -> (function over (pred, gold) returning a dict of named scores, main score name)
def score(metric: str, pred: np.ndarray, gold: np.ndarray) -> dict[str, float]:
    """All of a task's official scores; key ``score`` is the one the dev selection uses
    (the mean of the two for F1/accuracy and Pearson/Spearman, as the GLUE leaderboard does)."""
    if metric == "accuracy":
        s = {"accuracy": accuracy(pred, gold)}
        s["score"] = s["accuracy"]
    elif metric == "f1_accuracy":
        s = {"f1": f1(pred, gold), "accuracy": accuracy(pred, gold)}
        s["score"] = (s["f1"] + s["accuracy"]) / 2
    elif metric == "matthews":
        s = {"matthews": matthews(pred, gold)}
        s["score"] = s["matthews"]
    elif metric == "pearson_spearman":
        s = {"pearson": pearson(pred, gold), "spearman": spearman(pred, gold)}
        s["score"] = (s["pearson"] + s["spearman"]) / 2
    else:
        raise ValueError(f"unknown metric {metric!r}")
    return s
