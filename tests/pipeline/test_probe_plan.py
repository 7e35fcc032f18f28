"""Probe kinds (dropped layers, N tasks) and the deduplication of measured cells."""

from pathlib import Path

import pytest
import torch

import adapters
from adapters.bottleneck import AdaptedLinear
from adapters.multitask import MultiTaskParallel
from pipeline import interference
from pipeline.grid import GridPoint
from pipeline.lease import DeviceLease
from pipeline.models import load_model
from pipeline.probe_plan import applicable, run_probes
from pipeline.probes import prepare, probe_cell
from pipeline.spec import Probes, load_spec
from tracking.records import write_records

CPU = torch.device("cpu")
SPECS = Path(__file__).resolve().parents[2] / "jobs" / "specs"


def adapted(method="pfeiffer"):
    model = load_model("tiny-bert", num_labels=2)
    adapters.apply_method(model, method)
    return model


def n_adapted(model) -> int:
    return sum(isinstance(m, AdaptedLinear) for m in model.modules())


def test_dropped_layers_remove_the_lowest_adapters_from_a_copy():
    model = adapted()
    probe_model = prepare(model, dropped_layers=1, n_tasks=1)
    assert n_adapted(model) == 2 and n_adapted(probe_model) == 1
    lowest = probe_model.base_model.encoder.layer[0].output.dense
    assert isinstance(lowest, torch.nn.Linear) and not isinstance(lowest, AdaptedLinear)
    # nothing below layer 1 trains any more: the train step needs no backward through layer 0
    assert not any(p.requires_grad for p in probe_model.base_model.encoder.layer[0].parameters())


def test_n_tasks_builds_parallel_adapters_or_sequential_full_models():
    parallel = prepare(adapted(), dropped_layers=1, n_tasks=3)
    assert isinstance(parallel, MultiTaskParallel) and parallel.num_shared == 1
    ids = torch.randint(1000, 2000, (2, 8))
    assert parallel(input_ids=ids, attention_mask=torch.ones_like(ids)).shape == (3, 2, 2)
    full = load_model("tiny-bert", num_labels=2)
    sequential = prepare(full, dropped_layers=0, n_tasks=3)
    assert isinstance(sequential, list) and len(sequential) == 3


@pytest.mark.parametrize("method,n_tasks,dropped", [("pfeiffer", 4, 1), ("full", 4, 0),
                                                    ("pfeiffer", 1, 1)])
def test_probe_cells_of_every_kind_measure(method, n_tasks, dropped):
    model = adapted(method) if method != "full" else load_model("tiny-bert", num_labels=2)
    r = probe_cell(model, "inference", 8, 2, reps=2, warmup=1, device=CPU,
                   dropped_layers=dropped, n_tasks=n_tasks)
    assert r.status == "ok" and r.median_ms > 0


def test_applicability_rules():
    full, pfeiffer, bitfit = load_model("tiny-bert", 2), adapted(), adapted("bitfit")
    assert not applicable(full, "full", "train", 1, 2)  # nothing to drop
    assert applicable(full, "full", "inference", 4, 0)  # N models in sequence
    assert not applicable(pfeiffer, "pfeiffer", "train", 4, 0)  # N tasks: inference only
    assert applicable(pfeiffer, "pfeiffer", "inference", 4, 3)
    assert not applicable(bitfit, "bitfit", "inference", 4, 0)  # per-task base weights


def point(method="pfeiffer"):
    return GridPoint(sweep="p", model="tiny-bert", method=method,
                     method_config={"reduction_factor": 16, "activation": "relu",
                                    "train_layer_norm": False}, task="sst2", lr=1e-3, seed=0,
                     training={}, probes={}, data_dir=None, trial_key="k")


def test_measured_cells_are_not_probed_again_unless_forced(tmp_path, monkeypatch):
    # dedup only: every measurement counts as clean here (a contended cell is measured again by
    # a later trial; tests/pipeline/test_interference.py tests that)
    monkeypatch.setattr(interference, "reasons", lambda *args: [])
    probes = Probes(phases=("train", "inference"), cells=((8, 2),), reps=1, warmup=0,
                    dropped_layers=(0, 1), n_tasks=(1, 2))
    lease = DeviceLease()
    rows = run_probes(adapted(), point(), probes, CPU, "cpu:test", tmp_path, lease)
    # train: dropped 0, 1 (N tasks is inference only); inference: 2 dropped × 2 n_tasks
    assert sorted((r["phase"], r["dropped_layers"], r["n_tasks"]) for r in rows) == [
        ("inference", 0, 1), ("inference", 0, 2), ("inference", 1, 1), ("inference", 1, 2),
        ("train", 0, 1), ("train", 1, 1)]
    write_records(tmp_path, "probes", "k", rows)
    assert run_probes(adapted(), point(), probes, CPU, "cpu:test", tmp_path, lease) == []
    other_device = run_probes(adapted(), point(), probes, CPU, "cpu:other", tmp_path, lease)
    assert len(other_device) == 6
    forced = Probes(**{**probes.__dict__, "force": True})
    assert len(run_probes(adapted(), point(), forced, CPU, "cpu:test", tmp_path, lease)) == 6
    lease.close()


@pytest.mark.parametrize("spec", sorted(p.name for p in SPECS.glob("*.yaml")))
def test_every_shipped_spec_validates(spec, monkeypatch):
    # Paper-scale specs may train on tasks the offline mirror lacks (QQP, MNLI, MultiRC, ...):
    # they validate with the hub allowed. CPU-sized specs and the demo must validate offline.
    if not (spec.endswith("_cpu.yaml") or spec in ("demo.yaml", "smoke.yaml")):
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    assert load_spec(SPECS / spec).name
