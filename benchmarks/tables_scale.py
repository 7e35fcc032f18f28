"""How long table regeneration takes at scale, and the same through mlflow.search_runs.

    nice -n 19 .venv/bin/python benchmarks/tables_scale.py --mlflow-runs 500  # 100k runs, 1M probes
    .venv/bin/python benchmarks/tables_scale.py --runs 2000 --probes 20000 --mlflow-runs 200

Writes synthetic records (realistic columns and key spread) under --dir, then times:
  cold        first regeneration: reads every record file, builds the cache, writes all outputs;
  warm        again with no new files (the scheduled steady state);
  incremental after --new-trials more per-trial files (one runs + one probes file each);
and a script's path through MLflow: ``mlflow.search_runs`` over --mlflow-runs child runs in a
SQLite store plus the same LR-selection aggregate in pandas. Prints a table (wall and CPU seconds;
how many figures were drawn because their data changed, the seconds spent drawing them, in a
child process beside the tables and then in both, and how long the regeneration waited for them
after its tables were done) and the load average; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tracking.records import PROBES, RUNS, write_records  # noqa: E402

METHODS = ["full", "houlsby", "pfeiffer", "bitfit", "lowrank", "phm", "compacter", "compacterpp",
           "adapterdrop", "fusion", "shared_adapter", "lora"]
TASKS = ["cola", "sst2", "mrpc", "qqp", "stsb", "mnli", "qnli", "rte"]


def _table(columns: dict, schema: pa.Schema, n: int) -> pa.Table:
    """Columns the schema has and the generator does not fill (added later) are null."""
    return pa.table({f.name: columns.get(f.name, pa.nulls(n, f.type)) for f in schema}, schema=schema)


def synthetic_runs(n: int, rng) -> pa.Table:
    method = rng.choice(METHODS, n)
    cfg = np.array([json.dumps({"phm_dim": int(d)}) for d in (4, 8, 12)])[rng.integers(0, 3, n)]
    cfg = np.where(np.isin(method, ["phm", "compacter", "compacterpp"]), cfg, "{}")
    return _table({
        "schema_version": np.ones(n, np.int32), "sweep": np.full(n, "scale"),
        "trial_key": [f"{i:016x}" for i in range(n)], "status": rng.choice(["ok"] * 18 + ["oom", "failed"], n),
        "error": pa.nulls(n, pa.string()), "model": rng.choice(["minilm", "t5-base", "t5-small"], n),
        "method": method, "method_config": cfg, "task": rng.choice(TASKS, n), "metric": np.full(n, "accuracy"),
        "lr": rng.choice([1e-4, 3e-4, 1e-3, 3e-3], n), "seed": rng.integers(0, 5, n),
        "epochs": np.full(n, 3), "train_samples": rng.choice([100, 1000, 4000, 10000], n),
        "dev_score": rng.random(n), "best_epoch": rng.integers(1, 4, n), "dev_scores": np.full(n, "{}"),
        "trainable_params": rng.integers(10_000, 1_000_000, n), "total_params": np.full(n, 22_700_000),
        "train_time_s": rng.random(n) * 600, "lease_wait_s": np.zeros(n), "peak_mem_bytes": rng.integers(1, 2**33, n),
        "device": rng.choice(["cpu:x86_64", "NVIDIA H100"], n), "node": np.full(n, "n1"),
        "git_sha": np.full(n, "abc"), "versions": np.full(n, "{}"), "mlflow_run_id": pa.nulls(n, pa.string()),
        "started_at": np.full(n, "2026-01-01T00:00:00+00:00"), "finished_at": np.full(n, "2026-01-01T01:00:00+00:00"),
    }, RUNS, n)


def synthetic_probes(n: int, rng) -> pa.Table:
    method = rng.choice(METHODS, n)
    cfg = np.array(["{}", json.dumps({"implementation": "parallel"}), json.dumps({"fusion_dropout": 0.5})])[rng.integers(0, 3, n)]
    return _table({
        "schema_version": np.ones(n, np.int32), "sweep": np.full(n, "scale"),
        "trial_key": [f"{i // 10:016x}" for i in range(n)], "model": rng.choice(["minilm", "bert-base"], n),
        "method": method, "method_config": np.where(method == "fusion", cfg, "{}"),
        "phase": rng.choice(["train", "inference"], n), "seq_len": rng.choice([64, 128, 256, 512], n),
        "batch_size": rng.choice([1, 16, 32, 64], n), "n_tasks": rng.choice([1, 1, 1, 2, 4, 8, 16], n),
        "dropped_layers": rng.integers(0, 12, n), "n_fusion": np.where(method == "fusion", rng.choice([2, 4, 8, 16], n), 0),
        "reps": np.full(n, 300), "warmup": np.full(n, 10), "median_ms": rng.random(n) * 100 + 10,
        "p10_ms": rng.random(n), "p90_ms": rng.random(n), "peak_mem_bytes": rng.integers(1, 2**33, n),
        "device": rng.choice(["cpu:x86_64", "NVIDIA H100"], n), "timer": np.full(n, "cuda_event"),
        "exclusive": rng.random(n) > 0.02, "status": rng.choice(["ok"] * 49 + ["oom"], n),
    }, PROBES, n)


def write_split(table: pa.Table, folder: Path, rows_per_file: int, prefix: str) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    n = 0
    for start in range(0, table.num_rows, rows_per_file):
        pq.write_table(table.slice(start, rows_per_file), folder / f"{prefix}{start:09d}.parquet")
        n += 1
    return n


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (the figure-drawing process)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def timed_regen(results: Path) -> dict:
    """Wall and CPU seconds of one regeneration, and how much of it was drawing figures."""
    from pipeline.tables import regen

    cpu = _cpu()
    wall = timed(lambda: regen.regenerate(results))
    return dict(wall=wall, cpu=_cpu() - cpu, figures_drawn=regen.LAST_RUN["figures_drawn"],
                drawing_s=regen.LAST_RUN["drawing_s"], wait_s=regen.LAST_RUN["drawing_wait_s"])


HEADER = ("| path | records | wall s | CPU s (both processes) | figures redrawn (drawing s) "
          "| s of the wall waiting for drawings after the tables |")


def _cell(r: dict) -> str:
    return (f"{r['wall']:.2f} | {r['cpu']:.2f} | {r['figures_drawn']} "
            f"({r['drawing_s']:.2f} s) | {r['wait_s']:.2f}")


def mlflow_path(n_runs: int, workdir: Path, rng) -> tuple[float, float]:
    """(seconds for search_runs + aggregate, seconds to log the runs) over n_runs child runs."""
    os.environ.setdefault("MLFLOW_TRACKING_URI", f"sqlite:///{workdir}/mlflow.db")
    import mlflow
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{workdir}/mlflow.db"
    client = MlflowClient(uri)
    exp = client.create_experiment("scale")
    t0 = time.perf_counter()
    for i in range(n_runs):
        run = client.create_run(exp, run_name=f"r{i}", tags={"trial_key": f"{i:016x}"})
        params = dict(method=str(rng.choice(METHODS)), task=str(rng.choice(TASKS)),
                      lr=str(rng.choice([1e-4, 1e-3])), seed=str(i % 3))
        metrics = [Metric("best_dev_score", float(rng.random()), 0, 0)] + \
            [Metric(f"probe_train_s{s}_b16_median_ms", float(rng.random()), 0, 0) for s in (64, 128, 256, 512)]
        client.log_batch(run.info.run_id, metrics=metrics, params=[Param(k, v) for k, v in params.items()])
    log_s = time.perf_counter() - t0
    mlflow.set_tracking_uri(uri)

    def query():
        df = mlflow.search_runs([exp], max_results=100_000)
        g = df.groupby(["params.method", "params.task", "params.lr"])["metrics.best_dev_score"].agg(["mean", "std"])
        g.sort_values("mean", ascending=False).reset_index().drop_duplicates(["params.method", "params.task"])

    return timed(query), log_s


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=int, default=100_000)
    p.add_argument("--probes", type=int, default=1_000_000)
    p.add_argument("--runs-per-file", type=int, default=100)
    p.add_argument("--probes-per-file", type=int, default=1000)
    p.add_argument("--new-trials", type=int, default=20)
    p.add_argument("--mlflow-runs", type=int, default=1000)
    p.add_argument("--dir", help="work directory (default: a temp dir, removed after)")
    args = p.parse_args(argv)

    rng = np.random.default_rng(0)
    work = Path(args.dir or tempfile.mkdtemp(prefix="tables-scale-"))
    results = work / "results"
    try:
        t0 = time.perf_counter()
        n_run_files = write_split(synthetic_runs(args.runs, rng), results / "records/runs", args.runs_per_file, "r")
        n_probe_files = write_split(synthetic_probes(args.probes, rng), results / "records/probes", args.probes_per_file, "p")
        print(f"wrote {args.runs} runs in {n_run_files} files and {args.probes} probe rows in "
              f"{n_probe_files} files ({time.perf_counter() - t0:.1f} s)", flush=True)
        load_before = os.getloadavg()
        cold = timed_regen(results)
        warm = timed_regen(results)
        for i in range(args.new_trials):
            write_records(results, "runs", f"new{i}", synthetic_runs(1, rng).to_pylist())
            write_records(results, "probes", f"new{i}", synthetic_probes(10, rng).to_pylist())
        incremental = timed_regen(results)
        warm2 = timed_regen(results)
        load_after = os.getloadavg()
        ml_query, ml_log = mlflow_path(args.mlflow_runs, work, rng)
        ours_per_run = warm["wall"] / args.runs
        ml_per_run = ml_query / args.mlflow_runs
        print()
        print(HEADER)
        print("|---|---|---|---|---|---|")
        print(f"| tables, cold (no cache; {n_run_files + n_probe_files} files) | {args.runs} runs + {args.probes} probes | {_cell(cold)} |")
        print(f"| tables, warm (cache, no new files) | same | {_cell(warm)} |")
        print(f"| tables, incremental (+{args.new_trials} trials' files) | same + {args.new_trials * 11} | {_cell(incremental)} |")
        print(f"| tables, warm again | same | {_cell(warm2)} |")
        print(f"| mlflow.search_runs + pandas LR selection | {args.mlflow_runs} runs | {ml_query:.2f} (logging them: {ml_log:.1f}) | | | |")
        print()
        print("load average (1, 5, 15 min) before: " + ", ".join(f"{x:.2f}" for x in load_before)
              + "; after: " + ", ".join(f"{x:.2f}" for x in load_after))
        print(f"per run record: tables (warm, all {28} outputs) {1e6 * ours_per_run:.1f} µs; "
              f"search_runs {1e6 * ml_per_run:.1f} µs; ratio {ml_per_run / ours_per_run:.0f}×")
        print(f"search_runs extrapolated to {args.runs} runs: {ml_per_run * args.runs:.0f} s "
              f"vs tables warm {warm['wall']:.2f} s / cold {cold['wall']:.2f} s")
    finally:
        if not args.dir:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
