"""efficiency2023 table04: serving k tasks on one input — latency and memory of the three ways
(Mundra et al. 2023 weigh multi-task full fine-tuning against per-task adapters for deployment;
AdapterDrop §3 introduced the parallel adapter path):
- full fine-tuning: k fully fine-tuned models, one after another (method ``full``);
- each adapter method: one frozen backbone with k adapter sets (adapters/multitask.py), from a
  single-task trial, or from a ``multitask_adapter`` trial's trained group;
- multi-task full fine-tuning: one model, one encoder pass and k heads (``multitask_full``,
  pipeline/serving.py; ``multitask_add`` after adding a task is the same kind of model).
Per (model, device) one table; columns per k (the ``n_tasks`` values probed at the cell):
- latency (ms): the median inference step of ok, exclusive probes of the cell (``Data.time``:
  the median over their rows; several configs of a method: the median of them);
- memory (MB, 10^6 bytes): the median ``peak_mem_bytes`` of the same rows, unpaired ones only
  (a paired probe holds the method and its baseline together, pipeline/paired.py). CUDA: the
  allocator's peak; CPU: the process's RSS high-water mark, which also counts whatever else the
  trial process holds (its trained model, for a multi-task trial every task's head).
The cell: seq 128 × batch 16 where some k > 1 was probed there, else the smallest probed
inference cell (seq × batch) with some k > 1.
"""

from __future__ import annotations

import pyarrow.compute as pc

from pipeline.tables.core import DASH, NOT_RUN, Data, Decl, Table, _median, fmt

REFERENCE_CELL = (128, 16)
FULL, MULTITASK = "full", "multitask_full"
# methods served by one multi-task model (one body, k heads); label templates below
WHOLE_MULTITASK = (MULTITASK, "multitask_add")
LABELS = {
    "full": "full fine-tuning (k models)",
    "multitask_full": "multi-task full FT (one model, k heads)",
    "multitask_add": "multi-task full FT + added task (one model, k heads)",
}
NO_K = ("no k-task probe of this method: its trials probed no n_tasks > 1 (spec probes.n_tasks), "
        "or its task parameters are not all in adapters (BitFit, prompt tuning, Intrinsic-SAID: "
        "every task needs its own base model)")
PAIRED_ONLY = ("memory not measured alone: only paired probes of this cell (they hold the method "
               "and its baseline together)")


def t04(data: Data, decl: Decl) -> list[Table]:
    memory = data.memo(("serving_memory",), lambda: _memory(data))
    timed, flagged = _cells(data)
    tables = []
    for model, device in data.probe_groups or [(DASH, DASH)]:
        mine = [c for c in timed | flagged if c[:2] == (model, device)]
        cell = _cell(mine)
        ks = sorted({c[5] for c in mine if c[3:5] == cell})
        probed = {c[2] for c in mine if c[3:5] == cell}
        with_k = {c[2] for c in mine if c[5] > 1}
        t = Table(f"{decl.paper} {decl.id} — model {model}, device {device}",
                  ["Serving k tasks"] + [f"k={k} {what}" for k in ks
                                         for what in ("latency (ms)", "memory (MB)")])
        for method in _methods(probed):
            row = [LABELS.get(method, f"{method} (one backbone, k adapter sets)")]
            for k in ks:
                latency = data.time(model, device, method, "inference", *cell, n_tasks=k)
                peak = memory.get((model, device, method, *cell, k))
                row += [fmt(latency), fmt(peak / 1e6 if peak else None, 1)]
                if latency is None:
                    t.reasons.add(NO_K if k > 1 and method not in with_k else
                                  data.why_missing(model, device, [method], "inference", *cell,
                                                   n_tasks=k))
                elif peak is None:
                    t.reasons.add(PAIRED_ONLY)
            t.rows.append(row)
        if cell is None:
            t.reasons.add(NOT_RUN)
        t.notes.append("Mundra et al. 2023 weigh multi-task full fine-tuning against per-task "
                       "adapters; AdapterDrop §3 serves k tasks by one backbone with k parallel "
                       "adapter sets. Neither paper gives numbers for these cells, so this table "
                       "has no paper column.")
        t.notes.append(f"Cell: seq {cell[0]}, batch {cell[1]}, inference, no dropped layers."
                       if cell else "Cell: none probed with k > 1.")
        t.notes.append("Memory: median peak_mem_bytes of the cell's unpaired probes (CUDA: "
                       "allocator peak; CPU: the process's RSS high-water mark, which also "
                       "counts what else the trial holds, e.g. its trained model). k models and "
                       "k adapter sets are k copies in memory; a multi-task model holds one body "
                       "and k heads (a group of fewer than k tasks serves its heads in turn).")
        tables.append(t.finish())
    return tables


def _cells(data: Data) -> tuple[set, set]:
    """(model, device, method, seq, batch, n_tasks) of the inference probe cells with no dropped
    layers and no fusion: (timed: ok and exclusive, flagged: oom / contended / not exclusive)."""
    def flat(keys, config: bool):
        # probe_times keys hold method_config at index 3; probe_flags keys leave it out
        out = set()
        for k in keys:
            model, device, method, phase, seq, batch, n, dropped, fusion = \
                (*k[:3], *k[4:]) if config else k
            if phase == "inference" and not dropped and not fusion:
                out.add((model, device, method, seq, batch, n))
        return out
    return flat(data.probe_times, True), flat(data.probe_flags, False)


def _cell(cells: list[tuple]) -> tuple[int, int] | None:
    """The reference cell if some k > 1 was probed there, else the smallest such cell."""
    with_k = {c[3:5] for c in cells if c[5] > 1}
    if REFERENCE_CELL in with_k:
        return REFERENCE_CELL
    return min(with_k, key=lambda c: (c[0] * c[1], c)) if with_k else None


def _methods(probed: set[str]) -> list[str]:
    """full, the adapter methods, multi-task adapters, multi-task full FT (full and multi-task
    full FT always: "–" when not probed)."""
    adapters = sorted(probed - {FULL, "multitask_adapter", *WHOLE_MULTITASK})
    return [FULL, *adapters, *(["multitask_adapter"] if "multitask_adapter" in probed else []),
            MULTITASK, *(["multitask_add"] if "multitask_add" in probed else [])]


def _memory(data: Data) -> dict:
    """(model, device, method, seq, batch, n_tasks) -> median peak_mem_bytes of the ok,
    exclusive, unpaired inference rows with no dropped layers and no fusion."""
    p = data.probes
    if p is None or "peak_mem_bytes" not in p.column_names:
        return {}
    keep = pc.and_(pc.equal(p["status"], "ok"), pc.fill_null(p["exclusive"], False))
    keep = pc.and_(keep, pc.equal(p["phase"], "inference"))
    keep = pc.and_(keep, pc.and_(pc.equal(p["dropped_layers"], 0),
                                 pc.equal(pc.fill_null(p["n_fusion"], 0), 0)))
    if "paired_with" in p.column_names:
        keep = pc.and_(keep, pc.is_null(p["paired_with"]))
    cols = ["model", "device", "method", "seq_len", "batch_size", "n_tasks", "peak_mem_bytes"]
    rows = p.filter(pc.fill_null(keep, False)).select(cols).to_pylist()
    values: dict = {}
    for r in rows:
        if r["peak_mem_bytes"] is not None:
            values.setdefault(tuple(r[c] for c in cols[:-1]), []).append(float(r["peak_mem_bytes"]))
    return {k: _median(v) for k, v in values.items()}
