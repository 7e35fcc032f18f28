"""The 2023 paper's sentiment tasks (hub only): their hub rows become our fields + label through
each task's conversion (Amazon reviews: 3-star reviews dropped, > 3 stars positive;
IndicSentiment: "Positive" -> 1, anything else 0), the zero-shot set trains on the English one,
and offline validation names both as needing the hub."""

import sys
import types

import pytest

from pipeline.tasks import TASKS, dev_source, language_source, load_split, train_source
from test_spec_tasks import run  # a one-task-list spec through the CLI


class HubSplit(dict):
    """What ``datasets.load_dataset(..., split=...)`` returns, as far as load_split reads it."""

    @property
    def column_names(self):
        return list(self)


@pytest.fixture
def hub(monkeypatch):
    """A fake ``datasets`` module serving hand-made hub rows; records what was asked for."""
    calls, splits = [], {}

    def load_dataset(hf_id, config, split):
        calls.append((hf_id, config, split))
        return HubSplit(splits[hf_id, config, split])

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=load_dataset))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    return calls, splits


def test_amazon_reviews_drop_three_stars_and_split_at_three(hub):
    calls, splits = hub
    splits["amazon_reviews_multi", "en", "train"] = {
        "review_id": ["a", "b", "c", "d", "e", "f"],
        "stars": [1, 3, 5, 2, 4, 3],
        "review_body": ["awful", "meh", "great", "bad", "good", "fine"],
        "review_title": ["t"] * 6,
    }
    task = TASKS["sentiment"]
    rows = load_split(train_source(task), data_dir=None)
    assert calls == [("amazon_reviews_multi", "en", "train")]
    assert rows == {"sentence": ["awful", "great", "bad", "good"], "label": [0, 1, 0, 1]}
    assert list(rows) == [*task.fields, "label"]


def test_indic_sentiment_maps_positive_to_one_and_trains_on_amazon(hub):
    calls, splits = hub
    splits["ai4bharat/IndicSentiment", "translation-hi", "test"] = {
        "ENGLISH REVIEW": ["good", "bad", "ok"],
        "INDIC REVIEW": ["अच्छा", "बुरा", "ठीक"],
        "LABEL": ["Positive", "Negative", "Neutral"],
    }
    task = TASKS["indic_sentiment"]
    rows = load_split(language_source(task, "hi"), data_dir=None)
    assert calls == [("ai4bharat/IndicSentiment", "translation-hi", "test")]
    assert rows == {"sentence": ["अच्छा", "बुरा", "ठीक"], "label": [1, 0, 0]}
    # zero-shot: trained and selected on the English Amazon reviews, like xquad -> squad
    assert train_source(task).task.name == dev_source(task).task.name == "sentiment"
    assert train_source(task).language is None
    assert task.languages == ("as", "bn", "gu", "hi", "kn", "ml", "mr", "or", "pa", "ta", "te")


def test_offline_validate_names_the_sentiment_tasks(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code, out = run(tmp_path, capsys, "[sst2, sentiment, indic_sentiment]")
    assert code == 2 and out.err.count("\n") == 1, out.err
    needs = out.err.split("hub:")[1]
    assert "sentiment (train, validation)" in needs and "sst2" not in needs
    # with zero-shot languages, each one's test split is named under the zero-shot task
    code, out = run(tmp_path, capsys, "[indic_sentiment]", ", eval_languages: [hi, ta]")
    assert code == 2 and out.err.count("\n") == 1, out.err
    assert "sentiment (train, validation); indic_sentiment (hi:test, ta:test)" in out.err


@pytest.mark.parametrize("tasks, extra", [
    ("[sentiment, sst2]", ""),
    ("[indic_sentiment]", ", eval_languages: [as, or, te]"),
])
def test_online_the_sentiment_tasks_validate(tmp_path, capsys, monkeypatch, tasks, extra):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    code, out = run(tmp_path, capsys, tasks, extra)
    assert code == 0, out.err
