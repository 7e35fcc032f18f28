"""Ctrl-C on a running sweep: the points that never ran get no record (no fake `failed` rows),
the CLI says how many were not run and exits 1, the MLflow parent run ends KILLED, and the same
command finishes the grid with exactly one ok record per grid point and ends the same parent
FINISHED. SIGTERM ends the parent KILLED too."""

import os
import signal
import subprocess
import sys
import textwrap
import time

from mlflow.tracking import MlflowClient

from progress import run_advancing
from tracking.mlflow_log import PARENT_TAG, default_tracking_uri
from tracking.records import read_records

SPEC = """
name: interrupted
model: tiny-bert
tasks: [sst2]
seeds: [0, 1, 2, 3, 4, 5]
methods: [{name: pfeiffer, lrs: [1.0e-3]}]
training: {epochs: 3, max_train_samples: 64, max_eval_samples: 32, batch_size: 8, max_seq_len: 32}
resources: {cpus_per_trial: 1, max_concurrent_trials: 1}
"""


def sweep(spec, results):
    return [sys.executable, "-m", "pipeline", "sweep", str(spec), "--results", str(results)]


def parent_run(results, sweep="interrupted"):
    client = MlflowClient(default_tracking_uri(results))
    experiment = client.get_experiment_by_name(sweep)
    (parent,) = client.search_runs([experiment.experiment_id], f"tags.`{PARENT_TAG}` = '1'")
    return parent.info


def interrupt_after_first_trial(spec, results, sig, total):
    """Start the sweep, send ``sig`` once its first trial is done; returns (exit code, output)."""
    proc = subprocess.Popen(sweep(spec, results), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=os.environ.copy())
    output = []
    for line in proc.stdout:  # wait until the first trial has finished, then interrupt
        output.append(line)
        if f"1/{total} done" in line:
            sent = time.time()
            proc.send_signal(sig)
            break
    output += proc.stdout.readlines()
    return proc.wait(timeout=180), "".join(output), sent


def test_interrupted_sweep_leaves_no_fake_failures_and_resumes(tmp_path, ray_tmp, shared_ray,
                                                               mlflow_template):
    spec, results = tmp_path / "spec.yaml", tmp_path / "results"
    mlflow_template.copy_to(results)
    spec.write_text(textwrap.dedent(SPEC))
    code, text, sent = interrupt_after_first_trial(spec, results, signal.SIGINT, 6)
    assert code == 1, text
    assert "not run (interrupted): run the same command to resume" in text
    first = read_records(results, "runs").to_pylist()
    assert 1 <= len(first) < 6 and {r["status"] for r in first} == {"ok"}  # no fake failures
    killed = parent_run(results)
    assert killed.status == "KILLED" and killed.end_time >= int(sent * 1000)

    # Interrupted on its own embedded Ray (a laptop's Ctrl-C), resumed on the session's Ray head
    # (RAY_ADDRESS; it spares a second Ray start-up): resuming reads only records and MLflow.
    with shared_ray.attached():  # no fixed timeout: fails only if it stops printing
        done = run_advancing(sweep(spec, results))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(first)} already ok (skipped)" in done.stdout
    runs = read_records(results, "runs").to_pylist()
    assert sorted(r["seed"] for r in runs) == [0, 1, 2, 3, 4, 5]  # each point once, all ok
    assert {r["status"] for r in runs} == {"ok"}
    resumed = parent_run(results)  # the same parent, re-opened and ended again
    assert resumed.run_id == killed.run_id and resumed.status == "FINISHED"
    assert resumed.end_time > killed.end_time


def test_sigterm_ends_the_parent_run_killed(tmp_path, ray_tmp, mlflow_template):
    spec, results = tmp_path / "spec.yaml", tmp_path / "results"
    mlflow_template.copy_to(results)
    spec.write_text(textwrap.dedent(SPEC).replace("[0, 1, 2, 3, 4, 5]", "[0, 1]")
                    .replace("interrupted", "terminated"))
    code, text, sent = interrupt_after_first_trial(spec, results, signal.SIGTERM, 2)
    assert code != 0, text
    assert "ended KILLED" in text, text
    info = parent_run(results, "terminated")
    assert info.status == "KILLED" and info.end_time >= int(sent * 1000)
