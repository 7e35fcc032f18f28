"""Timing probes, following DESIGN.md's timing rules (the one place that defines what is timed).

A step is exactly: forward, loss, backward, optimizer step, zero_grad (train) or a no_grad
forward (inference), on a batch already on the device. Warm-up reps are discarded; we report the
median, p10 and p90 of ``reps`` timed steps. On CUDA, CUDA events around the step and a
synchronize; on CPU, perf_counter. An out-of-memory cell is recorded as ``oom``, never raised.
Each measurement also records what interference by other processes leaves behind
(pipeline/interference.py); pipeline/probe_plan.py measures a disturbed cell again.
pipeline/paired.py times a method and its baseline interleaved with the same steps.
"""

from __future__ import annotations

import copy
import gc
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


def allocated(device: torch.device) -> int:
    """What the CUDA allocator holds now (0 on CPU): taken before a probe copies its model, so
    the cell's peak counts its own copy, optimizer state and activations, not the trained model
    the trial keeps on the GPU beside it (``peak_memory(device, base)``). Garbage is collected
    first: freed during the cell, it would be in the base and not in the peak."""
    if device.type != "cuda":
        return 0
    gc.collect()
    return int(torch.cuda.memory_allocated(device))


def release(device: torch.device) -> None:
    """After a cell: collect its model copy (a model with N adapter sets or task heads holds
    hooks that refer back to it, a reference cycle that outlives the cell until a collection)
    and, on CUDA, give the cached blocks back."""
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def peak_memory(device: torch.device, base: int = 0) -> int:
    """Peak memory since the last reset_peak_memory: CUDA allocator peak above ``base``
    (``allocated`` before the cell), or CPU RSS high-water (the whole process: it cannot tell
    the cell from the rest)."""
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device)) - base
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
    return default_kind().random_batch(model, seq_len, batch_size, device)


def prepare(model, dropped_layers: int, n_tasks: int):
    """The model a cell times, built from a copy (the trained model is untouched):
    - ``dropped_layers`` n: adapters removed from the first n layers of each stack (specialized
      AdapterDrop, §3): no backward pass below layer n when nothing below trains;
    - ``n_tasks`` N > 1 (inference): with adapters, one model holding N task adapter sets, the
      adapter-free lower layers run once (AdapterDrop §3, Table 2); without adapters (full
      fine-tuning), N models run one after another (returned as a list);
    - a multi-task trial's models (pipeline/serving.py ``TaskGroup``): N tasks are served by
      the one multi-task model (one encoder pass, N heads), or its N adapter sets.
    The N task models or adapter sets are N copies (the same values: the same cost), so the
    cell's peak memory holds what serving N tasks holds."""
    from adapters.adapterdrop import remove_adapters_below
    from adapters.multitask import MultiTaskParallel, task_parts
    from pipeline.serving import TaskGroup

    if isinstance(model, TaskGroup):
        return model.prepare(dropped_layers, n_tasks)
    probe_model = copy.deepcopy(model)
    if dropped_layers:
        remove_adapters_below(probe_model, dropped_layers)
    if n_tasks > 1:
        if any(isinstance(m, AdaptedLinear) for m in probe_model.modules()):
            parts = task_parts(probe_model)  # the task's adapters and head
            return MultiTaskParallel(probe_model, [copy.deepcopy(parts) for _ in range(n_tasks)])
        return [probe_model] + [copy.deepcopy(probe_model) for _ in range(n_tasks - 1)]
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
    kind = kind or default_kind()
    timer_name, time_step = ("fake", clock) if clock is not None else _timer(device)
    base, prepared, batch = allocated(device), None, None
    try:
        prepared = on_device(prepare(model, dropped_layers, n_tasks), device)
        batch = kind.random_batch(body(prepared), seq_len, batch_size, device)
        return _measure(make_step(prepared, phase, batch, kind), phase, seq_len, batch_size,
                        reps, warmup, device, timer_name, time_step, own_pids, base)
    except (torch.OutOfMemoryError, MemoryError):
        return ProbeResult(phase, seq_len, batch_size, reps, warmup, None, None, None, None,
                           timer_name, "oom")
    finally:
        prepared = batch = None  # the copy goes before the collection
        release(device)


def default_kind():
    from pipeline.kinds import get_kind

    return get_kind("classification")


def on_device(prepared, device: torch.device):
    """``prepare``'s result (a model, or a list of N models) moved to the device."""
    if isinstance(prepared, list):
        return [m.to(device) for m in prepared]
    return prepared.to(device)


def body(prepared):
    """The model whose config shapes the batch: the first of N sequential models, the shared
    model of N parallel adapter sets (adapters/multitask.py), the first task model of a
    multi-task model (pipeline/serving.py), else the model itself."""
    from adapters.multitask import MultiTaskParallel
    from pipeline.serving import SharedEncoderHeads

    if isinstance(prepared, list):
        return prepared[0]
    if isinstance(prepared, SharedEncoderHeads):
        return prepared.tasks[0]
    return prepared.model if isinstance(prepared, MultiTaskParallel) else prepared


def make_step(prepared, phase: str, batch: dict, kind) -> Callable[[], None]:
    """The timed step of a prepared model on ``batch`` (DESIGN.md: forward, loss, backward,
    optimizer step, zero_grad; or a no_grad forward without the kind's target keys). N models in
    sequence (a list) are an inference setting: one step runs each of them once."""
    inputs = {k: v for k, v in batch.items() if k not in kind.target_keys}
    if isinstance(prepared, list):
        models = [m.eval() for m in prepared]

        def step():
            with torch.no_grad():
                for m in models:
                    m(**inputs)
        return step
    if phase == "train":
        prepared.train()
        params = [p for p in prepared.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=1e-5)

        def step():
            loss = prepared(**batch).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        return step
    prepared.eval()

    def step():
        with torch.no_grad():
            prepared(**inputs)
    return step


def _measure(step, phase, seq_len, batch_size, reps, warmup, device, timer_name, time_step,
             own_pids, base: int = 0):
    reset_peak_memory(device)
    for _ in range(warmup):
        step()
    times, seen = observe(lambda: [time_step(step) for _ in range(reps)], device, own_pids)
    return result(times, seen, phase, seq_len, batch_size, warmup, device, timer_name, base)


@dataclass
class Seen:
    """What other work left behind while the timed reps ran (pipeline/interference.py)."""
    cpu_share: float | None
    wait_share: float | None
    device_procs: int | None
    threads: int


def observe(run: Callable[[], list], device: torch.device, own_pids) -> tuple[list, Seen]:
    """``run()`` (the timed reps) and the interference figures over it."""
    gpu = device.type == "cuda"  # other processes on the device: asked before and after the reps
    procs = [interference.gpu_processes(device, own_pids)] if gpu else []
    start = interference.snapshot()
    value = run()
    end = interference.snapshot()
    if gpu:
        procs.append(interference.gpu_processes(device, own_pids))
    threads = interference.probe_threads()
    cpu_share, wait_share = interference.cpu_figures(start, end, threads)
    known = [n for n in procs if n is not None]
    return value, Seen(cpu_share, wait_share, max(known) if known else None, threads)


def result(times: list[float], seen: Seen, phase, seq_len, batch_size, warmup, device,
           timer_name, base: int = 0) -> ProbeResult:
    """A measurement of timed reps: their median / p10 / p90 and why it looks disturbed."""
    median, p10, p90 = summarize(times)
    spread = interference.spread(median, p10, p90)
    disturbed = interference.reasons(device.type, spread, seen.cpu_share, seen.wait_share,
                                     seen.device_procs)
    return ProbeResult(phase, seq_len, batch_size, len(times), warmup, median, p10, p90,
                       peak_memory(device, base), timer_name, "ok", seen.cpu_share, seen.wait_share,
                       spread, seen.device_procs, seen.threads, tuple(disturbed))
