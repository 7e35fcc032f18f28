"""Paired probes (spec ``probes: {paired: true}``): a method and its baseline timed in one
process, on one batch, one rep of each in turn (A B A B …), and the ratio per pair.

Why: separate probes of a method and of its baseline run in different trials, minutes apart.
Whatever else the host does meanwhile changes one of them and not the other, so a ratio of two
medians carries both probes' noise (a CV of 7–12% on a shared 2-core machine, issue 12).
Interleaved single reps see the same host within one step of each other: a slowdown that lasts
longer than a pair slows both halves and cancels in that pair's ratio.

The baseline of a cell (relative speed, AdapterDrop A.1, = t_baseline / t_method; > 1: the
method is faster):
- dropped layers k > 0: the same model with no layers dropped (``paired_with`` "dropped_layers=0");
- otherwise full fine-tuning of the same model (``paired_with`` "full"), with N tasks N such
  models one after the other, as an N-task cell of method ``full`` is timed. The full model is
  loaded again by the task kind with the trial's seed and every parameter trained — exactly what
  a ``full`` trial probes. Stripping the trial's model instead would need one undo per method
  (adapters, LoRA, prompts and Intrinsic-SAID inject different modules); timing does not depend
  on the trained weight values.

The ratio of a cell is the median of the per-pair ratios t_baseline,i / t_method,i with a
distribution-free 95% confidence interval for that median from order statistics: [r_(k),
r_(n−k+1)] of the sorted ratios covers the median with probability 1 − 2·P(Bin(n, ½) ≤ k − 1),
and k is the largest rank that keeps this ≥ 95% (n = 10 pairs: k = 2, 97.9%). It is exact for
any continuous distribution and needs no resampling, so the same times always give the same
interval; it needs n ≥ 6 pairs (n = 5 reaches 93.75% at most), hence ``probes.reps`` ≥ 6.

What makes a paired measurement look disturbed (and measured again, as pipeline/probe_plan.py
does for any probe): a 95% interval reaching further than RATIO_CI_MAX (25%) from the median on
either side, or another process on the GPU. This bounds what the record claims; it is not
pyperf's quietness check, which a shared host fails by design: there bursts of other work slow
single steps. (MiniLM train steps at a load average of 6–9 on 2 cores: with 20 pairs the
per-pair ratios spread by (p90 − p10) / median = 0.16–0.21 and the intervals reached 3–6% from
the median, with 10 pairs 22–27%, while the medians repeated within a CV of 1.5% and 2.5%;
README.) The CPU figures of the run are recorded but do not decide: a core shared with another
tenant slows both halves of a pair. The row's own times (``median_ms``, status) keep the
unpaired rule, so a loaded host leaves its absolute times ``contended`` and its ratio usable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch

from pipeline import interference
from pipeline.probes import (ProbeResult, _timer, allocated, body, default_kind, make_step,
                             observe, on_device, prepare, release, reset_peak_memory, result,
                             summarize)

LEVEL = 0.95  # confidence level of the ratio's interval
RATIO_CI_MAX = 0.25  # the interval's furthest end from the median, relative to the median
FULL = "full"
UNDROPPED = "dropped_layers=0"


@dataclass
class PairedResult:
    times: ProbeResult  # the method's reps; interference figures over the whole paired run
    paired_with: str  # FULL | UNDROPPED
    baseline_median_ms: float | None = None
    ratio_median: float | None = None  # median over pairs of t_baseline / t_method
    ratio_ci_low: float | None = None  # 95% order-statistic interval of that median
    ratio_ci_high: float | None = None
    pairs: int = 0
    ratio_spread: float | None = None  # (p90 − p10) / median of the per-pair ratios
    disturbed: tuple[str, ...] = ()  # why the ratio looks disturbed; empty: clean

    @property
    def status(self) -> str:
        return self.times.status


def interleave(step_a: Callable[[], None], step_b: Callable[[], None], reps: int, warmup: int,
               time_step: Callable[[Callable[[], None]], float]) -> tuple[list[float], list[float]]:
    """``warmup`` untimed rounds of A then B, then ``reps`` timed pairs A, B (ABAB…); returns
    (A's times, B's times), pair i at index i."""
    for _ in range(warmup):
        step_a()
        step_b()
    times_a, times_b = [], []
    for _ in range(reps):
        times_a.append(time_step(step_a))
        times_b.append(time_step(step_b))
    return times_a, times_b


def median_ci(values: list[float], level: float = LEVEL
              ) -> tuple[float | None, float | None, float | None]:
    """(median, low, high): the median and the order-statistic interval described above; low and
    high are None when there are too few values to reach ``level``."""
    if not values:
        return None, None, None
    x = sorted(values)
    n = len(x)
    median = float(summarize(x)[0])
    below, k = 0.0, 0  # below: P(Bin(n, 1/2) <= k - 1) for the candidate rank k
    while k + 1 <= n - k:  # rank k + 1 still has a partner n - k at or above it
        below_next = below + math.comb(n, k) / 2 ** n
        if 1 - 2 * below_next < level:
            break
        below, k = below_next, k + 1
    if k == 0:
        return median, None, None
    return median, float(x[k - 1]), float(x[n - k])


def ratio_figures(method_ms: list[float], baseline_ms: list[float]) -> dict:
    """The ratio figures of paired times (pair i: method_ms[i], baseline_ms[i])."""
    ratios = [b / a for a, b in zip(method_ms, baseline_ms) if a > 0]
    median, low, high = median_ci(ratios)
    spread = None
    if ratios:
        m, p10, p90 = summarize(ratios)
        spread = interference.spread(m, p10, p90)
    return dict(ratio_median=median, ratio_ci_low=low, ratio_ci_high=high, pairs=len(ratios),
                ratio_spread=spread)


def reasons(device_type: str, median: float | None, low: float | None, high: float | None,
            device_procs: int | None) -> list[str]:
    """Why a paired measurement's ratio looks disturbed (empty: clean)."""
    out = []
    if median and low is not None and high is not None:
        reach = max(median - low, high - median) / median
        if reach > RATIO_CI_MAX:
            out.append(f"ratio interval reaches {reach:.2f} from the median > {RATIO_CI_MAX}")
    if device_type == "cuda" and device_procs:
        out.append(f"{device_procs} other process(es) on the device")
    return out


def paired_cell(model, baseline, phase: str, seq_len: int, batch_size: int, reps: int,
                warmup: int, device: torch.device, paired_with: str = FULL,
                dropped_layers: int = 0, n_tasks: int = 1, kind=None,
                clock: Callable | None = None,
                own_pids: set[int] = frozenset()) -> PairedResult:
    """Time ``model``'s cell (as probes.probe_cell does) interleaved with the same cell of
    ``baseline`` with no layers dropped, on one batch. ``paired_with`` names the baseline in the
    record. ``peak_mem_bytes`` covers both models, held together."""
    kind = kind or default_kind()
    timer_name, time_step = ("fake", clock) if clock is not None else _timer(device)
    memory_base = allocated(device)
    method = base = batch = step_m = step_b = None
    try:
        method = on_device(prepare(model, dropped_layers, n_tasks), device)
        base = on_device(prepare(baseline, 0, n_tasks), device)
        batch = kind.random_batch(body(method), seq_len, batch_size, device)
        step_m, step_b = make_step(method, phase, batch, kind), make_step(base, phase, batch, kind)
        reset_peak_memory(device)
        interleave(step_m, step_b, 0, warmup, time_step)  # warm-up rounds, outside the figures
        (times_m, times_b), seen = observe(
            lambda: interleave(step_m, step_b, reps, 0, time_step), device, own_pids)
        times = result(times_m, seen, phase, seq_len, batch_size, warmup, device, timer_name,
                       memory_base)
        figures = ratio_figures(times_m, times_b)
        why = reasons(device.type, figures["ratio_median"], figures["ratio_ci_low"],
                      figures["ratio_ci_high"], seen.device_procs)
        return PairedResult(times, paired_with, summarize(times_b)[0], **figures,
                            disturbed=tuple(why))
    except (torch.OutOfMemoryError, MemoryError):
        return PairedResult(ProbeResult(phase, seq_len, batch_size, reps, warmup, None, None,
                                        None, None, timer_name, "oom"), paired_with)
    finally:
        method = base = batch = step_m = step_b = None  # the copies go before the collection
        release(device)


def full_model(point, kind, device: torch.device):
    """Full fine-tuning of the trial's model: loaded again by the task kind with the trial's seed
    (the global RNG state is left as it was), every parameter trained."""
    import adapters
    from pipeline.tasks import get_task

    kind = kind or default_kind()
    # kind.load_model seeds torch, which also reseeds CUDA: fork its generator there too
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        model = kind.load_model(point.model, get_task(point.task), point.seed)
    adapters.apply_method(model, FULL)
    return model.to(device)


def columns(r: PairedResult) -> dict:
    """The paired columns of a probe row. ``ratio_status``: ok | contended (the ratio looked
    disturbed in every attempt) | oom."""
    status = r.status if r.status != "ok" else "contended" if r.disturbed else "ok"
    return dict(paired_with=r.paired_with, baseline_median_ms=r.baseline_median_ms,
                ratio_median=r.ratio_median, ratio_ci_low=r.ratio_ci_low,
                ratio_ci_high=r.ratio_ci_high, pairs=r.pairs, ratio_status=status)


def attempt(r: PairedResult, times_figures: dict) -> dict:
    """One paired attempt for the row's ``interference`` column: the method's time figures,
    the ratio's, and what decided (``disturbed``: the ratio's reasons)."""
    return dict(times_figures, times_disturbed=times_figures["disturbed"],
                disturbed=list(r.disturbed), ratio_median=r.ratio_median,
                ratio_ci=[r.ratio_ci_low, r.ratio_ci_high], ratio_spread=r.ratio_spread,
                baseline_median_ms=r.baseline_median_ms)
