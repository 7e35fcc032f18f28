"""The sweep's MLflow parent run ends with the sweep: FINISHED, FAILED (a point failed or ran out
of memory) or KILLED (interrupted), with the real end time, and a resumed sweep re-opens and ends
the same parent. The driver's Ray part is replaced by a stand-in that writes records (the real
sweeps are checked in test_sweep_e2e.py and test_interrupt.py)."""

import itertools
import time

import pytest
from mlflow.tracking import MlflowClient

from pipeline import sweep
from tracking.mlflow_log import PARENT_TAG
from tracking.records import write_records

SPEC = """
name: {name}
model: tiny-bert
tasks: [sst2]
seeds: [0, 1]
methods: [{{name: pfeiffer, lrs: [1.0e-3]}}]
"""


def _ray_stand_in(statuses):
    """A _run_ray that writes one record per point, in grid order, with these statuses (None:
    the point never ran, as when the sweep is interrupted)."""
    def run(spec, todo, ctx, address, concurrency):
        for point, status in zip(todo, statuses):
            if status is not None:
                write_records(ctx.results, "runs", point.trial_key, [dict(
                    sweep=point.sweep, trial_key=point.trial_key, status=status,
                    model=point.model, method=point.method, method_config=point.method_config,
                    task=point.task, lr=point.lr, seed=point.seed,
                    finished_at=time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()))])
    return run


_names = (f"parent{i}" for i in itertools.count())


@pytest.fixture(scope="module")
def uri(tmp_path_factory):
    """One MLflow store for the module (a fresh SQLite store costs seconds to create); one
    experiment per test, each test's sweep has its own name."""
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow')}/mlflow.db"


def _parents(uri, name):
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name(name)
    return client.search_runs([experiment.experiment_id], f"tags.`{PARENT_TAG}` = '1'")


def _sweep(tmp_path, monkeypatch, uri, statuses=None, fail_with=None):
    spec = tmp_path / "spec.yaml"
    if not spec.exists():
        spec.write_text(SPEC.format(name=next(_names)))
    if fail_with is not None:
        def run(*args):
            raise fail_with
    else:
        run = _ray_stand_in(statuses)
    monkeypatch.setattr(sweep, "_run_ray", run)
    before = int(time.time() * 1000)
    counts = sweep.run_sweep(str(spec), str(tmp_path / "results"), uri)
    return counts, before, spec.read_text().split()[1]


@pytest.mark.parametrize("statuses, status", [(["ok", "ok"], "FINISHED"),
                                              (["ok", "failed"], "FAILED"),
                                              (["oom", "ok"], "FAILED"),
                                              (["ok", None], "KILLED")])
def test_parent_ends_with_the_sweeps_outcome_and_end_time(tmp_path, monkeypatch, uri, statuses,
                                                          status):
    counts, before, name = _sweep(tmp_path, monkeypatch, uri, statuses)
    (parent,) = _parents(uri, name)
    assert parent.info.status == status
    assert before <= parent.info.end_time <= int(time.time() * 1000)
    assert parent.data.metrics["points_ok"] == counts["ok"]
    assert parent.data.metrics["points_not_run"] == counts["not_run"]


@pytest.mark.parametrize("error, status", [(KeyboardInterrupt(), "KILLED"),
                                           (SystemExit(143), "KILLED"),  # SIGTERM
                                           (RuntimeError("driver bug"), "FAILED")])
def test_parent_ends_when_the_driver_is_interrupted_or_fails(tmp_path, monkeypatch, uri, error,
                                                            status):
    with pytest.raises(type(error)):
        _sweep(tmp_path, monkeypatch, uri, fail_with=error)
    (parent,) = _parents(uri, (tmp_path / "spec.yaml").read_text().split()[1])
    assert parent.info.status == status and parent.info.end_time is not None


def test_a_resumed_sweep_reopens_and_ends_the_same_parent(tmp_path, monkeypatch, uri):
    _, _, name = _sweep(tmp_path, monkeypatch, uri, ["ok", None])  # interrupted after 1 point
    (first,) = _parents(uri, name)
    assert first.info.status == "KILLED"

    seen = {}

    def resume(spec, todo, ctx, address, concurrency):  # the parent is RUNNING while it runs
        seen["status"] = MlflowClient(ctx.tracking_uri).get_run(ctx.parent_run_id).info.status
        seen["parent"] = ctx.parent_run_id
        _ray_stand_in(["ok"] * len(todo))(spec, todo, ctx, address, concurrency)

    monkeypatch.setattr(sweep, "_run_ray", resume)
    time.sleep(0.01)
    sweep.run_sweep(str(tmp_path / "spec.yaml"), str(tmp_path / "results"), uri)
    (parent,) = _parents(uri, name)
    assert seen == {"status": "RUNNING", "parent": first.info.run_id}
    assert parent.info.run_id == first.info.run_id and parent.info.status == "FINISHED"
    assert parent.info.start_time == first.info.start_time
    assert parent.info.end_time > first.info.end_time
    assert parent.data.metrics["points_skipped"] == 1 and parent.data.metrics["points_ok"] == 1
