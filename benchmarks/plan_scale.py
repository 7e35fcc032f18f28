"""How long `adapterbench plan` takes for a 10,000-point spec against 100,000 records.

    .venv/bin/python benchmarks/plan_scale.py --one-row-files 100000  # as a sweep writes them
    .venv/bin/python benchmarks/plan_scale.py                       # 100k runs, 100k probes
    .venv/bin/python benchmarks/plan_scale.py --probes 1000000 --repeat 2

Writes synthetic records under a temp results directory, a quarter of them for the spec's own
model and device: grid points already done (ok), other seeds and budgets of the same method ×
task (scaled), failed rows, other models and devices. ``--one-row-files N``: N files of one row
each, half runs and half probes, named and filled in every column as a sweep writes them (one
file per trial; this takes a while: ~3 ms of CPU a file); otherwise ``--runs``/``--probes`` rows
in files of ``--runs-per-file``/``--probes-per-file`` rows. Then times:
  spec + grid   load_spec + expand (10 methods × 10 tasks × 10 LRs × 10 seeds);
  plan, cold    pipeline.plan.plan() the first time: every record file is opened, and the
                record cache (tracking/record_cache.py) is built from them;
  plan, warm    the same again (--repeat times): the cache is read, no record file opened;
  plan, +new    after 100 new one-row run files (a sweep went on): only those are opened;
  CLI           `python -m pipeline plan SPEC --results DIR` end to end, warm (interpreter start
                and imports included: that part depends on the host's load, not on the records);
and prints a table of wall and CPU seconds (on a loaded shared host the CPU seconds are what a
quiet machine's wall time would be, near enough) with the load average. Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.tables_scale import _cpu, _table, write_split  # noqa: E402
from pipeline.grid import expand  # noqa: E402
from pipeline.plan import plan  # noqa: E402
from pipeline.spec import load_spec  # noqa: E402
from tracking.record_cache import CACHE_DIR  # noqa: E402
from tracking.records import PROBES, RUNS  # noqa: E402

DEVICE = "cpu:bench"
METHODS = ["full", "bitfit", "houlsby", "pfeiffer", "lowrank", "phm", "compacter", "compacterpp",
           "lora", "shared_adapter"]
TASKS = ["cola", "sst2", "mrpc", "qqp", "stsb", "mnli", "qnli", "rte", "wnli", "boolq"]
SPEC = f"""
name: scale
model: minilm
tasks: {TASKS}
seeds: {list(range(10))}
methods:
""" + "".join(f"  - {{name: {m}, lrs: {[round(1e-4 * (i + 1), 6) for i in range(10)]}}}\n"
              for m in METHODS) + """
training: {epochs: 2, max_train_samples: 1000, batch_size: 32, max_seq_len: 128}
probes: {cells: [[128, 16], [128, 32]], reps: 10, warmup: 3}
"""


def synthetic_runs(n: int, points, rng) -> pa.Table:
    """A quarter of the rows for the spec's model and device; of those, the first are grid
    points (done when ok), the rest other seeds/budgets of the same method × task."""
    pick = rng.integers(0, len(points), n)
    method = np.array([points[i].method for i in pick])
    config = np.array([json.dumps(points[i].method_config, sort_keys=True) for i in pick])
    task = np.array([points[i].task for i in pick])
    own = np.arange(n) < n // 4
    grid = np.arange(n) < min(len(points) // 2, n // 8)
    keys = np.where(grid, [points[i].trial_key for i in pick], [f"x{i:015x}" for i in range(n)])
    return _table({
        "schema_version": np.full(n, 3, np.int32), "sweep": np.full(n, "scale"),
        "trial_key": keys, "status": rng.choice(["ok"] * 18 + ["oom", "failed"], n),
        "model": np.where(own, "minilm", rng.choice(["bert-base", "t5-base"], n)),
        "method": method, "method_config": config, "task": task,
        "lr": rng.choice([1e-4, 1e-3], n), "seed": rng.integers(0, 10, n),
        "epochs": rng.choice([1, 2, 3], n), "train_samples": rng.choice([500, 1000, 2000], n),
        "total_params": np.full(n, 22_700_000), "train_time_s": rng.random(n) * 600,
        "device": np.where(own, DEVICE, rng.choice(["cpu:x86_64", "NVIDIA H100"], n)),
        "finished_at": np.full(n, "2026-01-01T01:00:00+00:00"),
    }, RUNS, n)


def synthetic_probes(n: int, runs: pa.Table, rng) -> pa.Table:
    pick = rng.integers(0, runs.num_rows, n)
    col = {c: runs[c].take(pa.array(pick)) for c in ("trial_key", "model", "method",
                                                     "method_config", "device")}
    return _table({
        **col, "schema_version": np.full(n, 3, np.int32), "sweep": np.full(n, "scale"),
        "phase": rng.choice(["train", "inference"], n), "seq_len": rng.choice([64, 128, 256], n),
        "batch_size": rng.choice([16, 32], n), "n_tasks": np.ones(n, np.int64),
        "dropped_layers": np.zeros(n, np.int64), "reps": np.full(n, 10), "warmup": np.full(n, 3),
        "median_ms": rng.random(n) * 1000 + 10, "timer": np.full(n, "perf_counter"),
        "exclusive": rng.random(n) > 0.1, "status": rng.choice(["ok"] * 49 + ["oom"], n),
    }, PROBES, n)


# Columns the one-row files leave null or set as a sweep would: filled at random they would
# change what the plan reads (a group key counts as done, a batch kind picks other cells).
AS_WRITTEN = {"group_key": None, "group_tasks": None, "error": None, "paired_with": None,
              "baseline_median_ms": None, "ratio_median": None, "ratio_ci_low": None,
              "ratio_ci_high": None, "pairs": None, "ratio_status": None,
              "batch_kind": "classification", "objective": "head"}


def every_column(table: pa.Table, rng) -> pa.Table:
    """The columns the synthetic tables leave null, filled as a sweep fills them: numbers at
    random, strings as short JSON (configs, versions, phase times, interference per attempt)."""
    n = table.num_rows
    for i, f in enumerate(table.schema):
        if table[f.name].null_count < n or AS_WRITTEN.get(f.name, "") is None:
            continue
        if f.name in AS_WRITTEN:
            values = pa.array([AS_WRITTEN[f.name]] * n, f.type)
        elif pa.types.is_string(f.type):
            texts = [json.dumps({f.name: round(float(x), 4), "n": int(k)}, sort_keys=True)
                     for x, k in zip(rng.random(16), rng.integers(0, 100, 16))]
            values = pa.array(rng.choice(texts, n), f.type)
        elif pa.types.is_floating(f.type):
            values = pa.array(rng.random(n) * 100, f.type)
        elif pa.types.is_boolean(f.type):
            values = pa.array(rng.random(n) > 0.5, f.type)
        else:
            values = pa.array(rng.integers(0, 1000, n), f.type)
        table = table.set_column(i, f.name, values)
    return table


def write_one_row(table: pa.Table, folder: Path, start: int = 0) -> int:
    """One file per row, named as tracking.records.write_records names them."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, key in enumerate(table["trial_key"].to_pylist()):
        pq.write_table(table.slice(i, 1), folder / f"{key}-{start + i:08x}.parquet")
    return table.num_rows


def timed(fn) -> tuple[float, float]:
    """(wall s, CPU s of this process and its finished children) of fn()."""
    wall, cpu = time.perf_counter(), _cpu()
    fn()
    return time.perf_counter() - wall, _cpu() - cpu


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--one-row-files", type=int, default=0,
                   help="N one-row files, half runs, half probes (instead of the options below)")
    p.add_argument("--runs", type=int, default=100_000)
    p.add_argument("--probes", type=int, default=100_000)
    p.add_argument("--runs-per-file", type=int, default=1000)
    p.add_argument("--probes-per-file", type=int, default=1000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--dir", help="work directory (default: a temp dir, removed after)")
    args = p.parse_args(argv)

    rng = np.random.default_rng(0)
    work = Path(args.dir or tempfile.mkdtemp(prefix="plan-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    results, spec_path = work / "results", work / "scale.yaml"
    try:
        spec_path.write_text(textwrap.dedent(SPEC))
        spec = load_spec(spec_path)
        points = expand(spec)
        t0 = time.perf_counter()
        if args.one_row_files:
            args.runs = args.one_row_files // 2
            args.probes = args.one_row_files - args.runs
        runs = synthetic_runs(args.runs, points, rng)
        probes = synthetic_probes(args.probes, runs, rng)
        if args.one_row_files:
            n_run_files = write_one_row(every_column(runs, rng), results / "records/runs")
            n_probe_files = write_one_row(every_column(probes, rng), results / "records/probes")
        else:
            n_run_files = write_split(runs, results / "records/runs", args.runs_per_file, "r")
            n_probe_files = write_split(probes, results / "records/probes",
                                        args.probes_per_file, "p") if args.probes else 0
        print(f"{len(points)} grid points; wrote {args.runs} runs in {n_run_files} files and "
              f"{args.probes} probes in {n_probe_files} files ({time.perf_counter() - t0:.1f} s)",
              flush=True)
        forecast = []

        def run_plan():
            forecast[:] = [plan(spec, points, results, device=DEVICE)]

        load_before = os.getloadavg()
        timings = {"cold": [timed(run_plan)], "grid": [], "warm": [], "cli": []}
        for _ in range(args.repeat):  # (wall s, CPU s) per repeat
            timings["grid"].append(timed(lambda: expand(load_spec(spec_path))))
            timings["warm"].append(timed(run_plan))
        write_one_row(every_column(synthetic_runs(100, points, rng), rng),
                      results / "records/runs", start=n_run_files)
        timings["new"] = [timed(run_plan)]
        for _ in range(args.repeat):
            timings["cli"].append(timed(lambda: subprocess.run(
                [sys.executable, "-m", "pipeline", "plan", str(spec_path), "--results",
                 str(results), "--device", DEVICE], cwd=REPO, check=True,
                capture_output=True)))
        load_after = os.getloadavg()
        timings["both"] = [(g[0] + q[0], g[1] + q[1])
                           for g, q in zip(timings["grid"], timings["warm"])]
        cache = sum(f.stat().st_size for f in (results / CACHE_DIR).rglob("seg-*.parquet"))

        def cell(pairs):
            walls, cpus = zip(*pairs)
            return (f"{len(walls)} | {statistics.median(walls):.2f} | {min(walls):.2f} "
                    f"| {max(walls):.2f} | {statistics.median(cpus):.2f}")

        records = (f"{args.runs} runs, {args.probes} probes, {n_run_files + n_probe_files} "
                   "files")
        print()
        print("| step | calls | median wall s | min | max | median CPU s |")
        print("|---|---:|---:|---:|---:|---:|")
        print(f"| spec + grid ({len(points)} points) | {cell(timings['grid'])} |")
        print(f"| plan(), cold: opens every file, builds the cache ({records}) "
              f"| {cell(timings['cold'])} |")
        print(f"| plan(), warm: the cache ({cache / 2**20:.0f} MiB) | {cell(timings['warm'])} |")
        print(f"| plan(), warm + 100 new run files | {cell(timings['new'])} |")
        print(f"| spec + grid + plan(), warm | {cell(timings['both'])} |")
        print(f"| CLI end to end, warm (new interpreter, imports) | {cell(timings['cli'])} |")
        print()
        print(forecast[0].line())
        print("load average (1, 5, 15 min) before: " + ", ".join(f"{x:.2f}" for x in load_before)
              + "; after: " + ", ".join(f"{x:.2f}" for x in load_after))
    finally:
        if not args.dir:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
