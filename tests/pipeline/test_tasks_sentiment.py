"""The 2023 paper's sentiment tasks (hub only): their hub rows become our fields + label through
each task's conversion (Amazon reviews, from mteb's copy since the original is defunct: the
review body, 3-star reviews dropped, > 3 stars positive; IndicSentiment, read from its repo's
files since the repo is a loading script: "Positive" -> 1, anything else 0), the zero-shot set
trains on the English one, and offline validation names both as needing the hub."""

import pytest

from pipeline.tasks import (TASKS, dev_source, hub_files, language_source, load_split,
                            train_source)
from test_spec_tasks import run  # a one-task-list spec through the CLI


def test_amazon_reviews_keep_the_body_drop_three_stars_and_split_at_three(fake_hub):
    calls, splits = fake_hub
    task = TASKS["sentiment"]
    url = "hf://datasets/mteb/amazon_reviews_multi/en/train.jsonl"
    assert hub_files(train_source(task)) == ("json", {"train": url})
    # mteb's copy: text = title + blank line + body, label = stars - 1
    splits[url] = {
        "id": ["a", "b", "c", "d", "e", "f"],
        "text": ["Junk\n\nawful", "Meh\n\nmeh", "Wow\n\ngreat.\n\nReally.", "\n\nbad",
                 "Nice\n\ngood", "Ok\n\nfine"],
        "label": [0, 2, 4, 1, 3, 2],
        "label_text": ["0", "2", "4", "1", "3", "2"],
    }
    rows = load_split(train_source(task), data_dir=None)
    assert calls == [("json", None, {"train": url}, "train")]
    # the body as the paper's code read it (review_body), paragraphs kept; no title
    assert rows == {"sentence": ["awful", "great.\n\nReally.", "bad", "good"],
                    "label": [0, 1, 0, 1]}
    assert list(rows) == [*task.fields, "label"]


def test_indic_sentiment_reads_the_repos_files_maps_positive_to_one_and_trains_on_amazon(fake_hub):
    calls, splits = fake_hub
    task = TASKS["indic_sentiment"]
    url = "hf://datasets/ai4bharat/IndicSentiment/data/test/hi.json"
    assert hub_files(language_source(task, "hi")) == ("json", {"test": url})
    splits[url] = {
        "ENGLISH REVIEW": ["good", "bad", "ok", "?"],
        "INDIC REVIEW": ["अच्छा", "बुरा", "ठीक", "?"],
        "LABEL": ["Positive", "Negative", "Neutral", None],
    }
    rows = load_split(language_source(task, "hi"), data_dir=None)
    assert calls == [("json", None, {"test": url}, "test")]
    assert rows == {"sentence": ["अच्छा", "बुरा", "ठीक", "?"], "label": [1, 0, 0, 0]}
    # zero-shot: trained and selected on the English Amazon reviews, like xquad -> squad
    assert train_source(task).task.name == dev_source(task).task.name == "sentiment"
    assert train_source(task).language is None
    assert task.languages == ("as", "bd", "bn", "gu", "hi", "kn", "ml", "mr", "or", "pa", "ta",
                              "te", "ur")


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
