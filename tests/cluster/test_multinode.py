"""A real Ray cluster of a head and two worker nodes on this machine, a real `mlflow server`, and
the faults a long sweep meets: tiny random-init BERT, real SST-2 rows, a few samples per trial.

The tests share one cluster and one server and run in file order; the last one kills a node.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from pathlib import Path

from pipeline.cli import main
from progress import STALL_S, run_advancing, wait_advancing
from tracking.mlflow_log import count_child_runs
from tracking.records import ok_trial_keys, read_records, write_records

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent

SPEC = """
name: {name}
model: tiny-bert
tasks: [sst2]
seeds: {seeds}
methods: {methods}
training: {{epochs: 1, max_train_samples: 16, max_eval_samples: 16, batch_size: 8, max_seq_len: 16}}
probes: {probes}
resources: {{cpus_per_trial: 1, gpus_per_trial: 0.5, max_concurrent_trials: 2, max_retries: 3}}
"""
TWO_METHODS = "[{name: full, lrs: [1.0e-3]}, {name: pfeiffer, lrs: [1.0e-3]}]"

# Values that must never reach MLflow or the records, wherever they are set.
SECRETS = {"AWS_SECRET_ACCESS_KEY": f"aws-{uuid.uuid4().hex}",
           "HF_TOKEN": f"hf_{uuid.uuid4().hex}",
           "MLFLOW_TRACKING_PASSWORD": f"pw-{uuid.uuid4().hex}"}


def write_spec(tmp_path, name, seeds=(0, 1), methods=TWO_METHODS, probes="{}"):
    path = tmp_path / f"{name}.yaml"
    path.write_text(textwrap.dedent(SPEC.format(name=name, seeds=list(seeds), methods=methods,
                                                probes=probes)))
    return path


def sweep_args(spec, results, cluster, server):
    return ["sweep", str(spec), "--results", str(results), "--address", cluster.address,
            "--tracking-uri", server.uri]


def record_files(results) -> int:
    """How many record files exist: a sweep advances when this grows."""
    folder = Path(results) / "records"
    return sum(len(files) for _, _, files in os.walk(folder)) if folder.exists() else 0


def one_ok_row_per_point(results, n):
    ok = [r for r in read_records(results, "runs").to_pylist() if r["status"] == "ok"]
    keys = [r["trial_key"] for r in ok]
    assert len(keys) == len(set(keys)) == n, keys
    return ok


def test_job_submit_runs_on_both_workers_with_half_gpus(ray_cluster, mlflow_server,
                                                             tmp_path):
    """`ray job submit` of jobs/sweep.py: trials on both workers, half a logical GPU each, probes
    under the exclusive lease, one MLflow run per record on the tracking server."""
    spec = write_spec(tmp_path, "multinode", probes="{cells: [[16, 2]], reps: 1, warmup: 0}")
    results = tmp_path / "results"
    env_vars = {"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
                "ADAPTERBENCH_LEASE_DIR": os.environ["ADAPTERBENCH_LEASE_DIR"], **SECRETS}
    for _ in range(30):  # a fresh head's job agent registers a few seconds after it starts
        # No fixed timeout (a busy machine once took 600 s): `ray job submit` follows the job's
        # log, so it fails only when neither the log nor the records advance for a long time.
        job = run_advancing(
            [str(VENV_BIN / "ray"), "job", "submit", "--address", ray_cluster.dashboard,
             "--runtime-env-json", json.dumps({"env_vars": env_vars}), "--",
             sys.executable, str(REPO / "jobs" / "sweep.py"), str(spec), "--results",
             str(results), "--tracking-uri", mlflow_server.uri],
            progress=lambda: record_files(results), env={**os.environ, **SECRETS})
        if "No available agent" not in job.stderr:
            break
        time.sleep(2)
    assert job.returncode == 0 and "succeeded" in job.stdout + job.stderr, job.stdout[-4000:]
    runs = one_ok_row_per_point(results, 4)
    assert {r["ray_node_id"] for r in runs} == {w.node_id for w in ray_cluster.workers}
    probes = read_records(results, "probes").to_pylist()
    # contended: disturbed by other work on this shared machine in every attempt (still recorded)
    assert probes and all(p["exclusive"] and p["status"] in ("ok", "contended") for p in probes)
    mlflow_runs = count_child_runs(mlflow_server.uri, "multinode")
    assert sorted(r.info.run_id for r in mlflow_runs) == sorted(r["mlflow_run_id"] for r in runs)
    # Security: no environment secret anywhere in the records, Tune's files or MLflow's store
    # (params, tags, metrics and artifacts all live under the server's root).
    _assert_no_secret(results)
    _assert_no_secret(mlflow_server.root)
    for run in mlflow_runs:
        text = json.dumps([run.data.params, run.data.tags])
        assert not any(v in text for v in SECRETS.values())


def _assert_no_secret(folder: Path):
    files = [p for p in Path(folder).rglob("*") if p.is_file()]
    assert files
    secrets = {**SECRETS, "RAY_AUTH_TOKEN": os.environ["RAY_AUTH_TOKEN"]}  # the cluster's own
    for path in files:
        data = path.read_bytes()
        for name, value in secrets.items():
            assert value.encode() not in data, f"{name} leaked into {path}"


def test_driver_killed_mid_sweep_resumes_without_duplicates(ray_cluster, mlflow_server,
                                                           tmp_path):
    # 6 points, 3 waves of 2, and a fast poll: on a fast host (2026-12-02) the 4 tiny points of
    # 2 waves all finished before a 0.5 s poll saw the first and killed the driver.
    spec = write_spec(tmp_path, "driverkill", seeds=(0, 1, 2))
    results = tmp_path / "results"
    log = open(tmp_path / "driver.log", "w")
    driver = subprocess.Popen([sys.executable, "-m", "pipeline",
                               *sweep_args(spec, results, ray_cluster, mlflow_server)],
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_advancing(lambda: ok_trial_keys(results) or driver.poll() is not None,
                       lambda: ((tmp_path / "driver.log").stat().st_size, record_files(results)),
                       "the sweep's first trial", poll_s=0.05)
        assert driver.poll() is None, (tmp_path / "driver.log").read_text()[-3000:]
    finally:
        os.killpg(driver.pid, signal.SIGKILL)  # the driver and nothing else: its own group
        driver.wait()
    done_before = ok_trial_keys(results)
    assert 1 <= len(done_before) < 6
    # The same command again: finishes the rest, re-runs nothing finished.
    assert main(sweep_args(spec, results, ray_cluster, mlflow_server)) == 0
    runs = one_ok_row_per_point(results, 6)
    assert done_before <= {r["trial_key"] for r in runs}
    mlflow_runs = count_child_runs(mlflow_server.uri, "driverkill")
    keys = [r.data.tags["trial_key"] for r in mlflow_runs]
    assert len(keys) == len(set(keys)) == 6  # a run logged before the kill is reused, not doubled


def test_mlflow_down_during_sweep_then_sync(ray_cluster, mlflow_server, tmp_path, monkeypatch,
                                            capsys):
    """The server dies right after the driver created the experiment: trials still finish and
    write records (bounded retries), the sweep ends normally; mlflow-sync back-fills MLflow."""
    import tracking.mlflow_log as mlflow_log

    prepare = mlflow_log.prepare_sweep

    def prepare_then_server_dies(*args, **kwargs):
        out = prepare(*args, **kwargs)
        mlflow_server.stop()
        return out

    monkeypatch.setattr(mlflow_log, "prepare_sweep", prepare_then_server_dies)
    spec = write_spec(tmp_path, "mlflowdown", methods="[{name: pfeiffer, lrs: [1.0e-3]}]")
    results = tmp_path / "results"
    try:
        assert main(sweep_args(spec, results, ray_cluster, mlflow_server)) == 0
    finally:
        monkeypatch.setattr(mlflow_log, "prepare_sweep", prepare)
        mlflow_server.start()
    runs = one_ok_row_per_point(results, 2)
    assert all(r["mlflow_run_id"] is None for r in runs)  # MLflow really was down
    assert count_child_runs(mlflow_server.uri, "mlflowdown") == []
    assert main(["mlflow-sync", "--results", str(results), "--tracking-uri", mlflow_server.uri]) == 0
    assert main(["mlflow-sync", "--results", str(results), "--tracking-uri", mlflow_server.uri]) == 0
    assert "0 runs created" in capsys.readouterr().out.splitlines()[-1]
    synced = count_child_runs(mlflow_server.uri, "mlflowdown")
    assert sorted(r.data.tags["trial_key"] for r in synced) == sorted(r["trial_key"] for r in runs)


def _barrier_trial(config, ctx):
    """Stands in for a trial: waits until every trial of the sweep runs at the same time, then
    records where it ran and which logical GPU Ray gave it."""
    import ray

    key = config["point"]["trial_key"]
    Path(ctx.barrier, key).touch()
    arrived, since = 0, time.time()  # wait as long as trials keep arriving (a busy machine is
    while (now := len(list(Path(ctx.barrier).iterdir()))) < ctx.n:  # slow to start them)
        if now > arrived:
            arrived, since = now, time.time()
        elif time.time() - since > ctx.stall_s:
            break
        time.sleep(0.1)
    passed = len(list(Path(ctx.barrier).iterdir())) >= ctx.n
    gpus = ray.get_runtime_context().get_accelerator_ids()["GPU"]
    write_records(ctx.results, "runs", key, [dict(
        trial_key=key, status="ok" if passed else "failed", device=f"gpu:{','.join(gpus)}",
        ray_node_id=ray.get_runtime_context().get_node_id())])


def test_quarter_gpus_pack_four_trials_from_the_spec(ray_cluster, tmp_path):
    """gpus_per_trial: 0.25 in the spec → four trials at once on two logical GPUs (1 each)."""
    import types

    from ray import cloudpickle  # Ray's own copy pickles what workers receive

    from pipeline.grid import expand
    from pipeline.spec import load_spec
    from pipeline.sweep import _run_ray

    spec = write_spec(tmp_path, "packing", seeds=(0, 1, 2, 3),
                      methods="[{name: pfeiffer, lrs: [1.0e-3]}]")
    spec.write_text(spec.read_text().replace(
        "cpus_per_trial: 1, gpus_per_trial: 0.5, max_concurrent_trials: 2",
        "cpus_per_trial: 0.25, gpus_per_trial: 0.25, max_concurrent_trials: 4"))
    spec = load_spec(spec)
    assert spec.resources.gpus_per_trial == 0.25
    (tmp_path / "barrier").mkdir()
    ctx = types.SimpleNamespace(results=str(tmp_path / "results"), n=4,
                                barrier=str(tmp_path / "barrier"), stall_s=STALL_S)
    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers can't import tests
    try:
        _run_ray(spec, expand(spec), ctx, ray_cluster.address, 4, trainable=_barrier_trial)
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    runs = read_records(ctx.results, "runs").to_pylist()
    assert len(runs) == 4 and {r["status"] for r in runs} == {"ok"}  # all 4 ran at once
    per_gpu = {}
    for r in runs:
        assert r["device"] in ("gpu:0",)  # each trial sees its node's one logical GPU
        per_gpu[(r["ray_node_id"], r["device"])] = per_gpu.get((r["ray_node_id"], r["device"]), 0) + 1
    assert max(per_gpu.values()) >= 2 and sum(per_gpu.values()) == 4


def test_worker_node_killed_mid_sweep(ray_cluster, mlflow_server, tmp_path, capsys):
    """Kill a worker node while it runs a trial: Tune retries the trial on the other node; the
    records hold exactly one ok row per grid point. (Last test: it takes a node away.)

    The test holds the device lease exclusively, as a probe would, so every trial stops at its
    first training step: the trial on the victim node is surely mid-way when the node dies."""
    from ray.util.state import list_actors

    from pipeline.lease import DeviceLease

    spec = write_spec(tmp_path, "nodekill", seeds=(0, 1, 2),
                      methods="[{name: pfeiffer, lrs: [1.0e-3]}]")
    results = tmp_path / "results"
    outcome = []
    sweep = threading.Thread(target=lambda: outcome.append(
        main(sweep_args(spec, results, ray_cluster, mlflow_server))))
    victim = ray_cluster.workers[0]
    lease = DeviceLease()
    printed = []  # the sweep's output so far: it advances while this grows

    def progress():
        printed.append(capsys.readouterr().out)
        return sum(map(len, printed)), record_files(results), len(actors)

    actors = []

    def trial_on_victim() -> bool:
        actors[:] = [a.actor_id for a in list_actors(
            address=ray_cluster.dashboard, filters=[("state", "=", "ALIVE")],
            raise_on_missing_output=False)
            if a.node_id == victim.node_id and "ImplicitFunc" in a.class_name]
        return bool(actors)

    with lease.exclusive():
        sweep.start()
        wait_advancing(trial_on_victim, progress, "a trial on the victim node")
        assert not read_records(results, "runs").num_rows  # nothing could finish yet
        ray_cluster.kill_worker(victim)
    lease.close()
    wait_advancing(lambda: not sweep.is_alive(), progress, "the sweep after the node died")
    assert outcome == [0]
    runs = one_ok_row_per_point(results, 3)
    survivor = ray_cluster.workers[0].node_id
    assert {r["ray_node_id"] for r in runs} == {survivor}  # the victim finished nothing
    printed.append(capsys.readouterr().out)
    assert "its worker or node died" in "".join(printed)  # a trial died with the node
    assert len(count_child_runs(mlflow_server.uri, "nodekill")) == 3
