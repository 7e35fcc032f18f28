"""MLflow conventions: one experiment per sweep, one parent run per sweep, one child run per grid
point named <method>/<task>/lr=<lr>/seed=<seed>, found again by its ``trial_key`` tag.

The parent run lives as long as the sweep: the driver opens it (``prepare_sweep(reopen=True)``)
and ends it (``end_sweep``) with the sweep's real end time and outcome: FINISHED when every grid
point has an ok record, FAILED when a point failed or ran out of memory, KILLED when the sweep was
interrupted. A resumed sweep re-opens the same parent (RUNNING again; MLflow keeps the previous end
time until the new one is set) and ends it again: its start is the sweep's first start, its end the
last run's end, its status the whole grid's.

Nothing here may fail a trial: the Parquet records are the truth, MLflow is the UI. Calls are
bounded (few retries, short timeouts) so a down server costs seconds, not minutes.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

# Bound MLflow's HTTP retries (its defaults block for minutes when a server is down).
BOUNDED_HTTP = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
}
for _k, _v in BOUNDED_HTTP.items():
    os.environ.setdefault(_k, _v)

import mlflow  # noqa: E402
from mlflow.entities import Metric, Param, RunTag  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402

PARENT_TAG = "adapterbench.parent"


def default_tracking_uri(results: Path) -> str:
    """$MLFLOW_TRACKING_URI or an absolute sqlite URI in the results directory."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path(results).resolve()}/mlflow.db"


def prepare_sweep(uri: str, sweep: str, results: Path, reopen: bool = False) -> tuple[str, str]:
    """Create (or find) the sweep's experiment and parent run, in the driver, before any trial:
    this also runs a fresh SQLite store's schema migration once (parallel first opens race).
    ``reopen`` (the sweep driver, not mlflow-sync): a parent an earlier run of the sweep ended is
    set RUNNING again, since the sweep runs again.

    Returns (experiment_id, parent_run_id)."""
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name(sweep)
    if experiment is None:
        artifacts = None
        if uri.startswith("sqlite:"):
            artifacts = (Path(results).resolve() / "mlartifacts").as_uri()
        experiment_id = client.create_experiment(sweep, artifact_location=artifacts)
    else:
        experiment_id = experiment.experiment_id
    parent = _find_parent(client, experiment_id)
    if parent is not None:
        if reopen and parent.status != "RUNNING":
            client.update_run(parent.run_id, status="RUNNING")
        return experiment_id, parent.run_id
    run = client.create_run(experiment_id, run_name=sweep, tags={PARENT_TAG: "1", "sweep": sweep})
    return experiment_id, run.info.run_id


def _find_parent(client: MlflowClient, experiment_id: str):
    parents = client.search_runs([experiment_id], f"tags.`{PARENT_TAG}` = '1'", max_results=1)
    return parents[0].info if parents else None


def has_parent(uri: str, sweep: str) -> bool:
    """Does the sweep already have a parent run (opened by its driver or an earlier sync)?"""
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name(sweep)
    return experiment is not None and _find_parent(client, experiment.experiment_id) is not None


def sweep_status(counts: dict) -> str:
    """The parent run's status for a sweep's counts (pipeline/sweep.py): KILLED when grid points
    were left unrun (the sweep was interrupted), FAILED when a point failed or ran out of memory,
    FINISHED when every point is ok."""
    if counts.get("not_run"):
        return "KILLED"
    return "FAILED" if counts.get("failed") or counts.get("oom") else "FINISHED"


def end_sweep(uri: str, parent_run_id: str, status: str, counts: dict | None = None,
              ended_at: str | None = None) -> None:
    """End the sweep's parent run with ``status`` at ``ended_at`` (ISO-8601; default: now); the
    counts (grid, skipped, ok, failed, oom, not_run) become metrics ``points_<count>``."""
    client = MlflowClient(uri)
    now_ms = int(time.time() * 1000)
    if counts:
        client.log_batch(parent_run_id, metrics=[Metric(f"points_{k}", float(v), now_ms, 0)
                                                 for k, v in counts.items()])
    client.set_terminated(parent_run_id, status, end_time=_ms(ended_at) or now_ms)


def find_run(client: MlflowClient, experiment_id: str, trial_key: str):
    runs = client.search_runs([experiment_id], f"tags.trial_key = '{trial_key}'", max_results=1)
    return runs[0] if runs else None


def flat_params(prefix: str, value, out: dict) -> dict:
    """Nested dicts -> flat ``a.b.c`` keys (MLflow params are flat strings)."""
    if isinstance(value, dict):
        for k, v in value.items():
            flat_params(f"{prefix}.{k}" if prefix else str(k), v, out)
    else:
        out[prefix] = str(value)
    return out


def split_input(name: str, context: str, path: Path | None, hub_url: str | None,
                columns: list[str], limit: int | None, seed: int):
    """An ``mlflow.data`` dataset input for one split a trial used, without copying the data:
    a metadata-only dataset whose source is the mirror Parquet file (or the hub page), whose
    schema is the file's footer schema and whose digest fingerprints the file and the subset.

    ``name`` reads like ``glue/sst2/train[1200 rows, seed 0]``; ``context`` is ``training`` or
    ``eval`` (MLflow's ``mlflow.data.context`` input tag)."""
    import hashlib

    from mlflow.data.meta_dataset import MetaDataset
    from mlflow.entities import DatasetInput, InputTag
    from mlflow.data.sources import HTTPDatasetSource, LocalArtifactDatasetSource
    from mlflow.types import ColSpec, DataType, Schema
    from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

    schema, fingerprint = None, [name, hub_url or ""]
    if path is not None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        meta = pq.read_metadata(path)  # the footer only: cheap at any file size
        arrow = meta.schema.to_arrow_schema()
        kinds = {pa.string(): DataType.string, pa.large_string(): DataType.string,
                 pa.int64(): DataType.long, pa.int32(): DataType.integer,
                 pa.float32(): DataType.float, pa.float64(): DataType.double}
        specs = [ColSpec(kinds[arrow.field(c).type], c) for c in columns
                 if c in arrow.names and arrow.field(c).type in kinds]
        schema = Schema(specs) if specs else None
        fingerprint += [str(Path(path).stat().st_size), str(meta.num_rows), str(arrow)]
        source = LocalArtifactDatasetSource(str(Path(path).resolve()))
    else:
        source = HTTPDatasetSource(hub_url)
    fingerprint += [str(limit), str(seed)]
    digest = hashlib.sha256("\x1f".join(fingerprint).encode()).hexdigest()[:8]
    dataset = MetaDataset(source, name=name, digest=digest, schema=schema)
    return DatasetInput(dataset._to_mlflow_entity(), [InputTag(MLFLOW_DATASET_CONTEXT, context)])


def summary_metrics(record: dict, probe_rows: list[dict]) -> dict[str, float]:
    """A run's final metrics: best dev score, size, training time, and every ok probe median as
    ``probe_<phase>_s<seq>_b<batch>[_n<tasks>][_d<dropped>]_median_ms`` (and a paired probe's
    ok ratio t_baseline / t_method as ``…_ratio``, pipeline/paired.py)."""
    final = {"best_dev_score": record.get("dev_score"),
             "trainable_params": record.get("trainable_params"),
             "train_time_s": record.get("train_time_s"),
             "xling_mean": record.get("xling_mean"),
             "train_cpu_share": record.get("train_cpu_share"),
             "train_wait_share": record.get("train_wait_share")}
    for name, prefix in (("phase_s", "phase_"), ("xling_scores", "dev_score_")):
        values = record.get(name) or {}  # a dict in the trial, JSON text in a record read back
        for key, value in (json.loads(values) if isinstance(values, str) else values).items():
            final[f"{prefix}{key}" + ("_s" if name == "phase_s" else "")] = value
    for r in probe_rows:
        name = f"probe_{r['phase']}_s{r['seq_len']}_b{r['batch_size']}"
        name += f"_n{r['n_tasks']}" if (r.get("n_tasks") or 1) > 1 else ""
        name += f"_d{r['dropped_layers']}" if r.get("dropped_layers") else ""
        if r["status"] == "ok":
            final[f"{name}_median_ms"] = r["median_ms"]
        if r.get("ratio_status") == "ok":
            final[f"{name}_ratio"] = r["ratio_median"]
    return final


def _ms(iso: str | None) -> int | None:
    """ISO-8601 timestamp of a record -> epoch milliseconds (MLflow's run times)."""
    if not iso:
        return None
    import datetime as dt

    return int(dt.datetime.fromisoformat(iso).timestamp() * 1000)


def log_trial(uri: str, experiment_id: str, parent_run_id: str, run_name: str, trial_key: str,
              params: dict, tags: dict, epoch_metrics: list[dict[str, float]],
              final_metrics: dict[str, float], artifacts: list[Path], status: str,
              datasets: list | None = None, started_at: str | None = None,
              finished_at: str | None = None) -> str:
    """Create or reuse the child run of ``trial_key`` and log everything in a few batched calls.
    ``datasets``: ``DatasetInput``s (see ``split_input``) of the splits the trial used.

    Returns the run id."""
    client = MlflowClient(uri)
    existing = find_run(client, experiment_id, trial_key)
    all_tags = {"mlflow.parentRunId": parent_run_id, "trial_key": trial_key, **tags}
    if existing is None:
        # the trial's own start time: the UI's duration is the trial's, not the logging's
        run_id = client.create_run(experiment_id, start_time=_ms(started_at), run_name=run_name,
                                   tags=all_tags).info.run_id
    else:
        run_id = existing.info.run_id
        client.log_batch(run_id, tags=[RunTag(k, str(v)) for k, v in all_tags.items()])
    flat = flat_params("", params, {})
    if existing is not None:  # params are immutable in MLflow: only add what is missing
        flat = {k: v for k, v in flat.items() if k not in existing.data.params}
    now_ms = int(time.time() * 1000)
    metrics = []
    for step, values in enumerate(epoch_metrics, start=1):
        metrics += [Metric(k, float(v), now_ms, step) for k, v in values.items()]
    metrics += [Metric(k, float(v), now_ms, 0) for k, v in final_metrics.items() if v is not None]
    client.log_batch(run_id, metrics=metrics, params=[Param(k, v) for k, v in flat.items()])
    if datasets:
        try:  # the inputs are a convenience of the UI: never lose the rest of the run for them
            client.log_inputs(run_id, datasets=datasets)
        except Exception as e:  # noqa: BLE001
            print(f"[adapterbench] MLflow dataset inputs not logged for {run_name}: {e}", flush=True)
    for path in artifacts:
        client.log_artifact(run_id, str(path))
    client.set_terminated(run_id, "FINISHED" if status == "ok" else "FAILED",
                          end_time=_ms(finished_at))
    return run_id


def count_child_runs(uri: str, sweep: str) -> list:
    """Every child run of a sweep (for tests and mlflow-sync)."""
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name(sweep)
    if experiment is None:
        return []
    return client.search_runs([experiment.experiment_id], "tags.trial_key != ''", max_results=50000)


__all__ = ["mlflow", "default_tracking_uri", "prepare_sweep", "end_sweep", "sweep_status",
           "log_trial", "count_child_runs"]
