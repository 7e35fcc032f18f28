"""Compacter (Karimi Mahabadi et al., 2021) Tables 1, 2, 3, 6, 7, 9 as queries over run records.

Run conventions: method names as in adapters/ (full, houlsby, pfeiffer, adapterdrop, lowrank,
prompt_tuning, intrinsic_said, bitfit, phm, compacter, compacterpp); the output layer trained as
well (Table 7) is method_config ``train_output_layer: true``; the small model (Table 9) is
model t5-small.
"""

from __future__ import annotations

from pipeline.published import COMPACTER_TASKS, SUPERGLUE_TASKS
from pipeline.tables.core import (DASH, DISTURBED_NOTE, Data, Decl, Table, best_key, method_labels,
                                   paper)
from pipeline.tables.scores import SMALL_MODELS, config_flag, score_table

N_VARIANTS = ("phm", "compacter", "compacterpp", "intrinsic_said")


def _base(data, frame):
    return ~config_flag(data, frame, "train_output_layer") & ~frame["model"].isin(SMALL_MODELS)


def t01(data: Data, decl: Decl) -> list[Table]:
    return score_table(data, decl, COMPACTER_TASKS, lambda f: _base(data, f), ", T5-base")


def t02(data: Data, decl: Decl) -> list[Table]:
    return score_table(data, decl, SUPERGLUE_TASKS,
                       lambda f: _base(data, f) & f["task"].isin(SUPERGLUE_TASKS), ", T5-base")


def t06(data: Data, decl: Decl) -> list[Table]:
    return score_table(data, decl, COMPACTER_TASKS,
                       lambda f: _base(data, f) & f["method"].isin(N_VARIANTS), ", T5-base")


def t07(data: Data, decl: Decl) -> list[Table]:
    return score_table(data, decl, COMPACTER_TASKS,
                       lambda f: config_flag(data, f, "train_output_layer"), ", T5-base")


def t09(data: Data, decl: Decl) -> list[Table]:
    return score_table(data, decl, COMPACTER_TASKS, lambda f: f["model"].isin(SMALL_MODELS),
                       ", T5-small")


def delta_memory(method_mb: float, full_mb: float) -> float:
    """Table 3's Δ memory (%) as the paper computes it: relative to the *method's* memory,
    (m − f) / m (Intrinsic-SAID: (285.40 − 167.99) / 285.40 = +41.14%)."""
    return 100 * (method_mb - full_mb) / method_mb


def delta_time(method_min: float, full_min: float) -> float:
    """Table 3's Δ time (%) as the paper computes it: relative to full fine-tuning,
    (m − f) / f (Intrinsic-SAID: (144.01 − 42.13) / 42.13 = +241.82%)."""
    return 100 * (method_min - full_min) / full_min


def t03(data: Data, decl: Decl) -> list[Table]:
    """Peak training memory and training time per epoch, per method, relative to full FT, over
    the ok runs of one sweep on a (model, task, training-set size) (the paper: 1 epoch of MNLI
    at a fixed memory budget). Times compare only within one sweep (one machine at one time,
    one budget) and at one epoch size (train_samples; -1: the whole split)."""
    tables = [t for sweep, part in data.by_sweep() for t in _t03(part, decl, sweep)]
    return tables or _t03(data, decl, None)


def _t03(data: Data, decl: Decl, sweep: str | None) -> list[Table]:
    g = data.run_groups
    pub = decl.published
    tables = []
    keys = ["model", "task", "train_samples"]
    trained = g[g["epochs"].fillna(0) > 0] if not g.empty else g  # probe-only points never trained
    by_key = {k: f for k, f in trained.groupby(keys, sort=True)} if not trained.empty else {}
    if not by_key and sweep is not None:
        return []  # a sweep of probes only
    for (model, task, samples), mine in sorted(by_key.items()) or [((DASH, DASH, -1), trained)]:
        size = "all" if samples is None or samples < 0 else f"{int(samples)}"
        t = Table(f"{decl.paper} {decl.id} — model {model}, task {task}, {size} training examples"
                  + (f", sweep {sweep}" if sweep else ""),
                  ["Method", "% trained params", "Memory (MB)", "Δ memory", "Time/epoch (min)",
                   "Δ time"])
        per = {}
        labels = method_labels(mine, data) if not mine.empty else {}
        groups = {k: f for k, f in mine.assign(_cfg=mine["method_config"].fillna(""))
                  .groupby(["method", "_cfg"], sort=True)} if not mine.empty else {}
        for (method, cfg), label in labels.items():
            f = groups[(method, cfg)]
            per[label] = (method, cfg, (f["trainable_params"] / f["total_params"]).mean() * 100,
                          f["peak_mem_bytes"].median() / 1e6,
                          (f["train_time_s"] / f["epochs"]).mean() / 60,
                          bool(f["disturbed"].any()))
        full = next((v for v in per.values() if v[0] == "full"), None)
        order = [lbl for key in pub for lbl in sorted(per) if best_key(per[lbl][0], data.config(per[lbl][1]), pub) == key]
        order += [lbl for lbl in sorted(per) if lbl not in order]
        shown = {best_key(per[lbl][0], data.config(per[lbl][1]), pub) for lbl in order}
        rows = [(lbl, best_key(per[lbl][0], data.config(per[lbl][1]), pub)) for lbl in order]
        rows += [(None, key) for key in pub if key not in shown]
        for label, key in rows:
            p = pub.get(key) if key else None
            if label is None:
                t.reasons.add(data.run_reason(model, key, task))
                t.rows.append([f"{DASH} [{key}]", DASH + paper(p[0]), DASH + paper(p[1]),
                               DASH + paper(p[2], pct=True), DASH + paper(p[3]), DASH + paper(p[4], pct=True)])
                continue
            _, _, share, mem, minutes, disturbed = per[label]
            if disturbed:
                t.note(DISTURBED_NOTE)
            d_mem = f"{delta_memory(mem, full[3]):+.2f}%" if full and label != "full" else DASH
            d_time = f"{delta_time(minutes, full[4]):+.2f}%" if full and label != "full" else DASH
            t.rows.append([label + (f" [{key}]" if key else ""),
                           f"{share:.3f}" + (paper(p[0]) if p else ""),
                           f"{mem:.1f}" + (paper(p[1]) if p else ""),
                           d_mem + (paper(p[2], pct=True) if p else ""),
                           f"{minutes:.2f}" + ("*" if disturbed else "") + (paper(p[3]) if p else ""),
                           d_time + (paper(p[4], pct=True) if p else "")])
        t.notes.append("Δ as the paper computes them (every printed row follows this): Δ memory "
                       "= (m − f) / m, relative to the method's own memory; Δ time = (m − f) / f, "
                       "relative to full fine-tuning (m: the method, f: full fine-tuning). So a "
                       "method with twice full fine-tuning's memory shows +50.00%, with twice its "
                       "time +100.00%.")
        t.notes.append("Ours (paper: T5-base, 1 epoch of MNLI, largest batch in 24 GB, memory in "
                       "MB as printed; MB here = 10^6 bytes). Memory: median peak training memory of the runs (CUDA: max "
                       "allocated; CPU: the worker's RSS high-water mark since training started, which in a Ray "
                       "worker reused across trials also holds memory earlier trials freed but the "
                       "process kept, so CPU memory does not compare across methods); time/epoch: mean train_time_s "
                       "/ epochs; Δ relative to full fine-tuning of the same sweep, model, task and "
                       "training-set size.")
        tables.append(t.finish())
    return tables
