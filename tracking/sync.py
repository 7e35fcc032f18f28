"""`adapterbench mlflow-sync`: back-fill MLflow from the Parquet records (the truth).

For every trial_key in the run records, MLflow must hold exactly one child run tagged with it,
under its sweep's experiment and parent run. Sync creates only the runs that are missing (found by
the ``trial_key`` tag), so running it twice creates nothing the second time. A back-filled run has
what the records know: params, per-epoch metrics, final and probe metrics, the record itself as
an artifact, and the tag ``adapterbench.synced``; the trained weights lived only in the trial that
could not log them, so a synced run has none.

    adapterbench mlflow-sync --results DIR --tracking-uri http://127.0.0.1:5000
"""

from __future__ import annotations

import json
import tempfile
from collections import defaultdict
from pathlib import Path

from tracking.records import read_records

STATUS_RANK = {"ok": 2, "oom": 1, "failed": 0}


def latest_runs(results) -> dict[str, dict]:
    """One run record per trial_key: its ok record if any, else its latest attempt."""
    best: dict[str, dict] = {}
    for r in read_records(results, "runs").to_pylist():
        rank = (STATUS_RANK.get(r["status"], -1), r["finished_at"] or "")
        old = best.get(r["trial_key"])
        if old is None or rank > (STATUS_RANK.get(old["status"], -1), old["finished_at"] or ""):
            best[r["trial_key"]] = r
    return best


def _by_trial(rows: list[dict]) -> dict[str, list[dict]]:
    out = defaultdict(list)
    for r in rows:
        out[r["trial_key"]].append(r)
    return out


def _log_from_record(uri: str, experiment_id: str, parent_run_id: str, record: dict,
                     evals: list[dict], probes: list[dict]) -> str:
    from tracking.mlflow_log import log_trial, summary_metrics

    config = json.loads(record["method_config"] or "{}")
    params = dict(model=record["model"], method=record["method"], task=record["task"],
                  lr=record["lr"], seed=record["seed"], method_config=config,
                  epochs=record["epochs"], train_samples=record["train_samples"])
    tags = {"sweep": record["sweep"], "git_sha": record["git_sha"], "device": record["device"],
            "status": record["status"], "adapterbench.synced": "1"}
    # The attempt that wrote this record; an earlier failed attempt may have left evals too.
    epochs = {}
    for e in sorted(evals, key=lambda e: e["epoch"]):
        epochs[e["epoch"]] = {"dev_score": e["score"], "train_loss": e["train_loss"]}
    final = summary_metrics(record, probes)
    name = f"{record['method']}/{record['task']}/lr={record['lr']:g}/seed={record['seed']}"
    with tempfile.TemporaryDirectory(prefix="adapterbench-sync-") as folder:
        record_path = Path(folder) / "record.json"
        record_path.write_text(json.dumps(record, indent=2, sort_keys=True, default=str))
        return log_trial(uri, experiment_id, parent_run_id, name, record["trial_key"], params,
                         tags, list(epochs.values()), final, [record_path], record["status"],
                         started_at=record.get("started_at"),
                         finished_at=record.get("finished_at"))


def sync(results, tracking_uri: str | None = None, log=print) -> dict[str, int]:
    """Create the MLflow runs the records have and MLflow lacks; returns counts."""
    from tracking.mlflow_log import (count_child_runs, default_tracking_uri, end_sweep, has_parent,
                                     prepare_sweep)

    uri = tracking_uri or default_tracking_uri(results)
    runs = latest_runs(results)
    evals = _by_trial(read_records(results, "evals").to_pylist())
    probes = _by_trial(read_records(results, "probes").to_pylist())
    by_sweep = defaultdict(list)
    for record in runs.values():
        by_sweep[record["sweep"]].append(record)
    created = existing = 0
    for sweep, records in sorted(by_sweep.items()):
        new_parent = not has_parent(uri, sweep)
        experiment_id, parent_run_id = prepare_sweep(uri, sweep, results)
        present = {r.data.tags["trial_key"] for r in count_child_runs(uri, sweep)}
        missing = [r for r in records if r["trial_key"] not in present]
        for record in missing:
            _log_from_record(uri, experiment_id, parent_run_id, record,
                             evals.get(record["trial_key"], []), probes.get(record["trial_key"], []))
        created += len(missing)
        existing += len(records) - len(missing)
        log(f"mlflow-sync: sweep {sweep!r}: {len(records)} trials in the records, "
            f"{len(records) - len(missing)} already in MLflow, {len(missing)} runs created")
        if new_parent:  # made here, so no sweep driver will end it: end it as the records say
            ends = [r["finished_at"] for r in records if r["finished_at"]]  # UTC ISO-8601
            end_sweep(uri, parent_run_id, "FINISHED" if all(r["status"] == "ok" for r in records)
                      else "FAILED", ended_at=max(ends) if ends else None)
    return {"records": len(runs), "created": created, "existing": existing}
