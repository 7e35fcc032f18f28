"""AdapterFusion over trained adapters (AdapterDrop Table 7, Figure 5): the source adapters are
trained once, cached, loaded into the right slots and stay frozen; pruning writes one eval per
number of adapters kept; specs that would score fusion over untrained adapters are refused;
Table 7 and Figure 5 read only fusion runs over trained adapters.

Real trials: tiny-bert (random init, fast) on the mirrored SST-2 and RTE data."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import threading

import pytest
import torch
from safetensors.torch import load_file

import adapters
from adapters.fusion import FusionConfig
from pipeline import key_baseline, trial
from pipeline.fusion_sources import cache_dir, ensure_sources, load_sources, source_key
from pipeline.grid import changed, expand
from pipeline.models import load_tokenizer
from pipeline.spec import SpecError, parse_spec
from pipeline.tables import regenerate
from pipeline.tables.regen import load_data
from pipeline.tables.registry import TABLES
from pipeline.tasks import default_data_dir, get_task
from pipeline.kinds import kind_for
from tables_records import evals, md_rows, run, write
from tracking.records import read_records

TRAINING = dict(epochs=1, max_train_samples=48, max_eval_samples=32, batch_size=16,
                max_seq_len=32)
SOURCES = ["sst2", "rte"]


def _spec(*dropouts, tasks=("rte",), **training):
    return dict(name="fz", model="tiny-bert", tasks=list(tasks), methods=[
        {"name": "fusion", "lrs": [1e-3],
         "config": {"num_adapters": 2, "source_tasks": SOURCES, "fusion_dropout": p}}
        for p in dropouts], training={**TRAINING, **training})


@pytest.fixture(autouse=True)
def _mirror():
    if default_data_dir() is None:
        pytest.skip("no data mirror (the source adapters train on mirrored SST-2 and RTE)")


def _trial(point, results):
    ctx = trial.SweepContext(str(results), "", None, None, "test", 1)  # no MLflow
    record = trial.run_trial(point, ctx)
    assert record["status"] == "ok", record["error"]
    return record


def test_fusion_trial_trains_its_sources_once_and_loads_them_into_frozen_slots(tmp_path):
    first, second = expand(parse_spec(_spec(0.0, 0.5)))
    r1, r2 = _trial(first, tmp_path), _trial(second, tmp_path)
    s1, s2 = json.loads(r1["fusion_sources"]), json.loads(r2["fusion_sources"])
    assert [s["task"] for s in s1] == SOURCES and [s["reused"] for s in s1] == [False, False]
    # the second trial (another fusion dropout) reuses both: same keys, nothing retrained
    assert [s["key"] for s in s2] == [s["key"] for s in s1] and all(s["reused"] for s in s2)
    assert sorted(p.stem for p in cache_dir(tmp_path).glob("*.safetensors")) == \
        sorted(s["key"] for s in s1)
    assert json.loads(r1["phase_s"])["sources"] > json.loads(r2["phase_s"])["sources"] > 0

    # A fresh fusion model with the cached sources: slot k holds source k's adapter, exactly,
    # and only fusion layers and the head train.
    config = adapters.make_config("fusion", first.method_config)
    sources = ensure_sources(first.model, load_tokenizer(first.model), config, 0,
                             first.training, default_data_dir(), tmp_path, torch.device("cpu"),
                             contextlib.nullcontext, lambda: 0.0)
    assert all(s.reused for s, _ in sources)
    task = get_task("rte")
    model = kind_for(task, "head").load_model(first.model, task, 0)
    adapters.apply_method(model, "fusion", first.method_config)
    load_sources(model, sources)
    params = dict(model.named_parameters())
    for k, (source, path) in enumerate(sources):
        stored = {n: t for n, t in load_file(str(path)).items() if ".adapter." in n}
        assert stored, source
        for name, tensor in stored.items():
            slot = name.replace(".adapter.", f".adapter.adapters.{k}.", 1)
            assert torch.equal(params[slot], tensor), slot
            assert not params[slot].requires_grad
    # the two sources differ, so the slots were not filled from one file
    a, b = (load_file(str(p)) for _, p in sources)
    shared = [n for n in a if ".adapter.down.weight" in n]
    assert shared and not torch.equal(a[shared[0]], b[shared[0]])
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all(any(f".{q}." in n for q in ("query", "key", "value")) or
                             n.startswith(("classifier", "bert.pooler")) for n in trainable)


def test_pruning_writes_one_eval_per_adapters_kept(tmp_path):
    point = expand(parse_spec(_spec(0.0)))[0]
    _trial(point, tmp_path)
    rows = read_records(tmp_path, "evals", point.trial_key).to_pandas()
    pruned = rows[rows["n_fusion"].notna()].sort_values("n_fusion")
    assert pruned["n_fusion"].tolist() == [1, 2]
    # K kept is the trained model itself: the epoch's own score
    last = rows[rows["n_fusion"].isna() & (rows["dropped_layers"] == 0)]["score"].iloc[-1]
    assert pruned["score"].iloc[-1] == pytest.approx(last)


def test_concurrent_trials_train_a_shared_source_once(tmp_path):
    point = expand(parse_spec(_spec(0.0)))[0]
    config = adapters.make_config("fusion", point.method_config)
    tokenizer = load_tokenizer(point.model)
    out, errors = [], []

    def worker():
        try:
            out.append(ensure_sources(point.model, tokenizer, config, 0, point.training,
                                      default_data_dir(), tmp_path, torch.device("cpu"),
                                      contextlib.nullcontext, lambda: 0.0))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    # Each source is trained once: by one worker, reused by the other. The lock is per source,
    # so the two may split the work (each trains one and waits for the other's), as they did on
    # a faster host, or one may train both.
    per_source = zip(*[[s.reused for s, _ in got] for got in out])
    assert [sorted(flags) for flags in per_source] == [[False, True], [False, True]]
    assert len(list(cache_dir(tmp_path).glob("*.safetensors"))) == 2


def test_source_key_changes_with_what_trains_the_source():
    config = FusionConfig(num_adapters=2, source_tasks=("sst2", "rte"))
    base = source_key("tiny-bert", "sst2", config, 0, TRAINING)
    assert base == source_key("tiny-bert", "sst2", dataclasses.replace(config, fusion_dropout=0.5),
                              0, TRAINING)  # the fusion's own options do not train the source
    assert base != source_key("tiny-bert", "rte", config, 0, TRAINING)
    assert base != source_key("tiny-bert", "sst2", config, 1, TRAINING)
    assert base != source_key("tiny-bert", "sst2", dataclasses.replace(config, source_lr=3e-3),
                              0, TRAINING)
    assert base != source_key("tiny-bert", "sst2", config, 0, {**TRAINING, "epochs": 2})
    assert base != source_key("tiny-bert", "sst2", dataclasses.replace(config, reduction_factor=8),
                              0, TRAINING)


def test_new_fusion_fields_keep_old_trial_keys():
    """source_tasks / source_lr are new fields with defaults: a fusion config without them keys
    as before (pipeline/grid.py's rule), so resumed probe sweeps re-run nothing."""
    baseline = key_baseline.METHODS.get("fusion", {})
    keyed = changed(dataclasses.asdict(FusionConfig(num_adapters=2)), baseline, FusionConfig)
    assert keyed == {"num_adapters": 2}
    sourced = FusionConfig(num_adapters=2, source_tasks=("sst2", "rte"), source_lr=3e-3)
    assert changed(dataclasses.asdict(sourced), baseline, FusionConfig) == \
        {"num_adapters": 2, "source_tasks": ("sst2", "rte"), "source_lr": 3e-3}


@pytest.mark.parametrize("overrides, message", [
    ({"num_adapters": 3, "source_tasks": ["sst2", "rte"]}, "one task per fused adapter"),
    ({"num_adapters": 2, "source_tasks": ["sst2", "sst2"]}, "listed twice"),
    ({"num_adapters": 1, "source_tasks": "sst2"}, "a list of task names"),
    ({"num_adapters": 2, "source_tasks": SOURCES, "train_layer_norm": True}, "layer norms"),
])
def test_fusion_config_refuses_bad_sources(overrides, message):
    with pytest.raises(ValueError, match=message):
        adapters.make_config("fusion", overrides)


def test_specs_that_would_score_untrained_fusion_are_refused(monkeypatch):
    untrained = _spec(0.0)
    untrained["methods"][0]["config"].pop("source_tasks")
    with pytest.raises(SpecError, match="training a fusion needs config.source_tasks"):
        parse_spec(untrained)
    with pytest.raises(SpecError, match="training.epochs is 0"):
        parse_spec(_spec(0.0, epochs=0))
    unknown = _spec(0.0)
    unknown["methods"][0]["config"]["source_tasks"] = ["sst2", "nope"]
    with pytest.raises(SpecError, match="unknown source task.*nope.*known tasks: .*sst2"):
        parse_spec(unknown)
    # offline, a source task without mirrored training data is named before anything starts
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    offline = _spec(0.0)
    offline["methods"][0]["config"]["source_tasks"] = ["sst2", "qqp"]
    with pytest.raises(SpecError, match=r"need the HF hub: qqp \(train") as e:
        parse_spec(offline)
    assert "rte" not in str(e.value).split("HF hub:")[1]
    # probe-only fusion (timing) over untrained adapters stays allowed
    probe_only = _spec(0.0, epochs=0)
    probe_only["methods"][0]["config"].pop("source_tasks")
    assert parse_spec(probe_only).methods[0].config["source_tasks"] == ()


def test_table7_and_figure5_read_only_fusion_over_trained_adapters(tmp_path):
    sourced = {"num_adapters": 2, "source_tasks": SOURCES}
    runs = [run("fusion", 1e-3, 0, 0.70, task="rte", config={**sourced, "fusion_dropout": 0.0},
                key="f0"),
            run("fusion", 1e-3, 0, 0.60, task="rte", config={**sourced, "fusion_dropout": 0.5},
                key="f5"),
            # over untrained adapters: a higher score that must not reach the table
            run("fusion", 1e-3, 0, 0.99, task="rte", config={"num_adapters": 2,
                                                              "fusion_dropout": 0.25}, key="u")]
    evs = []
    for key, scores in (("f0", {2: 0.70, 1: 0.55}), ("f5", {2: 0.60, 1: 0.58})):
        evs += [dict(row, n_fusion=k, score=v) for k, v in scores.items()
                for row in evals(key, "fusion", "rte", {0: v})]
    write(tmp_path, "runs", runs)
    write(tmp_path, "evals", evs)
    regenerate(tmp_path)
    t7 = md_rows(tmp_path / "tables" / "adapterdrop" / "table07.md")
    assert t7["rte"][0].startswith("70.00 ± 0.00 (n=1)")
    assert t7["rte"][1].startswith("–")  # dropout 25%: only the untrained fusion ran it
    assert t7["rte"][2].startswith("60.00 ± 0.00 (n=1)")
    assert "2 tasks (sst2, rte)" in (tmp_path / "tables" / "adapterdrop" / "table07.md").read_text()
    data, _ = load_data(tmp_path)
    decl = next(d for d in TABLES if (d.paper, d.id) == ("adapterdrop", "figure05"))
    (panel,) = decl.query(data, decl)[0].panels
    lines = {line["label"]: (line["x"], pytest.approx(line["y"])) for line in panel["lines"]}
    assert lines == {"AF, fusion dropout 0%": ([1, 2], [55.0, 70.0]),
                     "AF, fusion dropout 50%": ([1, 2], [58.0, 60.0])}
