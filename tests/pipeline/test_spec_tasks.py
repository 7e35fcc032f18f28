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


def test_eval_languages_per_task(tmp_path, capsys, monkeypatch):
    """A mapping gives each task its own zero-shot languages (the 2023 paper's task families
    have different ones); a task left out gets none; a multi-task point keeps the mapping (its
    trial scores each task in that task's languages)."""
    from pipeline.grid import expand
    from pipeline.spec import load_spec

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    spec = tmp_path / "spec.yaml"
    text = textwrap.dedent("""
        name: t
        model: tiny-bert
        tasks: [xnli, xcopa, conll2003]
        methods: [pfeiffer, multitask_full]
        training: {{epochs: 1, train_split: validation, eval_split: test{extra}}}
    """)
    spec.write_text(text.format(extra=", eval_languages: {xnli: [de, hi], xcopa: [et]}"))
    points = {p.task: p for p in expand(load_spec(spec))}
    assert points["xnli"].training["eval_languages"] == ("de", "hi")
    assert points["xcopa"].training["eval_languages"] == ("et",)
    assert points["conll2003"].training["eval_languages"] == ()
    assert points["xnli+xcopa+conll2003"].training["eval_languages"] == {"xnli": ["de", "hi"],
                                                                        "xcopa": ["et"]}
    # a task without zero-shot languages keeps the key it has in a spec without any
    spec.write_text(text.format(extra=""))
    plain = {p.task: p for p in expand(load_spec(spec))}
    assert plain["conll2003"].trial_key == points["conll2003"].trial_key
    assert plain["xnli"].trial_key != points["xnli"].trial_key
    assert plain["xnli+xcopa+conll2003"].trial_key != points["xnli+xcopa+conll2003"].trial_key
    for extra, message in [
        (", eval_languages: {xnli: [de], rte: [de]}", "rte not among the spec's tasks"),
        (", eval_languages: {xnli: [de], xcopa: [de]}", "xcopa has no de; known: et"),
        (", eval_languages: {conll2003: [de]}", "task 'conll2003' is not multilingual"),
        (", eval_languages: {xnli: []}", "each task maps to a non-empty list"),
    ]:
        spec.write_text(text.format(extra=extra))
        code = main(["validate", str(spec)])
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1 and message in err, (extra, err)
    # offline: each task's own languages are checked, no other (no split "train" is mirrored)
    spec.write_text(text.format(extra=", eval_languages: {xnli: [de], xcopa: [et]}")
                    .replace("eval_split: test", "eval_split: train"))
    code = main(["validate", str(spec)])
    err = capsys.readouterr().err
    assert code == 2 and "xnli (de:train); xcopa (et:train)" in err, err
