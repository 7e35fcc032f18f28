"""Probes that notice interference: the figures, the rule, re-measurement and ``contended`` cells,
and a real probe beside real busy processes.

No GPU here: the GPU path (other processes reported by nvidia-smi) is tested with a faked
nvidia-smi listing and a faked device UUID; it has not run against a real driver in these tests.
"""

import json
import os
import subprocess
import sys

import pandas as pd
import pytest
import torch

import adapters
import pipeline.probe_plan as plan
from pipeline import interference
from pipeline.grid import GridPoint
from pipeline.lease import DeviceLease
from pipeline.models import load_model
from pipeline.probes import ProbeResult
from pipeline.spec import Probes
from pipeline.tables import regenerate
from tracking.records import read_records, write_records

CPU = torch.device("cpu")


def test_cpu_figures_from_two_snapshots():
    start = interference.Usage(wall=10.0, cpu=5.0, run_delay_ns={"1": 0, "2": 10**9, "3": 7})
    end = interference.Usage(wall=12.0, cpu=6.0, run_delay_ns={"1": 10**9, "2": 2 * 10**9})
    cpu_share, wait_share = interference.cpu_figures(start, end, threads=2)
    assert cpu_share == pytest.approx(1.0 / 2.0 / 2)  # 1 s of CPU in 2 s wall on 2 threads
    assert wait_share == pytest.approx(2.0 / 2.0 / 2)  # threads 1 and 2 waited 1 s each; 3 ended
    no_schedstat = interference.Usage(wall=12.0, cpu=6.0, run_delay_ns=None)
    assert interference.cpu_figures(start, no_schedstat, 2)[1] is None


def test_a_real_snapshot_reads_this_process():
    usage = interference.snapshot()
    assert usage.cpu > 0 and 1 <= interference.probe_threads() <= (os.cpu_count() or 1)
    if os.path.exists("/proc/self/task"):
        assert usage.run_delay_ns and str(os.getpid()) in usage.run_delay_ns


def test_the_rule_follows_pyperf_and_the_device():
    r = interference.reasons
    assert r("cpu", 0.05, 0.97, 0.02, None) == []
    assert r("cpu", 0.40, 0.97, 0.02, None) == ["spread 0.40 > 0.25"]  # pyperf: stdev ≥ 10% mean
    assert r("cpu", 0.05, 0.50, 0.45, None) == ["waited for a core 0.45 > 0.1"]
    # the wait share decides where the kernel reports it: an idle thread is not a disturbance
    assert r("cpu", 0.05, 0.40, 0.01, None) == []
    assert r("cpu", 0.05, 0.40, None, None) == ["CPU share 0.40 < 0.9"]  # no schedstat
    # GPU: the spread and other processes on the device; CPU figures do not decide
    assert r("cuda", 0.05, 0.10, 0.80, 0) == []
    assert r("cuda", 0.05, 0.10, 0.80, None) == []  # unknown: not counted as a disturbance
    assert r("cuda", 0.30, 1.0, 0.0, 2) == ["spread 0.30 > 0.25",
                                            "2 other process(es) on the device"]
    assert interference.spread(100.0, 90.0, 120.0) == pytest.approx(0.3)
    assert interference.spread(None, None, None) is None


def test_gpu_processes_from_a_faked_nvidia_smi_listing(monkeypatch):
    """What can be faked honestly without a GPU: the driver's listing and the device's UUID."""
    me = os.getpid()
    listing = (f"GPU-aaaa-1111, {me}\nGPU-aaaa-1111, 4242\nGPU-aaaa-1111, 4343\n"
               "GPU-bbbb-2222, 5151\n")
    monkeypatch.setattr(interference, "gpu_uuid", lambda device: "aaaa-1111")
    monkeypatch.setattr(interference, "compute_apps", lambda: listing)
    cuda = torch.device("cuda", 0)
    assert interference.gpu_processes(cuda) == 2  # 4242 and 4343; 5151 is on another GPU
    assert interference.gpu_processes(cuda, ignore={4343}) == 1  # our own trial, waiting
    # the driver does not list this process (another PID namespace, MIG): unknown, not 0
    monkeypatch.setattr(interference, "compute_apps", lambda: "GPU-aaaa-1111, 4242\n")
    assert interference.gpu_processes(cuda) is None
    monkeypatch.setattr(interference, "compute_apps", lambda: None)  # no nvidia-smi
    assert interference.gpu_processes(cuda) is None


def test_nvidia_smi_absent_or_failing_is_unknown(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    assert interference.compute_apps() is None


def point(seed=0):
    return GridPoint(sweep="i", model="tiny-bert", method="pfeiffer",
                     method_config={"reduction_factor": 16, "activation": "relu",
                                    "train_layer_norm": False}, task="sst2", lr=1e-3, seed=seed,
                     training={}, probes={}, data_dir=None, trial_key=f"t{seed}")


def fake_results(disturbed: list[bool]):
    """A probe_cell stand-in that returns measurements disturbed or clean in the given order."""
    seq = iter(disturbed)

    def probe_cell(model, phase, seq_len, batch_size, reps, warmup, device, **kwargs):
        bad = next(seq)
        return ProbeResult(phase, seq_len, batch_size, reps, warmup, 200.0 if bad else 100.0,
                           90.0, 300.0 if bad else 105.0, 1, "perf_counter", "ok",
                           cpu_share=0.3 if bad else 0.98, wait_share=0.7 if bad else 0.01,
                           spread=2.1 if bad else 0.15, threads=2,
                           disturbed=("waited for a core 0.70 > 0.1",) if bad else ())
    return probe_cell


@pytest.mark.parametrize("sequence,status,attempts", [
    ([False], "ok", 1),
    ([True, False], "ok", 2),
    ([True, True, True], "contended", 3),  # 1 + MAX_REMEASURE, then it gives up
])
def test_a_disturbed_cell_is_measured_again_then_ok_or_contended(tmp_path, monkeypatch, sequence,
                                                                 status, attempts):
    assert plan.MAX_REMEASURE == 2
    monkeypatch.setattr(plan, "probe_cell", fake_results(sequence))
    monkeypatch.setattr(plan, "REMEASURE_PAUSE_S", 0.0)
    lease = DeviceLease()
    probes = Probes(phases=("inference",), cells=((8, 2),), reps=3, warmup=0)
    (row,) = plan.run_probes(load_model("tiny-bert", 2), point(), probes, CPU, "cpu:test",
                             tmp_path, lease)
    lease.close()
    assert row["status"] == status and row["attempts"] == attempts
    history = json.loads(row["interference"])
    assert [bool(a["disturbed"]) for a in history] == sequence
    # the row carries the last attempt's figures: clean ones when ok
    assert row["median_ms"] == history[-1]["median_ms"]
    assert (row["wait_share"] <= interference.WAIT_MAX) == (status == "ok")
    write_records(tmp_path, "probes", "t0", [row])  # fits the records schema
    assert read_records(tmp_path, "probes").to_pylist()[0]["status"] == status


def busy_loops(n: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def test_a_probe_beside_busy_processes_is_measured_again_and_never_silently_ok(tmp_path):
    """Real busy-loop processes, one per usable core, run beside a real probe on as many threads
    as fit (2 here). The invariant, whatever the scheduler does: the cell is re-measured, and it
    ends either ``contended`` (every attempt disturbed) or ``ok`` with a clean last attempt, never
    ``ok`` with disturbed figures."""
    cores = len(os.sched_getaffinity(0))
    threads = torch.get_num_threads()
    torch.set_num_threads(min(2, cores))
    model = load_model("tiny-bert", num_labels=2)
    adapters.apply_method(model, "pfeiffer")
    probes = Probes(phases=("inference",), cells=((16, 4),), reps=6, warmup=1)
    hogs = busy_loops(max(2, cores))
    lease = DeviceLease()
    try:
        (row,) = plan.run_probes(model, point(), probes, CPU, "cpu:test", tmp_path, lease)
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
        lease.close()
        torch.set_num_threads(threads)
    history = json.loads(row["interference"])
    print(json.dumps(history, indent=1))  # the figures, for whoever reads the log
    assert row["attempts"] == len(history) >= 2  # busy loops on every core: re-measured
    assert history[0]["disturbed"]
    assert row["status"] in ("ok", "contended")
    if row["status"] == "contended":
        assert len(history) == 1 + plan.MAX_REMEASURE and all(a["disturbed"] for a in history)
    else:  # ok: only with figures that look clean
        assert not history[-1]["disturbed"]
        assert row["spread"] <= interference.SPREAD_MAX
        assert (row["wait_share"] <= interference.WAIT_MAX if row["wait_share"] is not None
                else row["cpu_share"] >= interference.CPU_SHARE_MIN)


def test_tables_leave_contended_cells_out_and_say_so(tmp_path):
    def probe(method, phase, median, status="ok"):
        return dict(sweep="s", trial_key=f"{method}-{phase}", model="m", method=method,
                    method_config="{}", phase=phase, seq_len=128, batch_size=16, n_tasks=1,
                    dropped_layers=0, n_fusion=0, reps=3, warmup=1, median_ms=median,
                    p10_ms=median, p90_ms=median, peak_mem_bytes=1, device="cpu",
                    timer="perf_counter", exclusive=True, status=status)

    write_records(tmp_path, "probes", "p", [
        probe("full", "inference", 50.0), probe("houlsby", "inference", 52.0),
        probe("pfeiffer", "inference", 90.0, status="contended"),  # disturbed: left out
    ])
    regenerate(tmp_path)
    md = (tmp_path / "tables/adapterdrop/table01.md").read_text()
    row = next(line for line in md.splitlines() if line.startswith("| Inference | Pfeiffer"))
    assert row.split("|")[3].strip() == "– (0.95)"
    assert "status contended" in md
    houlsby = next(line for line in md.splitlines() if line.startswith("| Inference | Houlsby"))
    assert houlsby.split("|")[3].strip() == "0.96 (0.94)"


def _disturbed(cpu_share, wait_share) -> bool:
    """The rule the tables and claims apply to a run record's loop figures."""
    from pipeline.tables.core import disturbed_runs

    row = pd.DataFrame({"train_cpu_share": [cpu_share], "train_wait_share": [wait_share]},
                       dtype=float)
    return bool(disturbed_runs(row).iloc[0])


def test_a_training_loop_beside_busy_processes_records_that_it_waited_for_a_core():
    """A run record's train_wait_share (interference.loop_figures): real matmuls on this process's
    torch threads, with a busy-loop process per core beside them, wait for a core; the figures
    say so and the tables' rule (disturbed_runs) flags the run (its time *, the claims leave it
    out).
    Where the kernel has no schedstat the CPU share must show it instead."""
    cores = len(os.sched_getaffinity(0))
    threads = torch.get_num_threads()
    torch.set_num_threads(min(2, cores))
    a = torch.randn(256, 256)
    hogs = busy_loops(max(2, cores))
    try:
        start = interference.snapshot()
        for _ in range(400):
            a = torch.tanh(a @ a)
        figures = interference.loop_figures(start, 0.0, "cpu")
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
        torch.set_num_threads(threads)
    print(figures)
    assert _disturbed(figures["train_cpu_share"], figures["train_wait_share"])
    assert interference.loop_figures(start, 0.0, "cuda") == {"train_cpu_share": None,
                                                             "train_wait_share": None}


def test_loop_figures_take_lease_waits_out_of_the_wall_time():
    """While a trial waits for another trial's probe its threads sleep: the wait must not read
    as a low CPU share. 1 s of CPU over 3 s of wall, 2 s of it lease waits: share 1.0."""
    start = interference.Usage(wall=0.0, cpu=0.0, run_delay_ns=None)
    end = interference.Usage(wall=3.0, cpu=1.0, run_delay_ns=None)
    original = interference.snapshot
    interference.snapshot = lambda: end  # a fake clock: sleeping 2 s in a test proves nothing more
    try:
        figures = interference.loop_figures(start, 2.0, "cpu")
    finally:
        interference.snapshot = original
    assert figures["train_cpu_share"] == pytest.approx(1.0 / interference.probe_threads())
    assert _disturbed(None, 0.5) and not _disturbed(0.97, 0.02)
    assert not _disturbed(float("nan"), None)  # unknown: not disturbed
    assert _disturbed(0.5, None)  # no schedstat: the CPU share decides
