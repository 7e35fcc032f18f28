"""The sweep driver: validate ▸ expand ▸ skip finished points ▸ MLflow parent ▸ Ray Tune ▸ summary
▸ end the MLflow parent.

Trials write their own records; the driver only adds a ``failed`` record for a point whose trial
never produced one (its worker died more often than the retries allow), so nothing is lost.
The MLflow parent run ends with the sweep (tracking/mlflow_log.py): FINISHED, FAILED (a point
failed or ran out of memory) or KILLED (Ctrl-C, SIGTERM: points left unrun); a crash of the
driver itself ends it FAILED. A resumed sweep re-opens the same parent.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from pipeline.grid import GridPoint, expand
from pipeline.spec import Spec, SpecError, load_spec
from tracking.records import is_uri, location, ok_trial_keys, read_records, write_records

REPO = Path(__file__).resolve().parents[1]

# Environment passed on to every trial worker (Ray workers do not inherit the driver's shell).
FORWARDED_ENV = ("HF_HUB_OFFLINE", "HF_HOME", "ADAPTERBENCH_DATA_DIR", "ADAPTERBENCH_LEASE_DIR",
                 "ADAPTERBENCH_LEASE_TRACE",
                 "MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_TIMEOUT",
                 "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR")


def git_sha() -> str:
    try:
        sha = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True,
                             text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        return sha + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def log(msg: str) -> None:
    print(f"[adapterbench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def _progress_callback(total: int):
    from ray.tune import Callback

    class Progress(Callback):
        """One line per epoch and per finished trial, with counts and elapsed time."""

        def __init__(self):
            self.started = time.time()
            self.finished = 0

        def _name(self, trial) -> str:
            return GridPoint(**trial.config["point"]).run_name

        def on_trial_start(self, iteration, trials, trial, **info):
            log(f"start  {self._name(trial)}")

        def on_trial_result(self, iteration, trials, trial, result, **info):
            name, elapsed = self._name(trial), time.time() - self.started
            if result.get("done_trial"):
                self.finished += 1
                running = sum(t.status == "RUNNING" for t in trials) - 1
                score = result.get("dev_score")
                score = "–" if score is None else f"{score:.4f}"
                log(f"[{self.finished}/{total} done, {max(running, 0)} running, {elapsed:.0f}s] "
                    f"{result['status']:6s} {name} best dev={score} "
                    f"train {result.get('train_time_s') or 0:.0f}s")
            elif "epoch" in result:
                log(f"epoch  {name} epoch {result['epoch']} dev={result['dev_score']:.4f}")

        def on_trial_recover(self, iteration, trials, trial, **info):
            log(f"retry  {self._name(trial)}: its worker or node died; running it again")

        def on_trial_error(self, iteration, trials, trial, **info):
            log(f"error  {self._name(trial)}: worker failed and no retry is left")

    return Progress()


def _trainable(config, ctx):
    """The Ray Tune function trainable: one grid point."""
    from ray import tune

    from pipeline.trial import run_trial

    point = GridPoint(**config["point"])
    # A retried attempt (its worker or node died after the record was written, before Tune heard
    # of it) must not write a second ok row: the record is the truth, so it is reported as is.
    done = read_records(ctx.results, "runs", point.trial_key).to_pylist()
    record = next((r for r in done if r["status"] == "ok"), None) or \
        run_trial(point, ctx, report=tune.report)
    tune.report({"done_trial": True, "status": record["status"],
                 "dev_score": record.get("dev_score"), "train_time_s": record.get("train_time_s")})


def run_sweep(spec_path: str, results: str = "results", tracking_uri: str | None = None,
              address: str | None = None, max_concurrent: int | None = None) -> dict:
    """Run every grid point of the spec that has no ``ok`` record yet; returns status counts."""
    spec: Spec = load_spec(spec_path)  # validates before anything starts
    points = expand(spec)
    results_dir = location(results)  # absolute path, or a URI (s3://, gs://) every node reaches
    if is_uri(results_dir) and not (tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")):
        raise SpecError(f"--results {results_dir} is a URI: give --tracking-uri (or "
                        "$MLFLOW_TRACKING_URI), there is no embedded MLflow store in a bucket")
    if not is_uri(results_dir):
        Path(results_dir).mkdir(parents=True, exist_ok=True)
    done = ok_trial_keys(results_dir)
    todo = [p for p in points if p.trial_key not in done]
    log(f"sweep {spec.name!r}: {len(points)} grid points, {len(points) - len(todo)} already ok "
        f"(skipped), {len(todo)} to run; records in {results_dir}/records")
    from pipeline.plan import forecast_line  # `adapterbench plan SPEC` prints its table

    log(forecast_line(spec, points, results_dir, done))
    if not todo:
        return {"grid": len(points), "skipped": len(points), "ok": 0, "failed": 0, "oom": 0,
                "not_run": 0}

    from tracking.mlflow_log import default_tracking_uri, prepare_sweep, sweep_status

    uri = tracking_uri or default_tracking_uri(results_dir)
    try:
        experiment_id, parent_run_id = prepare_sweep(uri, spec.name, results_dir, reopen=True)
        log(f"MLflow: {uri} (experiment {spec.name!r}); UI: mlflow ui --backend-store-uri {uri}")
    except Exception as e:  # noqa: BLE001 - the records are the truth; MLflow is back-filled
        experiment_id = parent_run_id = None
        log(f"MLflow at {uri} is unreachable ({type(e).__name__}); trials log to the records "
            f"only; afterwards run: adapterbench mlflow-sync --results {results_dir} "
            f"--tracking-uri {uri}")

    from pipeline.trial import SweepContext

    ctx = SweepContext(str(results_dir), uri, experiment_id, parent_run_id, git_sha(),
                       threads=spec.resources.torch_threads)
    concurrency = max_concurrent or spec.resources.max_concurrent_trials
    with _sigterm_exits():
        try:
            _run_ray(spec, todo, ctx, address, concurrency)
            counts = _summarize(results_dir, points, todo)
        except BaseException as e:
            # KeyboardInterrupt (a second Ctrl-C) and SystemExit (SIGTERM) are interruptions;
            # anything else is the driver failing.
            _end_parent(uri, parent_run_id, "FAILED" if isinstance(e, Exception) else "KILLED")
            raise
        _end_parent(uri, parent_run_id, sweep_status(counts), counts)
    return counts


@contextmanager
def _sigterm_exits():
    """SIGTERM (systemd stop, kubectl delete, `ray job stop`) raises SystemExit in the driver, so
    the sweep's parent run is ended KILLED instead of left RUNNING. ray.init installs its own
    SIGTERM handler that also exits (after stopping the local Ray processes); this one covers the
    time before it and is put back afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def exit_on_sigterm(signum, frame):
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, exit_on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _end_parent(uri: str, parent_run_id: str | None, status: str, counts: dict | None = None):
    """End the MLflow parent run; never fails the sweep (the records are the truth)."""
    if parent_run_id is None:
        return
    from tracking.mlflow_log import end_sweep

    try:
        end_sweep(uri, parent_run_id, status, counts)
        log(f"MLflow parent run {parent_run_id} ended {status}")
    except Exception as e:  # noqa: BLE001
        log(f"MLflow parent run {parent_run_id} not ended ({type(e).__name__}: {e})")


def _run_ray(spec: Spec, todo: list[GridPoint], ctx, address: str | None, concurrency: int,
             trainable=_trainable):
    """Run the points on Ray Tune (``trainable``: the benchmark swaps in a busy loop)."""
    # Tune's automatic CSV/JSON/TensorBoard loggers duplicate what records and MLflow hold.
    os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
    import ray
    from ray import tune

    env = {k: os.environ[k] for k in FORWARDED_ENV if k in os.environ}
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    # Under `ray job submit` the job's runtime env already reaches every worker, and Ray refuses
    # to merge a driver env that names the same variables again: forward only the others.
    job_config = json.loads(os.environ.get("RAY_JOB_CONFIG_JSON_ENV_VAR") or "{}")
    for key in (job_config.get("runtime_env") or {}).get("env_vars") or {}:
        env.pop(key, None)
    address = address or os.environ.get("RAY_ADDRESS") or "local"
    init_args = dict(address=address, log_to_driver=False, runtime_env={"env_vars": env})
    if address == "local":
        # Ray runs worker processes at nice 15 (its worker_niceness default) so that its own
        # control plane stays responsive; on a shared machine that makes every trial, and the
        # probes inside it, the first to lose the CPU to any other tenant at nice 0 (seen here:
        # a 40-step MiniLM trial took 584 s of training beside a nice-0 benchmark). A benchmark
        # times its trials, so they run at the caller's own priority. (`ray start` clusters:
        # RAY_worker_niceness=0 in the node's environment does the same.)
        init_args.update(include_dashboard=False, _system_config={"worker_niceness": 0})
        if os.environ.get("ADAPTERBENCH_RAY_TMP"):
            init_args["_temp_dir"] = os.environ["ADAPTERBENCH_RAY_TMP"]
    ray.init(**init_args)
    try:
        resources = {"cpu": spec.resources.cpus_per_trial, "gpu": spec.resources.gpus_per_trial}
        trainable = tune.with_resources(tune.with_parameters(trainable, ctx=ctx), resources)
        tuner = tune.Tuner(
            trainable,
            param_space={"point": tune.grid_search([p.to_dict() for p in todo])},
            tune_config=tune.TuneConfig(
                max_concurrent_trials=concurrency,
                reuse_actors=True,  # ~0.25 s instead of ~2.2 s Tune overhead per trial here
                trial_dirname_creator=lambda t: t.config["point"]["trial_key"],
            ),
            run_config=tune.RunConfig(
                name=f"{spec.name}-{time.strftime('%Y%m%d-%H%M%S')}",
                storage_path=f"{ctx.results}/ray",  # shared (NFS, s3://) on a cluster
                failure_config=tune.FailureConfig(max_failures=spec.resources.max_retries),
                callbacks=[_progress_callback(len(todo))],
                verbose=0,
            ),
        )
        # With the auto loggers off there is no result.json/progress.csv per trial, and the
        # ResultGrid warns "Failed to fetch metrics" for every trial of a good sweep. Expected:
        # results live in records/ and MLflow; trial errors still come through r.error.
        analysis_log = logging.getLogger("ray.tune.analysis.experiment_analysis")
        level = analysis_log.level
        analysis_log.setLevel(logging.ERROR)
        try:
            grid = tuner.fit()
        finally:
            analysis_log.setLevel(level)
        errors = {r.config["point"]["trial_key"]: repr(r.error) for r in grid if r.error}
    finally:
        ray.shutdown()
    # A point whose every attempt died before writing a record still gets one: nothing is lost.
    # A point that never ran (the sweep was interrupted) gets none: the same command resumes it.
    written = {r["group_key"] or r["trial_key"] for r in  # a multi-task point: its group's
               read_records(ctx.results, "runs").select(["trial_key", "group_key"]).to_pylist()}
    for point in todo:
        if point.trial_key not in written and point.trial_key in errors:
            write_records(ctx.results, "runs", point.trial_key, [dict(
                sweep=point.sweep, trial_key=point.trial_key, status="failed",
                error=errors.get(point.trial_key, "trial ended without a record"),
                model=point.model, method=point.method, method_config=point.method_config,
                task=point.task, lr=point.lr, seed=point.seed, git_sha=ctx.git_sha)])


def _summarize(results_dir: str, points: list[GridPoint], todo: list[GridPoint]) -> dict:
    runs = read_records(results_dir, "runs").to_pylist()
    keys = {p.trial_key for p in todo}
    latest = {}
    for r in sorted(runs, key=lambda r: r["finished_at"] or ""):
        key = r["group_key"] or r["trial_key"]  # a multi-task point's records: one per task
        if key in keys:
            latest[key] = r["status"]
    counts = {s: sum(v == s for v in latest.values()) for s in ("ok", "failed", "oom")}
    counts["not_run"] = len(keys) - len(latest)
    log(f"done: {counts['ok']} ok, {counts['failed']} failed, {counts['oom']} oom; "
        f"{len(points) - len(todo)} skipped"
        + (f"; {counts['not_run']} not run (interrupted): run the same command to resume"
           if counts["not_run"] else ""))
    return {"grid": len(points), "skipped": len(points) - len(todo), **counts}


if __name__ == "__main__":
    run_sweep(sys.argv[1])
