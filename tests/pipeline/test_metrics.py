"""GLUE metrics against hand-computed values."""

import math

import numpy as np
import pytest

from pipeline.metrics import score

P = np.array


def test_accuracy_and_f1():
    s = score("f1_accuracy", P([1, 1, 0, 0]), P([1, 0, 1, 0]))
    assert s["accuracy"] == 0.5 and s["f1"] == 0.5 and s["score"] == 0.5
    s = score("f1_accuracy", P([1, 1, 1, 0]), P([1, 1, 0, 0]))
    assert s["f1"] == pytest.approx(2 * 2 / (2 * 2 + 1 + 0)) and s["accuracy"] == 0.75


def test_matthews():
    assert score("matthews", P([1, 1, 1, 0]), P([1, 1, 0, 0]))["score"] == \
        pytest.approx(2 / math.sqrt(12))
    assert score("matthews", P([1, 1, 1, 1]), P([1, 0, 1, 0]))["score"] == 0.0  # empty marginal


def test_pearson_spearman_with_ties():
    s = score("pearson_spearman", P([1.0, 2.0, 2.0, 3.0]), P([1.0, 2.0, 3.0, 4.0]))
    assert s["spearman"] == pytest.approx(3 / math.sqrt(10))
    assert s["pearson"] == pytest.approx(float(np.corrcoef([1, 2, 2, 3], [1, 2, 3, 4])[0, 1]))
    assert s["score"] == pytest.approx((s["pearson"] + s["spearman"]) / 2)


def test_unknown_metric():
    with pytest.raises(ValueError):
        score("bleu", P([1]), P([1]))
