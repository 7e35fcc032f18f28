"""Probe dedup across concurrent trials: checking the records and claiming a cell is one step
under the exclusive lease, so two trials that reach the same cell at once measure it once."""

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

import adapters
from pipeline import interference
from pipeline.grid import GridPoint
from pipeline.lease import DeviceLease
from pipeline.models import load_model
from pipeline.probe_plan import _claim, _claim_name, probe_key, run_probes
from pipeline.spec import Probes
from tracking.records import read_records, write_records

ROOT = Path(__file__).resolve().parents[2]
CPU = torch.device("cpu")
PROBES = dict(phases=("inference",), cells=((8, 2),), reps=2, warmup=0)
CONFIG = {"reduction_factor": 16, "activation": "relu", "train_layer_norm": False}

# One trial's probe step in its own process. Both processes pass a barrier before probing (so
# neither has seen the other's records) and another before writing their records (so the records
# cannot be what deduplicated them: only the claims can).
TRIAL = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import torch
    import adapters
    from pipeline.grid import GridPoint
    from pipeline.lease import DeviceLease
    from pipeline.models import load_model
    from pipeline.probe_plan import run_probes
    from pipeline.spec import Probes
    from tracking.records import write_records

    results, seed, sync, probes = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]

    def barrier(name):
        (sync / f"{name}-{seed}").touch()
        while len(list(sync.glob(f"{name}-*"))) < 2:
            time.sleep(0.02)

    model = load_model("tiny-bert", num_labels=2)
    adapters.apply_method(model, "pfeiffer")
    point = GridPoint(sweep="claims", model="tiny-bert", method="pfeiffer",
                      method_config=%r, task="sst2", lr=1e-3, seed=seed, training={},
                      probes={}, data_dir=None, trial_key=f"trial{seed}")
    lease = DeviceLease()
    barrier("probe")
    rows = run_probes(model, point, Probes(**eval(probes)), torch.device("cpu"), "cpu:test",
                      results, lease)
    barrier("write")
    write_records(results, "probes", point.trial_key, rows)
    print(len(rows))
""" % CONFIG)


def point(seed: int) -> GridPoint:
    return GridPoint(sweep="claims", model="tiny-bert", method="pfeiffer", method_config=CONFIG,
                     task="sst2", lr=1e-3, seed=seed, training={}, probes={}, data_dir=None,
                     trial_key=f"trial{seed}")


def pfeiffer():
    model = load_model("tiny-bert", num_labels=2)
    adapters.apply_method(model, "pfeiffer")
    return model


def test_two_concurrent_trials_in_two_processes_measure_a_shared_cell_once(tmp_path):
    """Trial 1 runs in a child process, trial 0 in this one (one torch import less)."""
    sync = tmp_path / "sync"
    sync.mkdir()
    results = tmp_path / "results"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, "-c", TRIAL, str(results), "1", str(sync),
                              repr(PROBES)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)

    def barrier(name):
        (sync / f"{name}-0").touch()
        while len(list(sync.glob(f"{name}-*"))) < 2:
            assert child.poll() is None, child.communicate()[1][-2000:]
            time.sleep(0.02)

    model, lease = pfeiffer(), DeviceLease()
    barrier("probe")
    rows = run_probes(model, point(0), Probes(**PROBES), CPU, "cpu:test", results, lease)
    barrier("write")
    write_records(results, "probes", "trial0", rows)
    lease.close()
    out, err = child.communicate()  # no deadline: the child trial ends on its own
    assert child.returncode == 0, err[-2000:]
    assert sorted([len(rows), int(out.split()[-1])]) == [0, 1]
    rows = read_records(results, "probes").to_pylist()
    assert len(rows) == 1 and rows[0]["trial_key"] in ("trial0", "trial1")


def test_a_dead_trials_claim_stands_only_if_its_record_arrived(tmp_path):
    """A claim outlives its process in the lease folder: a later trial takes the cell over unless
    the dead owner's record of it exists."""
    lease = DeviceLease()
    key = probe_key("tiny-bert", "pfeiffer", CONFIG, "inference", 8, 2, 1, 0, "cpu:test")
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)
    claim = Path(os.environ["ADAPTERBENCH_LEASE_DIR"]) / "claims" / _claim_name(tmp_path, key)
    dead = {"trial_key": "trial9", "host": socket.gethostname(), "pid": int(ended.stdout),
            "start": "0"}

    def claim_it(seed=0):
        with lease.exclusive():
            return _claim(lease, tmp_path, key, point(seed))

    claim.write_text(json.dumps(dead))
    assert claim_it()  # no record: stale, taken over
    assert json.loads(claim.read_text())["trial_key"] == "trial0"
    assert not claim_it(1)  # now a live claim (this process's) of another trial
    assert claim_it(0)  # the same trial again (a retried trial) takes its own claim back
    claim.write_text(json.dumps(dead))
    write_records(tmp_path, "probes", "trial9", [dict(
        sweep="claims", trial_key="trial9", model="tiny-bert", method="pfeiffer",
        method_config=json.dumps(CONFIG, sort_keys=True), phase="inference", seq_len=8,
        batch_size=2, n_tasks=1, dropped_layers=0, n_fusion=0, reps=2, warmup=0, median_ms=1.0,
        p10_ms=1.0, p90_ms=1.0, peak_mem_bytes=1, device="cpu:test", timer="perf_counter",
        exclusive=True, status="ok")])
    assert not claim_it()  # the dead trial's record arrived: the cell is measured
    lease.close()


def test_a_live_claim_skips_the_cell_and_an_error_releases_this_trials_claims(tmp_path,
                                                                            monkeypatch):
    monkeypatch.setattr(interference, "reasons", lambda *args: [])  # no re-measuring here
    lease, model = DeviceLease(), pfeiffer()
    probes = Probes(**{**PROBES, "phases": ("train", "inference")})
    first = run_probes(model, point(0), probes, CPU, "cpu:test", tmp_path, lease)
    assert len(first) == 2  # not written to the records: only the claims know
    assert run_probes(model, point(1), probes, CPU, "cpu:test", tmp_path, lease) == []
    # forced: no claims consulted, every trial measures
    forced = Probes(**{**probes.__dict__, "force": True})
    assert len(run_probes(model, point(1), forced, CPU, "cpu:test", tmp_path, lease)) == 2

    other = tmp_path / "other"

    def fail_second(model, phase, *args, **kwargs):
        if phase == "inference":
            raise RuntimeError("probe crashed")
        return real(model, phase, *args, **kwargs)

    import pipeline.probe_plan as plan
    real = plan.probe_cell
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(plan, "probe_cell", fail_second)
        with pytest.raises(RuntimeError):
            run_probes(model, point(0), probes, CPU, "cpu:test", other, lease)
    # the crashed trial's rows never reached the records: another trial measures both cells
    assert len(run_probes(model, point(1), probes, CPU, "cpu:test", other, lease)) == 2
    lease.close()
