"""Spec checks of the task options: offline validation names every task that needs the hub (one
line, exit 2, before anything starts), explicit splits, zero-shot languages, the objective."""

import textwrap

import pytest

from pipeline.cli import main

SPEC = """
name: t
model: tiny-bert
tasks: {tasks}
methods: [pfeiffer]
training: {{epochs: 1{extra}}}
"""


def run(tmp_path, capsys, tasks, extra="", command="validate"):
    spec = tmp_path / "spec.yaml"
    spec.write_text(textwrap.dedent(SPEC.format(tasks=tasks, extra=extra)))
    argv = [command, str(spec)] + (["--results", str(tmp_path / "r")] if command == "sweep" else [])
    code = main(argv)
    return code, capsys.readouterr()


def test_offline_validate_names_every_task_that_needs_the_hub(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for command in ("validate", "sweep"):
        code, out = run(tmp_path, capsys, "[sst2, qqp, mnli, copa, multirc, xnli]",
                        command=command)
        assert code == 2 and out.err.count("\n") == 1, out.err
        err = out.err
        # mirrored: sst2, copa (train + validation); mnli has only validation_matched here
        assert "qqp (train, validation)" in err and "mnli (train)" in err
        assert "multirc (train, validation)" in err and "xnli (en:train)" in err
        assert "sst2" not in err.split("hub:")[1] and "copa" not in err.split("hub:")[1]
    assert not (tmp_path / "r").exists()


def test_offline_spec_on_mirrored_splits_validates(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code, out = run(tmp_path, capsys, "[xnli]", ", train_split: validation, dev_split: "
                    "validation, eval_languages: [de, hi, sw], eval_split: test")
    assert code == 0, out.err
    code, out = run(tmp_path, capsys, "[xnli]", ", train_split: validation, eval_languages: "
                    "[de], eval_split: train")
    assert code == 2 and "xnli (de:train)" in out.err


def test_online_the_hub_tasks_validate(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    code, out = run(tmp_path, capsys, "[qqp, qnli, mnli, mnli_mm, boolq, multirc, record, pawsx]")
    assert code == 0, out.err


@pytest.mark.parametrize("extra, message", [
    (", eval_languages: [de]", "task 'sst2' is not multilingual"),
    (", train_split: ../../etc", "is not a split name"),
    (", eval_split: a/b", "is not a split name"),
    (", objective: text2text", "text2text needs a T5 model"),
    (", objective: lm", "training.objective: 'lm'; valid: head, text2text"),
])
def test_bad_task_options_are_one_line(tmp_path, capsys, extra, message):
    code, out = run(tmp_path, capsys, "[sst2]", extra)
    assert code == 2 and out.err.count("\n") == 1 and message in out.err, out.err


def test_unknown_language_lists_the_known_ones(tmp_path, capsys):
    code, out = run(tmp_path, capsys, "[xnli]", ", eval_languages: [de, xx]")
    assert code == 2 and "xnli has no xx; known: ar, bg, de" in out.err
