"""End to end on a real local Ray cluster and a real embedded MLflow store (tiny random-init BERT,
real SST-2 rows): records, MLflow child runs, resume, and a failing trial recorded as failed."""

import json
import logging
import textwrap

import pytest

from pipeline.cli import main
from tracking.mlflow_log import count_child_runs, default_tracking_uri
from tracking.records import read_records

SPEC = """
name: e2e
model: tiny-bert
tasks: [sst2]
seeds: [0, 1]
methods:
  - {name: full, lrs: [1.0e-3]}
  - {name: pfeiffer, lrs: [1.0e-3]}
training: {epochs: 2, max_train_samples: 32, max_eval_samples: 32, batch_size: 16, max_seq_len: 32}
probes: {cells: [[16, 2]], reps: 2, warmup: 1}
resources: {cpus_per_trial: 1, max_concurrent_trials: 2}
"""


@pytest.fixture(scope="module")
def finished_sweep(tmp_path_factory, shared_ray):
    """One real sweep, run once for the tests of this module, then run again (resume), on the
    session's Ray head. Its MLflow store is created by the sweep itself (not copied): two trials
    log to it at once, right after the driver migrated it. Its own device lease, as every test's
    (conftest.py; module fixtures start before it): not the machine's, which other sweeps hold."""
    with shared_ray.attached(), pytest.MonkeyPatch.context() as env:
        env.setenv("ADAPTERBENCH_LEASE_DIR", str(tmp_path_factory.mktemp("lease")))
        return _sweep_twice(tmp_path_factory)


def _sweep_twice(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    spec = root / "spec.yaml"
    spec.write_text(textwrap.dedent(SPEC))
    results = root / "results"
    warnings = []  # what Ray Tune's result analysis warns about during the first sweep
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: warnings.append(record.getMessage())
    analysis_log = logging.getLogger("ray.tune.analysis.experiment_analysis")
    analysis_log.addHandler(handler)
    try:
        first = main(["sweep", str(spec), "--results", str(results)])
    finally:
        analysis_log.removeHandler(handler)
    runs_after_first = read_records(results, "runs").to_pylist()
    second = main(["sweep", str(spec), "--results", str(results)])
    return dict(results=results, first=first, second=second, runs_after_first=runs_after_first,
                warnings=warnings)


def test_one_ok_record_per_grid_point(finished_sweep):
    runs = finished_sweep["runs_after_first"]
    assert finished_sweep["first"] == 0
    assert len(runs) == 4 and {r["status"] for r in runs} == {"ok"}
    assert len({r["trial_key"] for r in runs}) == 4
    assert {(r["method"], r["seed"]) for r in runs} == {(m, s) for m in ("full", "pfeiffer")
                                                        for s in (0, 1)}
    for r in runs:
        assert r["trainable_params"] < r["total_params"] or r["method"] == "full"
        assert 0.0 <= r["dev_score"] <= 1.0 and r["best_epoch"] in (1, 2)
        assert json.loads(r["versions"])["torch"].startswith("2.13")


def test_a_good_sweep_prints_no_failure_warnings(finished_sweep):
    # Tune's per-trial result files are off (records and MLflow hold the results); its result
    # analysis used to warn "Failed to fetch metrics for 4 trial(s)" after every good sweep.
    assert not [w for w in finished_sweep["warnings"] if "Failed to fetch metrics" in w]


def test_evals_per_epoch_and_probes_deduplicated(finished_sweep):
    results = finished_sweep["results"]
    evals = read_records(results, "evals").to_pylist()
    assert len(evals) == 4 * 2  # 4 trials × 2 epochs
    probes = read_records(results, "probes").to_pylist()
    # one (train, inference) pair per method: the second seed reuses the first seed's cell, also
    # when both seeds reach it at the same time (the cell is claimed under the exclusive lease)
    cells = sorted((p["method"], p["phase"]) for p in probes)
    assert cells == sorted((m, ph) for m in ("full", "pfeiffer") for ph in ("train", "inference"))
    # contended: disturbed by other work on this shared machine in every attempt (still recorded)
    assert all(p["exclusive"] and p["status"] in ("ok", "contended") and p["median_ms"] > 0
               for p in probes)


def test_mlflow_child_run_per_grid_point_tagged_with_trial_key(finished_sweep):
    results = finished_sweep["results"]
    runs = count_child_runs(default_tracking_uri(results), "e2e")
    records = {r["trial_key"]: r for r in finished_sweep["runs_after_first"]}
    assert len(runs) == 4
    assert {r.data.tags["trial_key"] for r in runs} == set(records)
    parents = {r.data.tags["mlflow.parentRunId"] for r in runs}
    assert len(parents) == 1
    for run in runs:
        rec = records[run.data.tags["trial_key"]]
        assert run.info.run_id == rec["mlflow_run_id"]
        assert run.info.run_name == f"{rec['method']}/sst2/lr=0.001/seed={rec['seed']}"
        assert run.data.params["method"] == rec["method"]
        assert run.data.metrics["best_dev_score"] == pytest.approx(rec["dev_score"])
        assert run.info.status == "FINISHED"


def _parent(results, sweep):
    from mlflow.tracking import MlflowClient

    from tracking.mlflow_log import PARENT_TAG

    client = MlflowClient(default_tracking_uri(results))
    experiment = client.get_experiment_by_name(sweep)
    (parent,) = client.search_runs([experiment.experiment_id], f"tags.`{PARENT_TAG}` = '1'")
    return parent


def test_mlflow_parent_run_ends_finished_after_the_last_trial(finished_sweep):
    results = finished_sweep["results"]
    parent = _parent(results, "e2e")
    children = count_child_runs(default_tracking_uri(results), "e2e")
    assert parent.info.status == "FINISHED"  # also after the second (no-op) sweep
    assert parent.info.end_time >= max(r.info.end_time for r in children)
    assert parent.data.metrics["points_ok"] == 4


def test_rerun_skips_every_finished_point(finished_sweep, capsys):
    assert finished_sweep["second"] == 0
    runs = read_records(finished_sweep["results"], "runs").to_pylist()
    assert len(runs) == len(finished_sweep["runs_after_first"])  # nothing re-ran
    assert len(count_child_runs(default_tracking_uri(finished_sweep["results"]), "e2e")) == 4


ONE_POINT = """
name: {name}
model: tiny-bert
tasks: [sst2]
seeds: [0]
methods: [{{name: pfeiffer, lrs: [1.0e-3]}}]
training: {{epochs: 1, max_train_samples: 16, max_eval_samples: 16, batch_size: 8, max_seq_len: 16}}
probes: {{cells: [[{seq_len}, 2]], reps: 1, warmup: 0}}
"""


def test_failing_trial_is_recorded_and_the_next_sweep_goes_on(tmp_path, local_ray,
                                                             mlflow_template):
    # A probe cell longer than tiny-bert's 128 positions fails for real inside the trial,
    # after training: the trial becomes a `failed` record with the error, the CLI exits 1.
    results = tmp_path / "results"
    mlflow_template.copy_to(results)
    bad, good = tmp_path / "bad.yaml", tmp_path / "good.yaml"
    bad.write_text(ONE_POINT.format(name="fails", seq_len=512))
    good.write_text(ONE_POINT.format(name="works", seq_len=16))
    assert main(["sweep", str(bad), "--results", str(results)]) == 1
    assert main(["sweep", str(good), "--results", str(results)]) == 0
    runs = {r["sweep"]: r for r in read_records(results, "runs").to_pylist()}
    assert runs["fails"]["status"] == "failed" and runs["works"]["status"] == "ok"
    assert "RuntimeError" in runs["fails"]["error"] and "512" in runs["fails"]["error"]
    assert runs["fails"]["dev_score"] is not None  # what was measured before the failure is kept
    assert _parent(results, "fails").info.status == "FAILED"
    assert _parent(results, "works").info.status == "FINISHED"
