"""efficiency2023: our answer to "What are adapters really efficient at?" (2023; abstract only).

Table 1 — full fine-tuning vs each adapter vs multi-task full fine-tuning, per model, one table
per sweep that trained multi-task full FT (its rows share tasks and budget; ``comparisons``):
- training time to reach the best dev score = the run records' time_to_best_s (training seconds
  to the best evaluation, every epoch or every training.eval_every_steps; records without it:
  train_time_s × best_epoch / epochs), mean over the seeds of the LR chosen on dev, then over
  tasks;
- inference latency = median inference step time of exclusive probes, single task, at the
  reference cell (seq 128, batch 16) or else the smallest cell probed for every method; its
  "× full FT" is 1 / the paired ratio t_full / t_method where a paired probe recorded one
  (pipeline/paired.py), else the ratio of the two latencies;
- storage per task = trained parameters × 4 bytes (fp32): the whole model for full FT, the
  trained parameters for an adapter, the recorded storage_params of a multi-task record (its
  head + the shared body / number of tasks; older records: the whole model / number of tasks).
Multi-task full FT: method "multitask_full", one record per task of a group (pipeline/
multitask_trial.py; group_tasks names them, their times are the group's, so per task / n);
records from before that wrote one record with the tasks joined by "+".
Tables 2 and 3 and the figures: efficiency_xling.py, efficiency_add.py, efficiency_figures.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.tables.core import DASH, DISTURBED_NOTE, NOT_RUN, PAIRED, Data, Decl, Table, fmt

MULTITASK = "multitask_full"
ADD_TASK = "multitask_add"  # the extensibility experiment: table03, not a method of table01
REFERENCE_CELL = (128, 16)


def comparisons(data: Data):
    """(model, sweep, that sweep's Data) per table01 table. A sweep that trained multi-task full
    FT is one comparison: its methods share tasks, budget and machine, so its rows are compared
    only with each other (one table per such sweep). A model with no such sweep: one table of
    all its runs (sweep None), each row on the tasks it has (the Tasks column)."""
    runs = data.runs
    ok = runs[runs["status"] == "ok"] if not runs.empty else runs
    models = sorted(set(ok["model"])) if not ok.empty else []
    if not models:
        yield DASH, None, data
    for model in models:
        mine = runs["model"] == model
        compared = set(runs.loc[mine & (runs["method"] == MULTITASK) & (runs["status"] == "ok"),
                                "sweep"].dropna())
        if not compared:
            yield model, None, data
        for sweep, part in data.by_sweep(mine):
            if sweep in compared:
                yield model, sweep, part


def t01(data: Data, decl: Decl) -> list[Table]:
    return [_t01(part, decl, model, sweep) for model, sweep, part in comparisons(data)]


def _t01(data: Data, decl: Decl, model: str, sweep: str | None) -> Table:
    chosen = data.chosen(decl.direction)
    mine = chosen[chosen["model"] == model] if not chosen.empty else chosen
    methods = ["full"] + sorted(set(mine["method"]) - {"full", MULTITASK, ADD_TASK}) + [MULTITASK] \
        if not mine.empty else ["full", MULTITASK]
    devices = sorted(d for m, d in data.probe_groups if m == model)
    t = Table(f"{decl.paper} {decl.id} — model {model}" + (f", sweep {sweep}" if sweep else ""),
              ["Method", "Time to best dev (s)", "× full FT", "Inference latency (ms)",
               "× full FT", "Storage per task (MB)", "Dev score (avg)", "Tasks"])
    stats = {}
    for method in methods:
        f = mine[mine["method"] == method] if not mine.empty else mine
        if f.empty:
            stats[method] = None
            continue
        n_tasks = np.maximum(f["task"].str.count(r"\+").fillna(0).to_numpy() + 1,
                             f["group_size"].to_numpy())
        per_task_time = f["time_to_best_s"].to_numpy() / n_tasks
        bytes_per_task = np.where(method in ("full", MULTITASK), f["total_params"],
                                  f["trainable_params"]) * 4 / n_tasks
        if "storage_params" in f:  # a multi-task record's own share, as recorded
            bytes_per_task = np.where(f["storage_params"].notna(), f["storage_params"] * 4,
                                      bytes_per_task)
        stats[method] = dict(time=float(pd.Series(per_task_time).mean()),
                             store=float(pd.Series(bytes_per_task).mean()) / 1e6,
                             score=100 * float(f["mean"].mean()),
                             tasks=", ".join(sorted(f["task"].unique())),
                             disturbed=bool(f["disturbed"].any()))
    # A sweep's rows: latency of the configs that sweep trained (other sweeps may have probed
    # the same method at another config).
    where = {m: _configs_in(data, mine, m) if sweep else None for m in methods}
    lat = {m: _latency(data, model, devices, m, where[m]) for m in methods}
    full = stats.get("full")
    for method in methods:
        s = stats[method]
        label = {"full": "full fine-tuning", MULTITASK: "multi-task full fine-tuning"}.get(method, method)
        if s is None:
            t.reasons.add(data.run_reason(model, method, "any") if method != MULTITASK else NOT_RUN)
        elif s["disturbed"]:
            t.note(DISTURBED_NOTE)
        l_ms = lat[method]
        t.rows.append([
            label,
            fmt(s["time"], 1) + ("*" if s["disturbed"] else "") if s else DASH,
            fmt(s["time"] / full["time"]) if s and full and full["time"] else DASH,
            fmt(l_ms) if l_ms else DASH,
            _vs_full(data, model, devices, method, l_ms, lat.get("full"), t, where[method]),
            fmt(s["store"], 3) if s else DASH,
            fmt(s["score"]) if s else DASH,
            s["tasks"] if s else DASH,
        ])
        if not l_ms:
            t.reasons.add(NOT_RUN)
    t.notes.append("The 2023 paper's claim (abstract): adapters are relatively expensive to "
                   "train and slightly slower at inference; multi-task full FT gives the "
                   "maintainability benefits with faster training. The paper gives no numbers "
                   "in its abstract, so this table has no paper column.")
    t.notes.append(f"Latency cell: seq {REFERENCE_CELL[0]}, batch {REFERENCE_CELL[1]} "
                   f"(device {', '.join(devices) or DASH}). Time to best: the run records' "
                   "time_to_best_s (training seconds to the best dev evaluation, excluding "
                   "evaluation and waits; records without it: train_time_s × best_epoch / "
                   "epochs); multi-task FT: the group's seconds / its number of tasks. "
                   "Storage: fp32 bytes of what must be stored per task.")
    if sweep:
        t.notes.append(f"Rows: the methods of sweep {sweep} only (same tasks, budget and "
                       "machine); this model's runs of other sweeps are left out.")
    return t.finish()


def _configs_in(data: Data, rows: pd.DataFrame, method):
    """A ``where`` accepting only the configs ``method`` has in ``rows``."""
    configs = [data.config(c) for c in set(rows.loc[rows["method"] == method, "method_config"])]
    return lambda cfg: cfg in configs


def _vs_full(data: Data, model, devices, method, l_ms, full_ms, table: Table, where=None) -> str:
    """Latency × full FT: 1 / the paired ratio where one exists, else l_ms / full_ms."""
    for device in devices:
        r = data.ratio(model, device, method, "inference", *REFERENCE_CELL, where=where)
        if r:
            table.note(PAIRED)
            table.note("Latency × full FT of a paired probe: 1 / its ratio t_full / t_method.")
            return fmt(1 / r)
    return fmt(l_ms / full_ms) if l_ms and full_ms else DASH


def _latency(data: Data, model, devices, method, where=None) -> float | None:
    for device in devices:
        v = data.time(model, device, method, "inference", *REFERENCE_CELL, where=where)
        if v is not None:
            return v
    return None
