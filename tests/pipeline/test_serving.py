"""Serving k tasks (issue 11): one multi-task model runs its encoder once per batch for k heads;
k full models and k adapter sets are k copies in memory; a multi-task trial's probes time its
k-task cells (tiny random-init BERT)."""

import pytest
import torch

import adapters
from adapters.multitask import MultiTaskParallel, PerTask
from pipeline.models import load_model
from pipeline.multitask import tie_bodies
from pipeline.probes import prepare
from pipeline.serving import SharedEncoderHeads, TaskGroup

CPU = torch.device("cpu")


def task_models(method="full", labels=(2, 3)):
    """A multi-task model's task models: one per task, own head, tied body (as the trial builds)."""
    models = [load_model("tiny-bert", num_labels=n, seed=t) for t, n in enumerate(labels)]
    for m in models:
        adapters.apply_method(m, method)
    tie_bodies(models, train_body=method == "full")
    return [m.eval() for m in models]


def batch(b=4, s=8):
    ids = torch.randint(1000, 2000, (b, s))
    return dict(input_ids=ids, attention_mask=torch.ones_like(ids))


def count_calls(root: torch.nn.Module, type_name: str) -> list:
    calls = []
    for m in root.modules():
        if type(m).__name__ == type_name:
            m.register_forward_hook(lambda *a: calls.append(1))
    return calls


def test_one_encoder_pass_serves_k_heads_with_each_tasks_own_output():
    models = task_models()
    served = SharedEncoderHeads([models[0], models[1], models[0]])  # k = 3 heads, 2 tasks
    layers = count_calls(served, "BertLayer")
    embeddings = count_calls(served, "BertEmbeddings")
    heads = [count_calls(view.classifier, "Linear") for view in served.tasks]
    inputs = batch()
    with torch.no_grad():
        outputs = served(**inputs)
        assert len(layers) == 2 and len(embeddings) == 1  # 2 layers, once: not k = 3 times
        assert [len(h) for h in heads] == [1, 1, 1]  # every head once
        assert [o.logits.shape for o in outputs] == [(4, 2), (4, 3), (4, 2)]
        for model, out in zip([models[0], models[1], models[0]], outputs):
            assert torch.allclose(model(**inputs).logits, out.logits, atol=1e-6)
        # a second batch is served from its own encoder pass, not the first batch's
        other = batch()
        assert torch.allclose(served(**other)[1].logits, models[1](**other).logits, atol=1e-6)


def test_task_models_with_their_own_bodies_are_refused():
    untied = [load_model("tiny-bert", num_labels=2, seed=t) for t in (0, 1)]
    with pytest.raises(ValueError, match="does not share task 0's"):
        SharedEncoderHeads(untied)


def test_memory_holds_one_body_and_k_heads():
    models = task_models()
    served = SharedEncoderHeads([models[0], models[1], models[0]])
    body = sum(p.numel() for n, p in models[0].named_parameters()
               if n.startswith(("bert.embeddings", "bert.encoder")))
    head = sum(p.numel() for n, p in models[0].named_parameters()
               if n.startswith(("bert.pooler", "classifier")))
    head1 = sum(p.numel() for n, p in models[1].named_parameters()
                if n.startswith(("bert.pooler", "classifier")))
    distinct = {p.data_ptr(): p.numel() for p in served.parameters()}
    assert sum(distinct.values()) == body + 2 * head + head1


def test_task_group_prepares_the_multitask_model_or_k_adapter_sets():
    full = TaskGroup(task_models()).prepare(dropped_layers=0, n_tasks=3)
    assert isinstance(full, SharedEncoderHeads) and len(full.tasks) == 3
    single = TaskGroup(task_models()).prepare(dropped_layers=0, n_tasks=1)
    assert type(single).__name__ == "BertForSequenceClassification"
    parallel = TaskGroup(task_models("pfeiffer", (2, 2))).prepare(dropped_layers=1, n_tasks=3)
    assert isinstance(parallel, MultiTaskParallel) and parallel.num_shared == 1
    per_task = [m for m in parallel.modules() if isinstance(m, PerTask)][0]
    assert len({id(m) for m in per_task.tasks}) == 3  # k adapter sets, not one set k times
    assert parallel(**batch()).shape == (3, 4, 2)


def test_k_full_models_and_k_adapter_sets_are_k_copies():
    sequential = prepare(load_model("tiny-bert", 2), dropped_layers=0, n_tasks=3)
    assert len({m.classifier.weight.data_ptr() for m in sequential}) == 3
    model = load_model("tiny-bert", 2)
    adapters.apply_method(model, "pfeiffer")
    parallel = prepare(model, dropped_layers=0, n_tasks=3)
    per_task = [m for m in parallel.modules() if isinstance(m, PerTask)][0]
    assert len({id(m) for m in per_task.tasks}) == 3


@pytest.mark.parametrize("method", ["multitask_full", "multitask_adapter"])
def test_a_probe_only_multitask_trial_times_its_k_task_cells(tmp_path, monkeypatch, method):
    from pipeline.grid import GridPoint
    from pipeline.trial import SweepContext, run_trial
    from tracking.records import read_records

    prepared = {}
    real = TaskGroup.prepare

    def spy(self, dropped_layers, n_tasks):
        prepared[n_tasks] = out = real(self, dropped_layers, n_tasks)
        return out
    monkeypatch.setattr(TaskGroup, "prepare", spy)
    config = {"adapter": "pfeiffer"} if method == "multitask_adapter" else {}
    point = GridPoint(sweep="s", model="tiny-bert", method=method, method_config=config,
                      task="sst2+rte", lr=1e-3, seed=0, training={"epochs": 0},
                      probes={"phases": ["inference"], "cells": [[8, 2]], "n_tasks": [1, 3],
                              "reps": 2, "warmup": 1, "force": True},
                      data_dir=None, trial_key="g")
    ctx = SweepContext(str(tmp_path), "", None, None, "sha", 1)
    record = run_trial(point, ctx)
    assert record["status"] == "ok", record["error"]
    rows = read_records(tmp_path, "probes").to_pylist()
    assert sorted(r["n_tasks"] for r in rows) == [1, 3]
    assert {r["trial_key"] for r in rows} == {"g"} and {r["method"] for r in rows} == {method}
    assert all(r["status"] in ("ok", "contended") and r["peak_mem_bytes"] > 0 for r in rows)
    kind = SharedEncoderHeads if method == "multitask_full" else MultiTaskParallel
    assert isinstance(prepared[3], kind)
    assert len(read_records(tmp_path, "runs")) == 2  # one record per task, as before
