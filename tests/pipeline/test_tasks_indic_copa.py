"""The 2023 paper's COPA-style family: trained on Social IQa, scored zero-shot on IndicCOPA.
IndicCOPA's hub repo is a loading script (which `datasets` >= 4 refuses), so its split is read
from the repo's own file data/test.<lang>.jsonl; offline validation names both tasks."""

from pipeline.kinds.multiple_choice import choice_pairs
from pipeline.tasks import (TASKS, default_data_dir, dev_source, hub_files, language_source,
                            load_split, mirror_file, train_source)
from test_spec_tasks import run  # a one-task-list spec through the CLI


def test_indic_copa_reads_the_repos_jsonl_per_language_and_trains_on_social_iqa(fake_hub):
    calls, files = fake_hub
    task = TASKS["indic_copa"]
    url = "hf://datasets/ai4bharat/IndicCOPA/data/test.hi.jsonl"
    assert hub_files(language_source(task, "hi")) == ("json", {"test": url})
    files[url] = {"premise": ["आदमी ने नल खोला।"], "choice1": ["शौचालय भर गया।"],
                  "choice2": ["पानी बह निकला।"], "question": ["effect"], "label": [1],
                  "idx": [0], "changed": [False]}
    rows = load_split(language_source(task, "hi"), data_dir=None)
    assert calls == [("json", None, {"test": url}, "test")]
    assert rows == {"premise": ["आदमी ने नल खोला।"], "question": ["effect"],
                    "choice1": ["शौचालय भर गया।"], "choice2": ["पानी बह निकला।"], "label": [1]}
    # the kind pairs the premise with each choice by the question's connective
    assert choice_pairs(rows, 0) == [("आदमी ने नल खोला। so", "शौचालय भर गया।"),
                                     ("आदमी ने नल खोला। so", "पानी बह निकला।")]
    # zero-shot: trained on Social IQa's train split, the best epoch chosen on its validation
    assert train_source(task).task.name == dev_source(task).task.name == "social_iqa"
    assert (train_source(task).split, dev_source(task).split) == ("train", "validation")


def test_a_question_word_outside_cause_and_effect_is_kept():
    rows = {"premise": ["P."], "question": ["कारण"], "choice1": ["a"], "choice2": ["b"]}
    assert choice_pairs(rows, 0) == [("P कारण", "a"), ("P कारण", "b")]


def test_offline_validate_names_social_iqa_train_and_each_indic_copa_language(tmp_path, capsys,
                                                                             monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    # Social IQa's validation split is mirrored (../shared/data), its train split is not
    assert mirror_file(TASKS["social_iqa"], "validation", default_data_dir()) is not None
    code, out = run(tmp_path, capsys, "[indic_copa]", ", eval_languages: [hi, sat]")
    assert code == 2 and out.err.count("\n") == 1, out.err
    assert "social_iqa (train); indic_copa (hi:test, sat:test)" in out.err


def test_online_indic_copa_validates_and_an_unknown_language_does_not(tmp_path, capsys,
                                                                      monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    code, out = run(tmp_path, capsys, "[indic_copa]", ", eval_languages: [as, gom, ur]")
    assert code == 0, out.err
    code, out = run(tmp_path, capsys, "[indic_copa]", ", eval_languages: [xx]")
    assert code == 2 and "xx" in out.err, out.err
