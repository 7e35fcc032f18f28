"""Parquet records: the source of truth. Schemas, an atomic writer and a tolerant reader.

Layout under the results directory:
    records/runs/<trial_key>-<uid>.parquet     one row per finished trial attempt (ok|failed|oom)
    records/evals/<trial_key>-<uid>.parquet    one row per evaluation (epoch)
    records/probes/<trial_key>-<uid>.parquet   one row per probe cell
Each file is written under a temporary name in the same directory and renamed into place, so a
reader sees a whole file or none. A file that still fails to read is skipped with a warning.

The results directory is a local path (an NFS mount on a cluster) or a URI that pyarrow
understands (``s3://bucket/prefix``, ``gs://…``, ``file:///…``). Object stores have no rename,
but one PUT of a whole object is atomic there, so a record is written directly under its name.
"""

from __future__ import annotations

import json
import os
import uuid
import warnings
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq

SCHEMA_VERSION = 9  # 2: runs.ray_node_id (several Ray nodes may share one hostname)
# 3: task kinds: runs.objective/train_split/dev_split/xling_*, evals.language/split;
#    runs.phase_s/wall_s/time_to_*/group_*/storage_params/batches;
#    evals.train_seconds
# 6: runs.add_time_s/score_before_add (multitask_add)
# 5: probes.batch_kind (a cell's identity includes the shape of what it times)
# 4: probes.cpu_share/wait_share/spread/device_procs/threads/attempts/interference and
#    status contended (pipeline/interference.py)
# 7: probes.paired_with/baseline_median_ms/ratio_median/ratio_ci_low/ratio_ci_high/pairs/
#    ratio_status: a paired probe's ratio to its baseline (pipeline/paired.py), which tables
#    prefer to a ratio of two separate probes
# 8: runs.train_cpu_share/train_wait_share: whether the training loop shared its cores
# 9: runs.fusion_sources (the trained adapters an AdapterFusion run fused), evals.n_fusion
#    (adapters kept after AdapterFusion pruning; was read as an optional column before)

RUNS = pa.schema([
    ("schema_version", pa.int32()), ("sweep", pa.string()), ("trial_key", pa.string()),
    ("status", pa.string()), ("error", pa.string()), ("model", pa.string()),
    ("method", pa.string()), ("method_config", pa.string()), ("task", pa.string()),
    ("metric", pa.string()), ("lr", pa.float64()), ("seed", pa.int64()), ("epochs", pa.int64()),
    ("train_samples", pa.int64()), ("dev_score", pa.float64()), ("best_epoch", pa.int64()),
    ("dev_scores", pa.string()),  # JSON: every official score at the best epoch
    ("trainable_params", pa.int64()), ("total_params", pa.int64()),
    ("train_time_s", pa.float64()), ("lease_wait_s", pa.float64()), ("peak_mem_bytes", pa.int64()), ("device", pa.string()),
    ("node", pa.string()), ("ray_node_id", pa.string()), ("git_sha", pa.string()), ("versions", pa.string()),
    ("mlflow_run_id", pa.string()), ("started_at", pa.string()), ("finished_at", pa.string()),
    ("objective", pa.string()),  # head | text2text
    ("train_split", pa.string()), ("dev_split", pa.string()),  # task:split actually read
    ("xling_mean", pa.float64()),  # mean zero-shot score over training.eval_languages
    ("xling_scores", pa.string()),  # JSON {language: score}
    ("phase_s", pa.string()),  # JSON {phase: seconds}, pipeline/phases.py
    ("wall_s", pa.float64()),  # the trial's wall time, inside its worker
    ("time_to_best_s", pa.float64()), ("time_to_95_s", pa.float64()),  # training seconds to
    ("time_to_99_s", pa.float64()),  # the best dev score and to 95% / 99% of it
    # multi-task grid points (pipeline/multitask_trial.py): one record per task of the group
    ("group_key", pa.string()), ("group_tasks", pa.string()),  # the point's key; JSON list
    ("storage_params", pa.int64()),  # own head/adapters + shared trained body / n tasks
    ("batches", pa.int64()),  # batches the sampler drew from this task
    ("add_time_s", pa.float64()),  # multitask_add: training seconds to add the new task
    ("score_before_add", pa.float64()),  # multitask_add, old tasks: dev score before it
    # the training loop's CPU figures, as a probe's (pipeline/interference.loop_figures; null
    # on a GPU): process CPU time and threads' wait for a core, each / wall / threads
    ("train_cpu_share", pa.float64()), ("train_wait_share", pa.float64()),
    # AdapterFusion over trained adapters (pipeline/fusion_sources.py): JSON list, in slot
    # order, of {task, key, dev_score, train_seconds, reused}
    ("fusion_sources", pa.string()),
])

EVALS = pa.schema([
    ("schema_version", pa.int32()), ("sweep", pa.string()), ("trial_key", pa.string()),
    ("method", pa.string()), ("task", pa.string()), ("lr", pa.float64()), ("seed", pa.int64()),
    ("epoch", pa.int64()), ("step", pa.int64()), ("dropped_layers", pa.int64()),
    ("metric", pa.string()), ("score", pa.float64()), ("scores", pa.string()),
    ("train_loss", pa.float64()),
    ("language", pa.string()), ("split", pa.string()),  # the set scored (zero-shot: its language)
    ("train_seconds", pa.float64()),  # training so far (excl. eval and lease waits)
    ("n_fusion", pa.int64()),  # AdapterFusion pruning: adapters kept per layer (null: not pruned)
])

PROBES = pa.schema([
    ("schema_version", pa.int32()), ("sweep", pa.string()), ("trial_key", pa.string()),
    ("model", pa.string()), ("method", pa.string()), ("method_config", pa.string()),
    ("phase", pa.string()), ("seq_len", pa.int64()), ("batch_size", pa.int64()),
    ("n_tasks", pa.int64()), ("dropped_layers", pa.int64()), ("n_fusion", pa.int64()),
    ("reps", pa.int64()), ("warmup", pa.int64()), ("median_ms", pa.float64()),
    ("p10_ms", pa.float64()), ("p90_ms", pa.float64()), ("peak_mem_bytes", pa.int64()),
    ("device", pa.string()), ("timer", pa.string()), ("exclusive", pa.bool_()),
    ("status", pa.string()),  # ok | oom | contended (disturbed in every attempt)
    # what interference leaves behind (pipeline/interference.py), of the recorded attempt:
    ("cpu_share", pa.float64()),  # process CPU time / wall / threads over the timed reps
    ("wait_share", pa.float64()),  # threads' time waiting for a core / wall / threads
    ("spread", pa.float64()),  # (p90 - p10) / median
    ("device_procs", pa.int64()),  # GPU: other processes the driver reports on the device
    ("threads", pa.int64()),  # threads a CPU probe can keep busy
    ("attempts", pa.int64()),  # measurements made: 1 + re-measurements of a disturbed cell
    ("interference", pa.string()),  # JSON list, per attempt: figures and why it looked disturbed
    ("batch_kind", pa.string()),  # the task kind whose batches were timed (null: classification)
    # paired probes (pipeline/paired.py; null: timed alone): the method and its baseline
    # interleaved, one rep each in turn, on one batch
    ("paired_with", pa.string()),  # full | dropped_layers=0
    ("baseline_median_ms", pa.float64()),
    ("ratio_median", pa.float64()),  # median over pairs of t_baseline / t_method
    ("ratio_ci_low", pa.float64()), ("ratio_ci_high", pa.float64()),  # its 95% interval
    ("pairs", pa.int64()),
    ("ratio_status", pa.string()),  # ok | contended (ratio disturbed in every attempt) | oom
])

SCHEMAS = {"runs": RUNS, "evals": EVALS, "probes": PROBES}


def is_uri(results) -> bool:
    return "://" in str(results)


def location(results) -> str:
    """A results location as passed around between processes: an absolute path or a URI."""
    return str(results) if is_uri(results) else str(Path(results).resolve())


def _fs(results, kind: str) -> tuple[pafs.FileSystem, str]:
    """The filesystem and the folder of one record kind."""
    if is_uri(results):
        fs, root = pafs.FileSystem.from_uri(str(results))
        return fs, f"{root.rstrip('/')}/records/{kind}"
    return pafs.LocalFileSystem(), str(records_dir(results, kind).resolve())


def records_dir(results: Path, kind: str) -> Path:
    return Path(results) / "records" / kind


def write_records(results: Path | str, kind: str, trial_key: str, rows: list[dict]) -> Path | str | None:
    """Write rows atomically as one new Parquet file; returns its path (None for no rows)."""
    if not rows:
        return None
    schema = SCHEMAS[kind]
    for row in rows:
        row.setdefault("schema_version", SCHEMA_VERSION)
        for key, value in row.items():
            if isinstance(value, (dict, list)):
                row[key] = json.dumps(value, sort_keys=True)
    table = pa.Table.from_pylist(rows, schema=schema)
    fs, folder = _fs(results, kind)
    fs.create_dir(folder, recursive=True)
    name = f"{trial_key}-{uuid.uuid4().hex[:8]}.parquet"
    final = f"{folder}/{name}"
    if not isinstance(fs, pafs.LocalFileSystem):
        pq.write_table(table, final, filesystem=fs)  # one PUT: atomic on object stores
        return final
    tmp = f"{folder}/.{name}.tmp"
    pq.write_table(table, tmp)
    os.replace(tmp, final)
    return Path(final)


def _files(results, kind: str, prefix: str = "") -> tuple[pafs.FileSystem, list[str]]:
    fs, folder = _fs(results, kind)
    infos = fs.get_file_info(pafs.FileSelector(folder, allow_not_found=True))
    return fs, sorted(i.path for i in infos if i.type == pafs.FileType.File
                      and i.base_name.endswith(".parquet") and i.base_name.startswith(prefix)
                      and not i.base_name.startswith("."))


def read_records(results: Path | str, kind: str, trial_key: str | None = None,
                 columns: list[str] | None = None) -> pa.Table:
    """All records of a kind (or of one trial), sorted by file; ``columns``: only these.
    Unreadable files are skipped with a warning. A local results directory is read through the
    record cache (tracking/record_cache.py: only files new since the last read are opened); one
    trial's few files are read directly; a URI (s3://, gs://) in one dataset scan, file by file
    if a file cannot be read (a cache in a bucket would need a rename it does not have)."""
    columns = columns or SCHEMAS[kind].names
    if trial_key is None and not is_uri(results):
        from tracking.record_cache import load_kind  # it imports this module

        return load_kind(results, kind, columns=columns).select(columns)
    fs, paths = _files(results, kind, f"{trial_key}-" if trial_key else "")
    if trial_key is None:
        try:  # ~10x less work than reading the files one by one
            return ds.dataset(paths, schema=SCHEMAS[kind], filesystem=fs).to_table(columns=columns)
        except Exception:  # noqa: BLE001 - a broken file: find it below
            pass
    tables = []
    for path in paths:
        try:
            tables.append(pq.read_table(path, schema=SCHEMAS[kind], filesystem=fs,
                                        columns=columns))
        except Exception as e:  # noqa: BLE001 - any corruption is skipped, not fatal
            warnings.warn(f"skipping unreadable record file {path}: {e}", stacklevel=2)
    if not tables:
        return SCHEMAS[kind].empty_table().select(columns)
    return pa.concat_tables(tables)


def ok_trial_keys(results: Path | str, trial_key: str | None = None) -> set[str]:
    """Keys with an ok run record; a multi-task grid point's key (``group_key``) counts too: its
    per-task records are written together, in one file, with one status."""
    runs = read_records(results, "runs", trial_key, ["trial_key", "status", "group_key"])
    ok = [s == "ok" for s in runs["status"].to_pylist()]
    keys = {k for k, good in zip(runs["trial_key"].to_pylist(), ok) if good}
    return keys | {g for g, good in zip(runs["group_key"].to_pylist(), ok) if good and g}
