"""Timing probes, following DESIGN.md's timing rules (the one place that defines what is timed).

A step is exactly: forward, loss, backward, optimizer step, zero_grad (train) or a no_grad
forward (inference), on a batch already on the device. Warm-up reps are discarded; we report the
median, p10 and p90 of ``reps`` timed steps. On CUDA, CUDA events around the step and a
synchronize; on CPU, perf_counter. An out-of-memory cell is recorded as ``oom``, never raised.
Each measurement also records what interference by other processes leaves behind
(pipeline/interference.py); pipeline/probe_plan.py measures a disturbed cell again.
"""

from __future__ import annotations

import copy
import resource
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from adapters.bottleneck import AdaptedLinear
from pipeline import interference


@dataclass
class ProbeResult:
    phase: str
    seq_len: int
    batch_size: int
    reps: int
    warmup: int
    median_ms: float | None
    p10_ms: float | None
    p90_ms: float | None
    peak_mem_bytes: int | None
    timer: str
    status: str  # ok | oom
    # over the timed reps (pipeline/interference.py); None where unknown
    cpu_share: float | None = None  # process CPU time ÷ wall ÷ threads
    wait_share: float | None = None  # threads' time waiting for a core ÷ wall ÷ threads
    spread: float | None = None  # (p90 − p10) / median
    device_procs: int | None = None  # GPU: other processes the driver reports on the device
    threads: int | None = None
    disturbed: tuple[str, ...] = ()  # why the measurement looks disturbed; empty: clean


def summarize(times_ms: list[float]) -> tuple[float, float, float]:
    """(median, p10, p90) of the timed reps."""
    a = np.asarray(times_ms, dtype=np.float64)
    return float(np.median(a)), float(np.percentile(a, 10)), float(np.percentile(a, 90))


def _timer(device: torch.device) -> tuple[str, Callable[[Callable[[], None]], float]]:
    if device.type == "cuda":
        def time_cuda(step):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            torch.cuda.synchronize()
            start.record()
            step()
            end.record()
            torch.cuda.synchronize()
            return start.elapsed_time(end)
        return "cuda_event", time_cuda

    def time_cpu(step):
        t0 = time.perf_counter()
        step()
        return (time.perf_counter() - t0) * 1e3
    return "perf_counter", time_cpu


def reset_peak_memory(device: torch.device) -> None:
    """Start a new peak-memory phase. CPU: Linux resets the process's RSS high-water mark
    (VmHWM) when "5" is written to /proc/self/clear_refs; without that, a Ray worker reused for
    several trials would report the largest trial's peak for every later one."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        return
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass  # not Linux: peak_memory falls back to the process-lifetime high-water mark


def peak_memory(device: torch.device) -> int:
    """Peak memory since the last reset_peak_memory: CUDA allocator peak, or CPU RSS high-water."""
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device))
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024  # kB
    except OSError:
        pass
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024  # Linux: KiB


def random_batch(model, seq_len: int, batch_size: int, device: torch.device) -> dict:
    """The default timed batch: sequence classification's (a trial passes its task kind's)."""
    from pipeline.kinds import get_kind

    return get_kind("classification").random_batch(model, seq_len, batch_size, device)


def prepare(model, dropped_layers: int, n_tasks: int):
    """The model a cell times, built from a copy (the trained model is untouched):
    - ``dropped_layers`` n: adapters removed from the first n layers of each stack (specialized
      AdapterDrop, §3): no backward pass below layer n when nothing below trains;
    - ``n_tasks`` N > 1 (inference): with adapters, one model holding N task adapter sets, the
      adapter-free lower layers run once (AdapterDrop §3, Table 2); without adapters (full
      fine-tuning), N models run one after another (returned as a list)."""
    from adapters.adapterdrop import remove_adapters_below
    from adapters.multitask import from_task_models

    probe_model = copy.deepcopy(model)
    if dropped_layers:
        remove_adapters_below(probe_model, dropped_layers)
    if n_tasks > 1:
        if any(isinstance(m, AdaptedLinear) for m in probe_model.modules()):
            return from_task_models([probe_model] * n_tasks)
        return [probe_model] * n_tasks  # the same weights N times: same cost as N models
    return probe_model


def probe_cell(model, phase: str, seq_len: int, batch_size: int, reps: int, warmup: int,
               device: torch.device, clock: Callable | None = None, dropped_layers: int = 0,
               n_tasks: int = 1, kind=None,
               own_pids: set[int] = frozenset()) -> ProbeResult:
    """Time one (phase, seq_len, batch, dropped layers, n tasks) cell on a copy of ``model``.

    ``kind``: the task kind (pipeline/kinds/) whose ``random_batch`` builds the timed batch and
    whose ``target_keys`` an inference step leaves out; None: sequence classification.
    ``own_pids``: our own processes on the device (they wait for the lease during the probe), not
    counted as other tenants. ``clock`` replaces the real timer in tests of the arithmetic."""
    if kind is None:
        from pipeline.kinds import get_kind

        kind = get_kind("classification")
    make_batch = kind.random_batch
    timer_name, time_step = _timer(device)
    if clock is not None:
        timer_name, time_step = "fake", clock
    try:
        prepared = prepare(model, dropped_layers, n_tasks)
        if isinstance(prepared, list):  # N full models in sequence (inference only)
            models = [m.to(device).eval() for m in prepared]
            inputs = {k: v for k, v in make_batch(models[0], seq_len, batch_size, device).items()
                      if k not in kind.target_keys}

            def step():
                with torch.no_grad():
                    for m in models:
                        m(**inputs)
            return _measure(step, phase, seq_len, batch_size, reps, warmup, device, timer_name,
                            time_step, own_pids)
        probe_model = prepared.to(device)
        config_model = probe_model.model if n_tasks > 1 else probe_model
        batch = make_batch(config_model, seq_len, batch_size, device)
        if phase == "train":
            probe_model.train()
            params = [p for p in probe_model.parameters() if p.requires_grad]
            optimizer = torch.optim.AdamW(params, lr=1e-5)

            def step():
                loss = probe_model(**batch).loss
                loss.backward()
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
        else:
            probe_model.eval()
            inputs = {k: v for k, v in batch.items() if k not in kind.target_keys}

            def step():
                with torch.no_grad():
                    probe_model(**inputs)
        return _measure(step, phase, seq_len, batch_size, reps, warmup, device, timer_name,
                        time_step, own_pids)
    except (torch.OutOfMemoryError, MemoryError):
        return ProbeResult(phase, seq_len, batch_size, reps, warmup, None, None, None, None,
                           timer_name, "oom")
    finally:
        if device.type == "cuda":
            torch.cuda.empty_cache()


def _measure(step, phase, seq_len, batch_size, reps, warmup, device, timer_name, time_step,
             own_pids):
    reset_peak_memory(device)
    for _ in range(warmup):
        step()
    gpu = device.type == "cuda"  # other processes on the device: asked before and after the reps
    procs = [interference.gpu_processes(device, own_pids)] if gpu else []
    start = interference.snapshot()
    times = [time_step(step) for _ in range(reps)]
    end = interference.snapshot()
    if gpu:
        procs.append(interference.gpu_processes(device, own_pids))
    median, p10, p90 = summarize(times)
    threads = interference.probe_threads()
    cpu_share, wait_share = interference.cpu_figures(start, end, threads)
    spread = interference.spread(median, p10, p90)
    known = [n for n in procs if n is not None]
    device_procs = max(known) if known else None
    disturbed = interference.reasons(device.type, spread, cpu_share, wait_share, device_procs)
    return ProbeResult(phase, seq_len, batch_size, reps, warmup, median, p10, p90,
                       peak_memory(device), timer_name, "ok", cpu_share, wait_share, spread,
                       device_procs, threads, tuple(disturbed))
