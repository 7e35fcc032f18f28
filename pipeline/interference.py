"""What shows that a probe was disturbed by another tenant of its device.

The device lease (pipeline/lease.py) keeps our own trials out of a probe, not other processes on a
shared node. So every probe records what interference leaves behind; pipeline/probe_plan.py
measures a disturbed cell again and marks it ``contended`` if it stays so. The checks follow
pyperf's instability warnings (``pyperf check``: "the benchmark result may be unstable" when the
standard deviation is ≥ 10% of the mean, or the minimum or maximum lies ≥ 50% from it):

- spread = (p90 − p10) / median of the timed reps (CPU and GPU). For normal noise p90 − p10 is
  2.56 standard deviations, so SPREAD_MAX = 0.25 is pyperf's 10% warning.
- CPU share = process CPU time ÷ wall time ÷ threads, over the timed reps; and wait share = the
  time the process's threads were runnable but waited for a core (the kernel's per-thread
  schedstat) ÷ wall time ÷ threads. On this (shared) 2-core machine the two summed to
  0.98–1.01 in 15 of 16 cells (MiniLM and tiny-BERT, train and inference, 1 and 2 threads, with
  and without two busy-loop processes beside them; 0.65 for a 7 ms step), with a CPU share of
  0.19–0.32 beside the busy loops: a busy probe thread either runs or waits for a core. The CPU
  share alone also falls when a step leaves threads idle (a small model on many threads), so the
  wait share decides where the kernel reports it, the CPU share only where it does not.
- GPU: the spread, and the compute processes the driver reports on the device other than this
  one and the processes that use the lease (they wait for the probe). CPU figures are recorded
  but do not decide: the host thread mostly waits for the device.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported where it is used: the tables read WAIT_MAX without it
    import torch

SPREAD_MAX = 0.25  # (p90 − p10) / median; ≈ pyperf's "standard deviation ≥ 10% of the mean"
WAIT_MAX = 0.10  # share of the probe threads' time spent waiting for a core
CPU_SHARE_MIN = 0.90  # without schedstat: 1 − WAIT_MAX of CPU time per thread and wall second


@dataclass
class Usage:
    """A point in time for the CPU figures: wall clock, process CPU time, per-thread run delay."""
    wall: float
    cpu: float
    run_delay_ns: dict[str, int] | None


def snapshot() -> Usage:
    return Usage(time.perf_counter(), time.process_time(), _run_delays())


def _run_delays() -> dict[str, int] | None:
    """Per thread of this process: ns spent runnable but waiting for a CPU (schedstat field 2);
    None without /proc or schedstat (not Linux, or a kernel without CONFIG_SCHED_INFO)."""
    try:
        tids = os.listdir("/proc/self/task")
    except OSError:
        return None
    out = {}
    for tid in tids:
        try:
            with open(f"/proc/self/task/{tid}/schedstat") as f:
                out[tid] = int(f.read().split()[1])
        except (OSError, IndexError, ValueError):
            continue  # the thread ended meanwhile
    return out or None


def probe_threads() -> int:
    """Threads a CPU probe can keep busy: torch's intra-op threads, at most the usable cores."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    import torch

    return max(1, min(torch.get_num_threads(), cores))


def cpu_figures(start: Usage, end: Usage, threads: int) -> tuple[float | None, float | None]:
    """(CPU share, wait share) between two snapshots; None where unknown."""
    wall = end.wall - start.wall
    if wall <= 0:
        return None, None
    cpu_share = (end.cpu - start.cpu) / wall / threads
    wait_share = None
    if start.run_delay_ns is not None and end.run_delay_ns is not None:
        both = start.run_delay_ns.keys() & end.run_delay_ns.keys()  # threads alive throughout
        waited = sum(end.run_delay_ns[t] - start.run_delay_ns[t] for t in both) / 1e9
        wait_share = waited / wall / threads
    return cpu_share, wait_share


def spread(median: float | None, p10: float | None, p90: float | None) -> float | None:
    if median is None or p10 is None or p90 is None or median <= 0:
        return None
    return (p90 - p10) / median


def reasons(device_type: str, spread_: float | None, cpu_share: float | None,
            wait_share: float | None, device_procs: int | None) -> list[str]:
    """Why a measurement looks disturbed (empty: it looks clean)."""
    out = []
    if spread_ is not None and spread_ > SPREAD_MAX:
        out.append(f"spread {spread_:.2f} > {SPREAD_MAX}")
    if device_type == "cuda":
        if device_procs:
            out.append(f"{device_procs} other process(es) on the device")
    elif wait_share is not None:
        if wait_share > WAIT_MAX:
            out.append(f"waited for a core {wait_share:.2f} > {WAIT_MAX}")
    elif cpu_share is not None and cpu_share < CPU_SHARE_MIN:
        out.append(f"CPU share {cpu_share:.2f} < {CPU_SHARE_MIN}")
    return out


# --- a trial's training loop ----------------------------------------------------------------

def loop_figures(start: Usage, waited_s: float, device_type: str) -> dict:
    """The training loop's CPU figures since ``start`` (steps and evaluations), for its run
    record: ``train_cpu_share`` and ``train_wait_share`` as a probe's, with the lease's waits for
    other trials' probes (the loop's threads sleep) taken out of the wall time. None on a GPU:
    the host thread mostly waits for the device."""
    if device_type != "cpu":
        return {"train_cpu_share": None, "train_wait_share": None}
    end = snapshot()
    cpu, wait = cpu_figures(start, dataclasses.replace(end, wall=end.wall - waited_s),
                            probe_threads())
    return {"train_cpu_share": cpu, "train_wait_share": wait}


# --- GPU: other processes on the device ----------------------------------------------------

def gpu_processes(device: torch.device, ignore: set[int] = frozenset()) -> int | None:
    """Compute processes on ``device`` besides this one and ``ignore`` (our own trials, which
    wait for the lease during a probe), as the driver reports them; None when that is unknown:
    no nvidia-smi, or its view does not include this process (another PID namespace, as in many
    containers, or a MIG instance): a number would then be a guess."""
    uuid = gpu_uuid(device)
    listing = compute_apps()
    if uuid is None or listing is None:
        return None
    pids = set()
    for line in listing.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 2 and _norm_uuid(parts[0]) == uuid and parts[1].isdigit():
            pids.add(int(parts[1]))
    if os.getpid() not in pids:
        return None
    return len(pids - {os.getpid()} - set(ignore))


def gpu_uuid(device: torch.device) -> str | None:
    """The device's UUID as torch sees it (CUDA_VISIBLE_DEVICES renumbers indices, not UUIDs)."""
    import torch

    try:
        return _norm_uuid(str(torch.cuda.get_device_properties(device).uuid))
    except (AttributeError, RuntimeError, AssertionError):
        return None


def compute_apps() -> str | None:
    """``gpu_uuid, pid`` lines of every compute process on every GPU, from nvidia-smi."""
    try:
        out = subprocess.run(["nvidia-smi", "--query-compute-apps=gpu_uuid,pid",
                              "--format=csv,noheader"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


def _norm_uuid(text: str) -> str:
    text = text.strip().lower()
    return text[4:] if text.startswith("gpu-") else text
