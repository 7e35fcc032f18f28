"""What the sweep machinery costs per trial: N trials of known cost on a local Ray cluster.

    .venv/bin/python benchmarks/sweep_overhead.py [--trials 64] [--seconds 2] [--concurrency 2]

Each trial is a fixed busy loop of --seconds (it holds a core, like training) followed by the
real bookkeeping of a trial: the check for an existing ok record, the Parquet run record, the
MLflow child run (params, metrics, the resolved config artifact) in the embedded store, and the
Tune report. Everything else is the real sweep path (pipeline.sweep._run_ray: the same Tune
config, resources, reuse_actors, callbacks). Prints

    efficiency = (sum of trial times / concurrency) / wall time
    overhead per trial = (wall - sum of trial times / concurrency) * concurrency / trials

Wall time runs from before ray.init to after ray.shutdown (cluster start-up included) and is
also given for the Tune run alone (first trial start to last trial end). A benchmark, not a
test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def busy_trial(config, ctx):
    """The benchmark's stand-in for pipeline.sweep._trainable: known cost, real bookkeeping."""
    import socket

    from ray import tune

    from pipeline.grid import GridPoint
    from pipeline.trial import _log_mlflow, _now, ray_node_id
    from tracking.records import read_records, write_records

    point = GridPoint(**config["point"])
    if any(r["status"] == "ok" for r in read_records(ctx.results, "runs", point.trial_key).to_pylist()):
        tune.report({"done_trial": True, "status": "ok"})
        return
    started = _now()
    t0 = time.perf_counter()
    end = t0 + ctx.seconds
    x = 0
    while time.perf_counter() < end:  # busy: holds a core the way a training step does
        x += 1
    t1 = time.perf_counter()
    record = dict(sweep=point.sweep, trial_key=point.trial_key, status="ok", model=point.model,
                  method=point.method, method_config=point.method_config, task=point.task,
                  lr=point.lr, seed=point.seed, device="cpu:busy-loop", node=socket.gethostname(),
                  ray_node_id=ray_node_id(), train_time_s=t1 - t0, started_at=started,
                  finished_at=_now(), dev_scores={"t0": t0, "t1": t1})
    record["mlflow_run_id"] = _log_mlflow(point, ctx.sweep, record, [], [], None)
    write_records(ctx.results, "runs", point.trial_key, [record])
    tune.report({"done_trial": True, "status": "ok", "train_time_s": t1 - t0})


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--trials", type=int, default=64)
    p.add_argument("--seconds", type=float, default=2.0)
    p.add_argument("--concurrency", type=int, default=2)
    p.add_argument("--results", help="default: a fresh temp dir")
    args = p.parse_args()

    import json
    import types

    from pipeline.grid import expand
    from pipeline.spec import load_spec
    from pipeline.sweep import _run_ray, git_sha
    from pipeline.trial import SweepContext
    from tracking.mlflow_log import default_tracking_uri, prepare_sweep
    from tracking.records import read_records

    results = Path(args.results or tempfile.mkdtemp(prefix="sweep-overhead-")).resolve()
    results.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("ADAPTERBENCH_RAY_TMP", tempfile.mkdtemp(prefix="abso-", dir="/tmp"))
    seeds = list(range(args.trials))
    spec_path = results / "spec.yaml"
    spec_path.write_text(textwrap.dedent(f"""
        name: sweep-overhead
        model: tiny-bert
        tasks: [sst2]
        seeds: {seeds}
        methods: [{{name: pfeiffer, lrs: [1.0e-3]}}]
        training: {{epochs: 1, max_train_samples: 8}}
        resources: {{cpus_per_trial: 1, max_concurrent_trials: {args.concurrency}}}
    """))
    spec = load_spec(spec_path)
    points = expand(spec)
    uri = default_tracking_uri(results)
    sweep_ctx = SweepContext(str(results), uri, *prepare_sweep(uri, spec.name, results),
                             git_sha(), threads=1)
    ctx = types.SimpleNamespace(results=str(results), seconds=args.seconds, sweep=sweep_ctx)

    t0 = time.time()
    _run_ray(spec, points, ctx, None, args.concurrency, trainable=busy_trial)
    wall = time.time() - t0

    runs = [r for r in read_records(results, "runs").to_pylist() if r["status"] == "ok"]
    spans = [json.loads(r["dev_scores"]) for r in runs]
    # perf_counter is CLOCK_MONOTONIC: comparable across the processes of one machine
    tune_wall = max(s["t1"] for s in spans) - min(s["t0"] for s in spans)
    busy = sum(r["train_time_s"] for r in runs)
    ideal = busy / args.concurrency
    logged = sum(r["mlflow_run_id"] is not None for r in runs)
    print(f"trials ok: {len(runs)}/{args.trials} (MLflow runs logged: {logged}), "
          f"{args.seconds:g} s each, concurrency {args.concurrency}, {os.cpu_count()} CPUs")
    for name, w in (("whole sweep (ray.init .. shutdown)", wall),
                    ("first trial start .. last trial end", tune_wall)):
        print(f"{name:38s} wall {w:7.1f} s   ideal {ideal:6.1f} s   "
              f"efficiency {ideal / w:6.1%}   overhead/trial "
              f"{(w - ideal) * args.concurrency / len(runs):5.2f} s")
    print(f"results: {results}")


if __name__ == "__main__":
    main()
