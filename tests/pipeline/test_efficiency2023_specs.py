"""The efficiency2023 specs (issue 11): the paper-scale one validates (hub) and asks for every
task family, method and zero-shot language its tables read; the CPU one validates offline, trains
only mirrored tasks, resolves time to best within training, probes table01's latency cell, and
its grid, written as the trials write records, fills table01's row of every method it trains."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from pipeline.grid import expand
from pipeline.multitask_config import MULTITASK_METHODS
from pipeline.spec import load_spec
from pipeline.tables import regenerate
from pipeline.tables.efficiency import REFERENCE_CELL
from pipeline.tasks import TASKS, default_data_dir, dev_source, load_split, needs_hub, train_source
from tables_records import md_rows, probe, run, write

SPECS = Path(__file__).resolve().parents[2] / "jobs" / "specs"
FAMILIES = {"xnli", "pawsx", "indic_sentiment", "conll2003", "xquad", "indic_copa"}
METHODS = {"full", "houlsby", "pfeiffer", "lora", "multitask_full", "multitask_adapter",
           "multitask_add"}


def test_paper_spec_asks_for_every_family_method_and_language(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)  # its data comes from the hub
    spec = load_spec(SPECS / "efficiency2023.yaml")
    assert spec.model == "FacebookAI/xlm-roberta-base" and set(spec.tasks) == FAMILIES
    assert {m.name for m in spec.methods} == METHODS
    t = spec.training
    assert (t.batch_size, t.max_seq_len) == (32, 128) and t.eval_every_steps
    assert REFERENCE_CELL in spec.probes.cells and "inference" in spec.probes.phases
    points = expand(spec)
    for p in points:
        if p.method in MULTITASK_METHODS:  # the group's trial scores each task's languages
            assert "+" in p.task and p.training["eval_languages"] == t.eval_languages
            continue
        langs = set(p.training["eval_languages"])
        if TASKS[p.task].languages:  # every language but the training one, zero-shot
            assert langs == set(TASKS[p.task].languages) - {"en"}, p.task
        else:
            assert p.task == "conll2003" and not langs
    add = next(m for m in spec.methods if m.name == "multitask_add")
    assert add.config["new_task"] in spec.tasks and add.config["replay"] == 0.2


def test_paper_spec_names_the_hub_tasks_offline(monkeypatch):
    from pipeline.spec import SpecError

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    if default_data_dir() is None:
        pytest.skip("no data mirror")
    with pytest.raises(SpecError, match=r"sentiment \(train, validation\); indic_sentiment"):
        load_spec(SPECS / "efficiency2023.yaml")


@pytest.fixture(scope="module")
def cpu_points():
    if default_data_dir() is None:
        pytest.skip("no data mirror (the CPU spec reads it)")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        spec = load_spec(SPECS / "efficiency2023_cpu.yaml")
    return spec, expand(spec)


def test_cpu_spec_is_offline_and_resolves_time_to_best(cpu_points):
    spec, points = cpu_points
    assert spec.model == "minilm" and len(spec.tasks) >= 2
    assert {m.name for m in spec.methods} >= METHODS - {"lora"}
    root = default_data_dir()
    for name in spec.tasks:
        assert not needs_hub(train_source(TASKS[name]), root)
        assert not needs_hub(dev_source(TASKS[name]), root)
    t = spec.training
    for name in spec.tasks:
        first = TASKS[name].fields[0]
        rows = len(load_split(train_source(TASKS[name]), root, [first])[first])
        steps_per_epoch = math.ceil(min(rows, t.max_train_samples) / t.batch_size)
        # at least one evaluation inside every epoch, besides the epoch ends
        assert t.eval_every_steps < steps_per_epoch, name
    assert spec.probes.cells == (REFERENCE_CELL,) and spec.probes.phases == ("inference",)
    assert spec.probes.paired
    assert len(points) == 3 * len(spec.tasks) + 3  # single-task methods per task + 3 groups


def _records(points) -> list[dict]:
    """One run record per single-task point, one per task of a multi-task point (as
    pipeline/multitask_trial.py writes them: the group's key and tasks)."""
    out = []
    for p in points:
        names = p.task.split("+")
        for task in names:
            r = run(p.method, p.lr, p.seed, 0.5, task=task, config=p.method_config,
                    model=p.model, key=f"{p.trial_key}:{task}" if len(names) > 1 else p.trial_key,
                    trainable=100 if p.method in ("pfeiffer", "houlsby") else 1000)
            if len(names) > 1:
                r.update(group_key=p.trial_key, group_tasks=names)
            out.append(dict(r, time_to_best_s=50.0, objective="head"))
    return out


def test_cpu_grid_fills_table01(cpu_points, tmp_path):
    spec, points = cpu_points
    write(tmp_path, "runs", _records(points))
    probes = [probe(m.name, "inference", 10.0, config=m.config, model=spec.model)
              for m in spec.methods if m.name not in MULTITASK_METHODS]
    write(tmp_path, "probes", probes)
    regenerate(tmp_path)
    rows = md_rows(tmp_path / "tables" / "efficiency2023" / "table01.md")
    trained = {"full fine-tuning": True, "pfeiffer": True, "houlsby": True,
               "multi-task full fine-tuning": False}
    for label, probed in trained.items():
        time_to_best, _, latency, _, storage, score, tasks = rows[label]
        assert not time_to_best.startswith("–") and not score.startswith("–"), (label, rows[label])
        assert not storage.startswith("–")
        assert set(tasks.split(", ")) == set(spec.tasks), (label, tasks)
        assert latency.startswith("–") != probed, (label, latency)
