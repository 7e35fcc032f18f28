"""Multiple choice and token classification kinds on real mirrored data (COPA, Social IQa,
CoNLL-2003, XCOPA) with the tiny random-init BERT, and one real sweep per kind."""

import json
import textwrap

import numpy as np
import pytest
import torch

import adapters
from pipeline.cli import main
from pipeline.kinds import get_kind
from pipeline.models import load_tokenizer
from pipeline.spec import Training
from pipeline.tasks import default_data_dir, get_task, load_split, train_source
from pipeline.train import evaluate, train
from tracking.records import read_records

DATA = default_data_dir()
TOK = load_tokenizer("tiny-bert")


def encoded(task_name, limit=8, split=None):
    task = get_task(task_name)
    kind = get_kind(task.kind)
    source = train_source(task, split)
    columns = load_split(source, DATA, kind.columns(task))
    return task, kind, columns, kind.encode(TOK, task, columns, 64, limit, 0)


def test_copa_rows_hold_both_choices_with_the_connective():
    task, kind, columns, data = encoded("copa", limit=None)
    assert len(data) == 400 and all(len(row) == 2 for row in data.rows["input_ids"])
    first = TOK.decode(data.rows["input_ids"][0][0], skip_special_tokens=True)
    connective = {"cause": "because", "effect": "so"}[columns["question"][0]]
    assert first.startswith(columns["premise"][0].lower().rstrip(".")) and connective in first
    assert list(data.rows["labels"][:20]) == columns["label"][:20]
    batch = kind.collate(data, [0, 1, 2], TOK.pad_token_id)
    assert batch["input_ids"].shape[:2] == (3, 2) and batch["labels"].shape == (3,)
    assert batch["attention_mask"].sum() == sum(len(c) for i in range(3)
                                                for c in data.rows["input_ids"][i])


def test_social_iqa_has_three_choices_and_one_based_string_labels():
    task, kind, columns, data = encoded("social_iqa", split="validation", limit=None)
    assert all(len(row) == 3 for row in data.rows["input_ids"])
    assert list(data.rows["labels"][:50]) == [int(v) - 1 for v in columns["label"][:50]]
    assert set(data.rows["labels"]) == {0, 1, 2}


def test_multiple_choice_accuracy_from_outputs():
    task, kind, _, data = encoded("copa", limit=10)
    gold = list(data.rows["labels"])
    outputs = gold[:7] + [1 - g for g in gold[7:]]  # 7 of 10 right
    assert kind.score(task, data, outputs)["score"] == pytest.approx(0.7)


def test_token_labels_sit_on_each_words_first_subtoken():
    task, kind, columns, data = encoded("conll2003", limit=200)
    checked = 0
    for row in range(len(data)):
        ids, labels = data.rows["input_ids"][row], data.rows["labels"][row]
        firsts = data.refs["first_tokens"][row]
        words = data.refs["gold"][row]
        assert len(firsts) <= len(words)  # max_seq_len 64 cuts a few long sentences
        assert labels[0] == -100 and labels[-1] == -100  # [CLS], [SEP]
        kept = words[: len(firsts)]
        assert [labels[p] for p in firsts] == [task.label_names.index(t) for t in kept]
        assert sum(v != -100 for v in labels) == len(kept)  # other sub-tokens ignored
        checked += any(len(TOK.tokenize(w)) > 1 for w in TOK.convert_ids_to_tokens(ids))
    assert checked  # some word was split into several sub-tokens


def perfect_outputs(task, data):
    """Every kept word's gold tag at its first sub-token, "O" (0) elsewhere."""
    out = []
    for row in range(len(data)):
        tags = np.zeros(len(data.rows["input_ids"][row]), dtype=np.int64)
        for k, p in enumerate(data.refs["first_tokens"][row]):
            tags[p] = task.label_names.index(data.refs["gold"][row][k])
        out.append(tags)
    return out


def test_token_f1_from_outputs_and_truncated_words_count_as_missed():
    task, kind, columns, _ = encoded("conll2003")
    full = kind.encode(TOK, task, columns, 512, 50, 0)
    assert kind.score(task, full, perfect_outputs(task, full))["f1"] == 1.0
    # the same sentences in an 8-token window: the words cut off are predicted "O", so the
    # entities past the window are missed (and one cut in half is a wrong entity)
    short = kind.encode(TOK, task, columns, 8, 50, 0)
    assert short.refs["gold"] == full.refs["gold"]
    scores = kind.score(task, short, perfect_outputs(task, short))
    assert 0.0 < scores["recall"] < scores["precision"] <= 1.0


@pytest.mark.parametrize("task_name", ["copa", "conll2003"])
def test_adapter_trains_head_and_leaves_frozen_body_unchanged(task_name):
    task, kind, _, data = encoded(task_name, limit=16)
    model = kind.load_model("tiny-bert", task, seed=0)
    adapters.apply_method(model, "pfeiffer")
    frozen = {n: p.detach().clone() for n, p in model.named_parameters() if not p.requires_grad}
    head = {n: p.detach().clone() for n, p in model.named_parameters()
            if n.startswith("classifier")}
    assert head and all(model.get_parameter(n).requires_grad for n in head)
    training = Training(epochs=1, batch_size=8, max_seq_len=64)
    history, _ = train(model, kind, task, data, data, training, 1e-2, 0, TOK.pad_token_id,
                       torch.device("cpu"))
    assert len(history) == 1 and 0.0 <= history[0].scores["score"] <= 1.0
    for n, before in frozen.items():
        assert torch.equal(model.get_parameter(n), before), n
    assert any(not torch.equal(model.get_parameter(n), v) for n, v in head.items())
    # evaluation batches of any size give the same scores (outputs back in dataset order)
    scores = [evaluate(model, kind, task, data, bs, TOK.pad_token_id, torch.device("cpu"))
              for bs in (3, 16)]
    assert scores[0] == scores[1]


SPEC = """
name: kinds
model: tiny-bert
tasks: {tasks}
seeds: [0]
methods:
  - {{name: pfeiffer, lrs: [1.0e-3]}}
training: {{epochs: 1, max_train_samples: 16, max_eval_samples: 16, batch_size: 8, max_seq_len: 48{extra}}}
probes: {{cells: [[16, 2]], reps: 1, warmup: 1}}
resources: {{cpus_per_trial: 1, max_concurrent_trials: 2}}
"""


def test_sweep_with_every_kind_and_zero_shot_languages(tmp_path, local_ray, mlflow_template):
    """One real sweep: COPA (multiple choice) and CoNLL-2003 (tagging), records + probes; then
    XCOPA trained on COPA and scored zero-shot in two languages."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(textwrap.dedent(SPEC.format(tasks="[copa, conll2003]", extra="")))
    results = tmp_path / "results"
    mlflow_template.copy_to(results)
    assert main(["sweep", str(spec), "--results", str(results)]) == 0
    runs = {r["task"]: r for r in read_records(results, "runs").to_pylist()}
    assert set(runs) == {"copa", "conll2003"} and {r["status"] for r in runs.values()} == {"ok"}
    assert runs["conll2003"]["metric"] == "seqeval" and runs["copa"]["metric"] == "accuracy"
    assert runs["copa"]["train_split"] == "copa:train" and runs["copa"]["objective"] == "head"
    probes = read_records(results, "probes").to_pylist()
    # contended: another process disturbed the probe on this shared machine (recorded honestly)
    assert {p["status"] for p in probes} <= {"ok", "contended"} and len(probes) >= 2
    assert {p["batch_kind"] for p in probes} == {"multiple_choice", "token_classification"}

    spec.write_text(textwrap.dedent(SPEC.format(
        tasks="[xcopa]", extra=", eval_languages: [et, sw], eval_split: test")))
    assert main(["sweep", str(spec), "--results", str(results)]) == 0
    run = next(r for r in read_records(results, "runs").to_pylist() if r["task"] == "xcopa")
    assert run["train_split"] == "copa:train" and run["dev_split"] == "copa:validation"
    evals = [e for e in read_records(results, "evals").to_pylist()
             if e["trial_key"] == run["trial_key"] and e["language"] in ("et", "sw")]
    assert sorted((e["language"], e["split"]) for e in evals) == [("et", "xcopa/et:test"),
                                                                  ("sw", "xcopa/sw:test")]
    by_lang = json.loads(run["xling_scores"])
    assert by_lang == {e["language"]: e["score"] for e in evals}
    assert run["xling_mean"] == pytest.approx(sum(by_lang.values()) / 2)
