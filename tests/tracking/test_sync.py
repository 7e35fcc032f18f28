"""`adapterbench mlflow-sync`: exactly the missing runs, from the records, idempotent."""

from pipeline.cli import main
from tracking.mlflow_log import count_child_runs, default_tracking_uri, log_trial, prepare_sweep
from tracking.records import write_records


def record(key, sweep="s1", status="ok", seed=0, finished="2026-01-01T00:00:01+00:00"):
    return dict(sweep=sweep, trial_key=key, status=status, error=None if status == "ok" else "x",
                model="tiny-bert", method="houlsby", method_config={"reduction_factor": 16},
                task="sst2", metric="accuracy", lr=1e-3, seed=seed, epochs=2, train_samples=32,
                dev_score=0.75 if status == "ok" else None, trainable_params=10, total_params=100,
                train_time_s=1.5, device="cpu", git_sha="abc", versions={"torch": "2"},
                started_at="2026-01-01T00:00:00+00:00", finished_at=finished)


def test_sync_creates_only_missing_runs_and_is_idempotent(tmp_path, capsys):
    results = tmp_path / "results"
    uri = default_tracking_uri(results)
    # sweep s1: k1 ok (already in MLflow), k2 failed then ok, k3 oom; sweep s2: k4 ok
    write_records(results, "runs", "k1", [record("k1")])
    write_records(results, "runs", "k2", [record("k2", status="failed", seed=1,
                                                 finished="2026-01-01T00:00:00+00:00")])
    write_records(results, "runs", "k2", [record("k2", seed=1)])
    write_records(results, "runs", "k3", [record("k3", status="oom", seed=2)])
    write_records(results, "runs", "k4", [record("k4", sweep="s2")])
    write_records(results, "evals", "k2", [dict(sweep="s1", trial_key="k2", epoch=e, score=0.5 + e / 10,
                                                train_loss=1.0 / e) for e in (1, 2)])
    write_records(results, "probes", "k2", [dict(sweep="s1", trial_key="k2", phase="train",
                                                 seq_len=16, batch_size=2, median_ms=3.0,
                                                 status="ok", exclusive=True)])
    results.mkdir(exist_ok=True)
    experiment_id, parent = prepare_sweep(uri, "s1", results)
    existing = log_trial(uri, experiment_id, parent, "houlsby/sst2/lr=0.001/seed=0", "k1",
                         {"method": "houlsby"}, {}, [], {}, [], "ok")

    assert main(["mlflow-sync", "--results", str(results)]) == 0
    assert "1 already in MLflow, 2 runs created" in capsys.readouterr().out
    s1 = {r.data.tags["trial_key"]: r for r in count_child_runs(uri, "s1")}
    s2 = count_child_runs(uri, "s2")
    assert set(s1) == {"k1", "k2", "k3"} and [r.data.tags["trial_key"] for r in s2] == ["k4"]
    assert s1["k1"].info.run_id == existing  # found by its tag, not created again
    k2 = s1["k2"]
    assert k2.info.status == "FINISHED" and k2.data.tags["status"] == "ok"  # the ok attempt won
    assert k2.data.tags["mlflow.parentRunId"] == parent
    assert k2.data.params["method_config.reduction_factor"] == "16"
    assert k2.data.metrics["best_dev_score"] == 0.75
    assert k2.data.metrics["probe_train_s16_b2_median_ms"] == 3.0
    from mlflow.tracking import MlflowClient

    history = MlflowClient(uri).get_metric_history(k2.info.run_id, "dev_score")
    assert [(m.step, m.value) for m in history] == [(1, 0.6), (2, 0.7)]
    assert s1["k3"].info.status == "FAILED" and s1["k3"].data.tags["status"] == "oom"
    # s2's parent run was made by the sync: ended as its records say, at the last one's end;
    # s1's was opened before (by a sweep that may still run): left as it was
    client = MlflowClient(uri)
    s2_parent = client.get_run(s2[0].data.tags["mlflow.parentRunId"]).info
    assert s2_parent.status == "FINISHED" and s2_parent.end_time == 1767225601000
    assert client.get_run(parent).info.status == "RUNNING"

    # Second run: nothing to create, nothing duplicated.
    assert main(["mlflow-sync", "--results", str(results)]) == 0
    assert "0 runs created" in capsys.readouterr().out
    assert len(count_child_runs(uri, "s1")) == 3 and len(count_child_runs(uri, "s2")) == 1
