"""Ctrl-C on a running sweep: the points that never ran get no record (no fake `failed` rows),
the CLI says how many were not run and exits 1, and the same command finishes the grid with
exactly one ok record per grid point."""

import os
import signal
import subprocess
import sys
import textwrap

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


def test_interrupted_sweep_leaves_no_fake_failures_and_resumes(tmp_path, ray_tmp):
    spec, results = tmp_path / "spec.yaml", tmp_path / "results"
    spec.write_text(textwrap.dedent(SPEC))
    proc = subprocess.Popen(sweep(spec, results), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=os.environ.copy())
    output = []
    for line in proc.stdout:  # wait until the first trial has finished, then press Ctrl-C
        output.append(line)
        if "1/6 done" in line:
            proc.send_signal(signal.SIGINT)
            break
    output += proc.stdout.readlines()
    assert proc.wait(timeout=180) == 1, "".join(output)
    text = "".join(output)
    assert "not run (interrupted): run the same command to resume" in text
    first = read_records(results, "runs").to_pylist()
    assert 1 <= len(first) < 6 and {r["status"] for r in first} == {"ok"}  # no fake failures

    done = subprocess.run(sweep(spec, results), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(first)} already ok (skipped)" in done.stdout
    runs = read_records(results, "runs").to_pylist()
    assert sorted(r["seed"] for r in runs) == [0, 1, 2, 3, 4, 5]  # each point once, all ok
    assert {r["status"] for r in runs} == {"ok"}
