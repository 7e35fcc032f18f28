"""Multi-task training: batches mix tasks in the configured proportions, each head sees only its
own task's rows, the shared encoder gets gradients from every task, and the adapter variant
shares one frozen encoder (tiny random-init BERT, real SST-2 and RTE rows)."""

import pytest
import torch

import adapters
from pipeline.kinds import get_kind
from pipeline.models import load_tokenizer
from pipeline.multitask import task_probabilities, tie_bodies, train_multitask
from pipeline.multitask_config import MultitaskConfig, make_config
from pipeline.spec import Training
from pipeline.tasks import default_data_dir, get_task, load_split, train_source

TOK = load_tokenizer("tiny-bert")
KIND = get_kind("classification")


def data(name, n):
    task = get_task(name)
    columns = load_split(train_source(task), default_data_dir(), KIND.columns(task))
    return task, KIND.encode(TOK, task, columns, 32, n, 0)


def build(method="full", names=("sst2", "rte")):
    models = {}
    for name in names:
        models[name] = KIND.load_model("tiny-bert", get_task(name), seed=0)
        adapters.apply_method(models[name], method)
    tie_bodies(list(models.values()), train_body=method == "full")
    return models


def test_sampling_probabilities_by_hand():
    assert task_probabilities([60, 20], MultitaskConfig()) == [0.75, 0.25]
    # T = 2: sqrt(64) : sqrt(16) = 8 : 4
    assert task_probabilities([64, 16], MultitaskConfig(sampling="temperature", temperature=2)) \
        == pytest.approx([2 / 3, 1 / 3])
    with pytest.raises(ValueError, match="sampling 'uniformly'"):
        MultitaskConfig(sampling="uniformly")
    with pytest.raises(ValueError, match="needs an adapter method"):
        make_config("multitask_adapter", {})


@pytest.mark.parametrize("sampling, share", [("proportional", 0.75), ("temperature", 60 ** 0.5 / (60 ** 0.5 + 20 ** 0.5))])
def test_batches_mix_tasks_in_proportion_and_heads_see_only_their_task(sampling, share):
    (sst2, sst2_rows), (rte, rte_rows) = data("sst2", 60), data("rte", 20)
    models = build()
    seen = {"sst2": 0, "rte": 0}
    for name, model in models.items():
        def count(module, inputs, output, name=name):
            if module.training:
                seen[name] += inputs[0].shape[0]
        model.classifier.register_forward_hook(count)
    training = Training(epochs=10, batch_size=4, max_seq_len=32)  # 15 + 5 steps an epoch
    config = MultitaskConfig(sampling=sampling)
    dev = {"sst2": data("sst2", 4)[1], "rte": data("rte", 4)[1]}  # evaluation is not the point
    history, seconds, drawn = train_multitask(
        models, {"sst2": KIND, "rte": KIND}, {"sst2": sst2, "rte": rte},
        {"sst2": sst2_rows, "rte": rte_rows}, dev, training,
        1e-3, 0, TOK.pad_token_id, torch.device("cpu"), config)
    assert sum(drawn.values()) == 200
    # binomial(200, share): 4 standard deviations (~25 batches) around the expectation
    sd = (200 * share * (1 - share)) ** 0.5
    assert abs(drawn["sst2"] - 200 * share) < 4 * sd, drawn
    assert seen == {t: 4 * n for t, n in drawn.items()}  # each head: its own task's rows only
    assert [len(h) for h in history.values()] == [10, 10] and seconds > 0


def test_shared_encoder_gets_gradients_from_every_task_and_heads_are_separate():
    models = build()
    shared = models["sst2"].bert.encoder.layer[0].attention.self.query.weight
    assert models["rte"].bert.encoder.layer[0].attention.self.query.weight is shared
    assert models["rte"].classifier.weight is not models["sst2"].classifier.weight
    assert models["rte"].bert.pooler.dense.weight is not models["sst2"].bert.pooler.dense.weight
    for name in models:
        task, rows = data(name, 4)
        shared.grad = None
        models[name](**KIND.collate(rows, [0, 1, 2, 3], TOK.pad_token_id)).loss.backward()
        assert shared.grad is not None and shared.grad.abs().sum() > 0, name


def test_adapter_variant_shares_one_frozen_encoder_and_keeps_adapters_per_task():
    models = build("pfeiffer")
    a, b = models["sst2"], models["rte"]
    frozen = [(n, p) for n, p in a.named_parameters() if not p.requires_grad]
    b_params = dict(b.named_parameters())
    assert all(b_params[n] is p for n, p in frozen)  # one frozen body
    trained_a = {id(p) for p in a.parameters() if p.requires_grad}
    assert not trained_a & {id(p) for p in b.parameters() if p.requires_grad}  # own adapters+head
    before = {n: p.detach().clone() for n, p in frozen}
    (sst2, s_rows), (rte, r_rows) = data("sst2", 16), data("rte", 16)
    train_multitask(models, {"sst2": KIND, "rte": KIND}, {"sst2": sst2, "rte": rte},
                    {"sst2": s_rows, "rte": r_rows}, {"sst2": s_rows, "rte": r_rows},
                    Training(epochs=1, batch_size=4, max_seq_len=32), 1e-2, 0, TOK.pad_token_id,
                    torch.device("cpu"), MultitaskConfig(adapter="pfeiffer"))
    assert all(torch.equal(p, before[n]) for n, p in frozen)


SPEC = """
name: mt
model: tiny-bert
tasks: [sst2, copa]
seeds: [0]
methods:
  - {name: multitask_full, lrs: [1.0e-3], config: {sampling: temperature, temperature: 2}}
training: {epochs: 1, max_train_samples: 16, max_eval_samples: 8, batch_size: 8, max_seq_len: 32}
resources: {cpus_per_trial: 1, max_concurrent_trials: 1}
"""


def test_multitask_sweep_writes_a_record_and_a_child_run_per_task_and_resumes(tmp_path, local_ray,
                                                                             mlflow_template):
    """A real sweep: one grid point over SST-2 (classification) and COPA (multiple choice)."""
    import json
    import textwrap

    from pipeline.cli import main
    from tracking.mlflow_log import count_child_runs, default_tracking_uri
    from tracking.records import read_records

    spec = tmp_path / "spec.yaml"
    spec.write_text(textwrap.dedent(SPEC))
    results = tmp_path / "results"
    mlflow_template.copy_to(results)
    assert main(["sweep", str(spec), "--results", str(results)]) == 0
    runs = read_records(results, "runs").to_pylist()
    assert sorted(r["task"] for r in runs) == ["copa", "sst2"]
    group = runs[0]["group_key"]
    assert {r["trial_key"] for r in runs} == {f"{group}:sst2", f"{group}:copa"}
    assert {r["status"] for r in runs} == {"ok"} and {r["method"] for r in runs} == {"multitask_full"}
    assert all(json.loads(r["group_tasks"]) == ["sst2", "copa"] for r in runs)
    assert sum(r["batches"] for r in runs) == 4  # 2 + 2 batches of 8 make one epoch
    assert len({r["train_time_s"] for r in runs}) == 1  # the group's training time
    evals = read_records(results, "evals").to_pylist()
    assert sorted(e["task"] for e in evals) == ["copa", "sst2"]
    uri = default_tracking_uri(results)
    children = count_child_runs(uri, "mt")
    assert sorted(c.data.tags["trial_key"] for c in children) == sorted(r["trial_key"] for r in runs)
    # resume: the group is done, nothing runs again
    assert main(["sweep", str(spec), "--results", str(results)]) == 0
    assert len(read_records(results, "runs")) == 2 and len(count_child_runs(uri, "mt")) == 2


def test_adding_a_task_without_replay_leaves_old_heads_unchanged():
    models = build(names=("sst2", "rte"))
    old_head = {n: p.detach().clone() for n, p in models["sst2"].named_parameters()
                if n.startswith(("classifier", "bert.pooler"))}
    body = models["sst2"].bert.encoder.layer[0].output.dense.weight
    body_before = body.detach().clone()
    (sst2, s_rows), (rte, r_rows) = data("sst2", 16), data("rte", 16)
    history, _, drawn = train_multitask(
        models, {"sst2": KIND, "rte": KIND}, {"sst2": sst2, "rte": rte},
        {"sst2": s_rows, "rte": r_rows}, {"sst2": s_rows, "rte": r_rows},
        Training(epochs=1, batch_size=4, max_seq_len=32), 1e-2, 0, TOK.pad_token_id,
        torch.device("cpu"), MultitaskConfig(new_task="rte"), share={"sst2": 0.0, "rte": 1.0})
    assert drawn == {"sst2": 0, "rte": 4}  # replay 0: no old batch
    assert all(torch.equal(models["sst2"].get_parameter(n), v) for n, v in old_head.items())
    assert not torch.equal(body, body_before)  # the shared body moved: what forgetting measures
    assert len(history["sst2"]) == 1  # the old task is still evaluated


def test_multitask_add_trial_records_time_to_add_and_scores_before(tmp_path):
    import json

    from pipeline import trial
    from pipeline.grid import expand
    from pipeline.spec import SpecError, parse_spec

    raw = dict(name="add", model="tiny-bert", tasks=["sst2", "rte", "copa"],
               methods=[{"name": "multitask_add", "lrs": [1e-3],
                         "config": {"new_task": "copa", "replay": 0.5}}],
               training=dict(epochs=1, max_train_samples=16, max_eval_samples=8, batch_size=8,
                             max_seq_len=32))
    point = expand(parse_spec(raw))[0]
    assert point.task == "sst2+rte+copa"
    first = trial.run_trial(point, trial.SweepContext(str(tmp_path), "", None, None, "t", 1))
    assert first["status"] == "ok", first["error"]
    from tracking.records import read_records

    runs = {r["task"]: r for r in read_records(tmp_path, "runs").to_pylist()}
    assert set(runs) == {"sst2", "rte", "copa"}
    assert all(r["add_time_s"] > 0 for r in runs.values())
    assert runs["copa"]["score_before_add"] is None
    assert all(runs[t]["score_before_add"] is not None for t in ("sst2", "rte"))
    # steps: 1 epoch on the old tasks (16/8 + 16/8 = 4), then copa's 16/8 = 2 with half the
    # old data (8/8 + 8/8 = 2); which task each step draws is the sampler's
    assert sum(r["batches"] for r in runs.values()) == 8 and 1 <= runs["copa"]["batches"] <= 4
    evals = read_records(tmp_path, "evals").to_pylist()
    assert sorted((e["task"], e["epoch"]) for e in evals) == [
        ("copa", 2), ("rte", 1), ("rte", 2), ("sst2", 1), ("sst2", 2)]
    assert json.loads(runs["sst2"]["group_tasks"]) == ["sst2", "rte", "copa"]
    raw["methods"][0]["config"]["new_task"] = "boolq"
    with pytest.raises(SpecError, match="new_task 'boolq' must be one of the spec's tasks"):
        parse_spec(raw)


def test_multitask_trial_scores_each_tasks_own_zero_shot_languages(tmp_path):
    """A multi-task group evaluates every task zero-shot in that task's languages (the 2023
    paper's multi-task model is scored cross-lingually like each single-task model): one eval row
    per (task, language), the mean in that task's run record, none for a task without any."""
    from pipeline import trial
    from pipeline.grid import expand
    from pipeline.spec import parse_spec
    from tracking.records import read_records

    raw = dict(name="mtx", model="tiny-bert", tasks=["wikiann", "xcopa", "sst2"],
               methods=[{"name": "multitask_full", "lrs": [1e-3]}],
               training=dict(epochs=1, max_train_samples=16, max_eval_samples=8, batch_size=8,
                             max_seq_len=32, eval_languages={"wikiann": ["de", "hi"],
                                                             "xcopa": ["et"]}))
    point = expand(parse_spec(raw))[0]
    first = trial.run_trial(point, trial.SweepContext(str(tmp_path), "", None, None, "t", 1))
    assert first["status"] == "ok", first["error"]
    runs = {r["task"]: r for r in read_records(tmp_path, "runs").to_pylist()}
    evals = read_records(tmp_path, "evals").to_pylist()
    zero_shot = sorted((e["task"], e["language"]) for e in evals
                       if e["language"] not in (None, "en"))  # dev sets are in English
    assert zero_shot == [("wikiann", "de"), ("wikiann", "hi"), ("xcopa", "et")]
    for task, langs in (("wikiann", ("de", "hi")), ("xcopa", ("et",))):
        by_lang = {e["language"]: e["score"] for e in evals
                   if e["task"] == task and e["language"] in langs}
        assert runs[task]["xling_scores"] is not None
        assert runs[task]["xling_mean"] == pytest.approx(sum(by_lang.values()) / len(by_lang))
    assert runs["sst2"]["xling_mean"] is None
