"""Which probe cells a trial measures, and the deduplication of cells already measured.

The probe kinds of AdapterDrop / Compacter are dimensions of one plan (spec ``probes:``):
- cells × phases: train and inference steps over (seq_len, batch) — AdapterDrop Tables 1, 9;
- ``dropped_layers``: adapters removed from the first n layers (specialized AdapterDrop) —
  training speedup per dropped layer, Table 5; inference with shared lower layers, Tables 2, 11;
- ``n_tasks``: N tasks on one input (inference): N fully fine-tuned models one after another
  for ``full``, one model with N parallel task adapters otherwise — Tables 2, 11, Figure 8; a
  multi-task trial serves N tasks with its one model: one encoder pass and N heads for
  ``multitask_full`` (pipeline/serving.py; Mundra et al. 2023), N adapter sets for
  ``multitask_adapter``;
- AdapterFusion's K adapters and dropped fusion layers come from the method config
  (``fusion`` with ``num_adapters`` / ``drop_first_n``) and are recorded as ``n_fusion``.
A cell's key is (model, method config, phase, seq_len, batch, n_tasks, dropped_layers, device):
seeds and LRs do not change timing, so a cell measured before (ok, exclusive) is skipped.
Trials write their records when they end, so two trials probing at the same time would not see
each other's cells there: a trial also claims each cell in the device lease folder, checking and
claiming in one step under the exclusive lease (``DeviceLease.claim``). A claim stands while its
owner process lives (its trial writes the record when it ends), and after that only if the
record arrived; whatever the cell's outcome (ok, oom), one trial of a sweep measures it.
``probes.force`` measures every cell in every trial, with no records or claims consulted.
``probes.paired`` times every cell of a method other than ``full`` interleaved with its
baseline (pipeline/paired.py) and records the ratio; a paired cell is its own cell (the key says
paired), measured when a row has an ok ratio.
A measurement that looks disturbed by other work on the device (pipeline/interference.py) is
repeated, each time alone on the device again; a cell still disturbed after MAX_REMEASURE more
measurements is recorded as ``contended`` (the tables leave it out). Every attempt's figures are
in the row's ``interference`` column.
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
from pathlib import Path

from adapters.bottleneck import AdaptedLinear
from pipeline import paired as pairing
from pipeline.lease import DeviceLease
from pipeline.multitask_config import MULTITASK_METHODS
from pipeline.probes import ProbeResult, probe_cell
from pipeline.spec import Probes
from tracking.records import location, read_records


# Bounds on re-measuring a disturbed cell (module constants until the spec has a
# ``probes.max_remeasure``): at most this many more measurements, each after a pause that lets a
# passing burst of other work end (the lease is not held meanwhile: training goes on).
MAX_REMEASURE = 2
REMEASURE_PAUSE_S = 2.0


def probe_key(model: str, method: str, method_config, phase: str, seq_len: int, batch_size: int,
              n_tasks: int, dropped_layers: int, device: str,
              batch_kind: str | None = "classification", paired: bool = False) -> tuple:
    """A probe cell's identity. ``batch_kind``: the task kind whose batches it times (a multiple
    choice batch is [batch, choices, seq], a QA step has two heads' losses); rows written before
    the column existed timed classification batches. ``paired``: timed with its baseline."""
    if not isinstance(method_config, str):
        method_config = json.dumps(method_config, sort_keys=True)
    return (model, method, method_config, phase, seq_len, batch_size, n_tasks, dropped_layers,
            device, batch_kind or "classification", bool(paired))


def measured_probe_keys(results: Path | str, trial_key: str | None = None) -> set[tuple]:
    """Keys of probe cells that already have an ok, exclusive measurement (of one trial): an ok
    ratio for a paired cell, ok times otherwise."""
    rows = read_records(results, "probes", trial_key).to_pylist()
    return {probe_key(r["model"], r["method"], r["method_config"], r["phase"], r["seq_len"],
                      r["batch_size"], r["n_tasks"], r["dropped_layers"], r["device"],
                      r["batch_kind"], r["paired_with"] is not None)
            for r in rows if r["exclusive"] and
            (r["ratio_status"] if r["paired_with"] is not None else r["status"]) == "ok"}


def has_adapters(model) -> bool:
    return any(isinstance(m, AdaptedLinear) for m in model.modules())


def applicable(model, method: str, phase: str, n_tasks: int, dropped: int) -> bool:
    """Dropping layers needs adapters to drop; N tasks is an inference setting, run either as N
    full models in sequence, as one multi-task full model (one body, N heads), or as N parallel
    adapter sets (methods whose task parameters all sit in adapters; BitFit or layer-norm
    training would give every task its own base model)."""
    if dropped and not has_adapters(model):
        return False
    if n_tasks > 1:
        if phase != "inference":
            return False
        if method not in WHOLE_MODEL and not has_adapters(model):
            return False
    return True


# Methods that train every weight: N tasks are N models, or one multi-task model with N heads.
WHOLE_MODEL = ("full", *(m for m, adapter in MULTITASK_METHODS.items() if adapter == "full"))


def planned_cells(model, method: str, probes: Probes):
    """(phase, seq_len, batch_size, n_tasks, dropped_layers) of every applicable cell, in order."""
    for seq_len, batch_size in probes.cells:
        for phase in probes.phases:
            for n_tasks in probes.n_tasks:
                for dropped in probes.dropped_layers:
                    if applicable(model, method, phase, n_tasks, dropped):
                        yield phase, seq_len, batch_size, n_tasks, dropped


def run_probes(model, point, probes: Probes, device, device_name: str, results: Path | str,
               device_lease: DeviceLease, kind=None) -> list[dict]:
    """Probe rows of every applicable cell that no record or other trial has. ``kind``: the task
    kind whose batches are timed, passed on to ``probe_cell`` (None: classification)."""
    batch_kind = kind.name if kind is not None else "classification"
    rows, claimed = [], []
    done = set() if probes.force else measured_probe_keys(results)
    config = point.method_config
    n_fusion = int(config.get("num_adapters", 0)) if point.method == "fusion" else 0
    paired = probes.paired and point.method != "full"  # full fine-tuning is the baseline itself
    full = []  # the full fine-tuning baseline, loaded once when a paired cell needs it
    try:
        for phase, seq_len, batch_size, n_tasks, dropped in planned_cells(model, point.method,
                                                                           probes):
            key = probe_key(point.model, point.method, config, phase, seq_len, batch_size,
                            n_tasks, dropped, device_name, batch_kind, paired)
            if key in done:
                continue
            if paired:
                if not dropped and not full:  # loaded outside the lease: training goes on
                    full.append(pairing.full_model(point, kind, device))
                measure = functools.partial(
                    pairing.paired_cell, model, model if dropped else full[0], phase, seq_len,
                    batch_size, probes.reps, probes.warmup, device,
                    paired_with=pairing.UNDROPPED if dropped else pairing.FULL,
                    dropped_layers=dropped, n_tasks=n_tasks, kind=kind)
            else:
                measure = functools.partial(
                    probe_cell, model, phase, seq_len, batch_size, probes.reps, probes.warmup,
                    device, dropped_layers=dropped, n_tasks=n_tasks, kind=kind)
            with device_lease.exclusive():
                if not probes.force:
                    if not _claim(device_lease, results, key, point):
                        continue  # another trial measures it, or did
                    claimed.append(_claim_name(results, key))
                first = measure(own_pids=device_lease.members())
            attempts = [first, *remeasure(measure, first, device_lease)]
            r = attempts[-1].times if paired else attempts[-1]
            rows.append(dict(
                sweep=point.sweep, trial_key=point.trial_key, model=point.model,
                method=point.method, method_config=config, phase=phase, seq_len=seq_len,
                batch_size=batch_size, n_tasks=n_tasks, dropped_layers=dropped,
                n_fusion=n_fusion, reps=r.reps, warmup=r.warmup, median_ms=r.median_ms,
                p10_ms=r.p10_ms, p90_ms=r.p90_ms, peak_mem_bytes=r.peak_mem_bytes,
                device=device_name, timer=r.timer, exclusive=True,
                status="contended" if r.status == "ok" and r.disturbed else r.status,
                cpu_share=r.cpu_share, wait_share=r.wait_share, spread=r.spread,
                device_procs=r.device_procs, threads=r.threads, attempts=len(attempts),
                batch_kind=batch_kind,
                interference=json.dumps([_attempt(a) for a in attempts]),
                **(pairing.columns(attempts[-1]) if paired else {})))
    except BaseException:
        for name in claimed:  # these rows are lost with the exception: let others measure
            device_lease.release_claim(name)
        raise
    return rows


def remeasure(measure, first: ProbeResult, device_lease: DeviceLease) -> list[ProbeResult]:
    """Measure a disturbed cell again, alone on the device each time, until a measurement looks
    clean or MAX_REMEASURE more were made (a paired measurement: until its ratio looks clean)."""
    more, last = [], first
    while last.status == "ok" and last.disturbed and len(more) < MAX_REMEASURE:
        time.sleep(REMEASURE_PAUSE_S)
        with device_lease.exclusive():
            last = measure(own_pids=device_lease.members())
        more.append(last)
    return more


def _attempt(r) -> dict:
    """One measurement's figures for the row's ``interference`` column."""
    if isinstance(r, pairing.PairedResult):
        return pairing.attempt(r, _attempt(r.times))
    return dict(median_ms=r.median_ms, p10_ms=r.p10_ms, p90_ms=r.p90_ms, cpu_share=r.cpu_share,
                wait_share=r.wait_share, spread=r.spread, device_procs=r.device_procs,
                disturbed=list(r.disturbed))


def _claim_name(results, key: tuple) -> str:
    """The claim file of a cell of one results location (tests and sweeps share a lease folder)."""
    return hashlib.sha256(json.dumps([location(results), *key]).encode()).hexdigest()[:32]


def _claim(device_lease: DeviceLease, results, key: tuple, point) -> bool:
    """Under the exclusive lease: claim the cell unless another trial's claim stands, i.e. its
    process lives (it measured the cell, or measures it now, and its trial writes the record when
    it ends) or it died after its record of the cell was written."""
    def stands(held: dict, alive: bool) -> bool:
        if held.get("trial_key") == point.trial_key:
            return False  # this trial's own claim from an earlier attempt (a retried trial)
        return alive or key in measured_probe_keys(results, held.get("trial_key"))

    return device_lease.claim(_claim_name(results, key),
                              {"trial_key": point.trial_key, "sweep": point.sweep}, stands)
