"""AdapterDrop (Rücklé et al., 2021) Tables 1–12 as queries over the records.

Probe conventions (what a producer writes for each experiment):
- full fine-tuning: method "full"; with n_tasks = N it is N fully fine-tuned models run one
  after the other (Table 11's baseline), timed as one step;
- adapters: "houlsby" / "pfeiffer"; multi-task parallel inference over N tasks: n_tasks = N,
  with dropped_layers = k shared lower layers; AdapterDrop training: dropped_layers = k
  (method "pfeiffer" or "adapterdrop");
- AdapterFusion: method "fusion", n_fusion = K adapters, dropped_layers = layers without
  fusion; method_config carries fusion_dropout and implementation ("parallel": the batched form).
Relative speed = t_full / t_method (A.1); speedup per dropped layer = fitted slope (core.slope_pct).
A paired probe (spec ``probes.paired``, pipeline/paired.py) records that ratio directly, per cell:
t_full / t_method (n_tasks = N: N full models in sequence) or, with dropped layers k, t_0 / t_k
of the same model. Tables prefer it: a relative speed is the paired ratio where one exists; a
slope over dropped layers is fitted through the normalised times t_k / t_0 = 1 / ratio (and 1 at
k = 0) where any dropped k has one (the slope in % of the time at 0 is the same either way).
"""

from __future__ import annotations

import numpy as np

from pipeline.tables.core import (DASH, NEEDS_GPU, NOT_RUN, PAIRED, Data, Decl, Table, fmt,
                                  paper, slope_pct)

ADAPTER_DROP_METHODS = ("adapterdrop", "pfeiffer")
PHASES = {"train": "Training", "inference": "Inference"}


def _groups(data: Data):
    """(model, device) pairs with probes; none yet: one placeholder so the paper's values show."""
    return data.probe_groups or [(DASH, DASH)]


def _time_any(data, model, device, methods, *args, **kw):
    for m in methods:
        t = data.time(model, device, m, *args, **kw)
        if t is not None:
            return t, m
    return None, methods[0]


def _ratio_any(data, model, device, methods, *args, **kw):
    for m in methods:
        r = data.ratio(model, device, m, *args, **kw)
        if r is not None:
            return r
    return None


def relative(data: Data, model, device, method, phase, seq, batch, table: Table,
             base="full", where=None, base_where=None, base_dims=None, **dims) -> str:
    """t_base / t_method of one cell as text (the paired ratio when the base is full fine-tuning
    and one was recorded), or '–' with the reason added to the table (``base_dims``: see
    Data.relative_speed)."""
    r, paired = data.relative_speed(model, device, method, phase, seq, batch, base, where,
                                    base_where, base_dims, **dims)
    if paired:
        table.note(PAIRED)
    if r is not None:
        return fmt(r)
    reason = data.why_missing(model, device, (method,), phase, seq, batch, **dims)
    if reason in (NOT_RUN, NEEDS_GPU):  # no flag on the method's cell: the base's may have one
        reason = data.why_missing(model, device, (base,), phase, seq, batch,
                                  **(dims if base_dims is None else base_dims))
    table.reasons.add(reason)
    return DASH


def paired_points(data: Data, model, device, methods, phase, seq, batch, xs,
                  table: Table | None = None, where=None, **dims) -> list[tuple] | None:
    """(dropped layers, normalised time) points for a slope from paired ratios to the undropped
    model: (0, 1) and (k, 1 / ratio) for every dropped k > 0 that has one (the table notes
    it); None when none has."""
    paired = [(x, 1.0 / r) for x in xs if x > 0 for r in [
        _ratio_any(data, model, device, methods, phase, seq, batch, where=where,
                   paired_with="dropped_layers=0", **{**dims, "dropped": x})] if r]
    if not paired:
        return None
    if table is not None:
        table.note(PAIRED)
    return [(0, 1.0)] + paired


def slope_over(data: Data, model, device, methods, phase, seq, batch, xs_key: str, xs,
               table: Table, sign: float = -1.0, where=None, **dims) -> str:
    """Fitted % change per unit of ``xs_key`` (dropped layers or adapters) as text."""
    pts = paired_points(data, model, device, methods, phase, seq, batch, xs, table, where=where,
                        **dims) if xs_key == "dropped" else None
    if pts is None:
        pts = []
        for x in xs:
            t, _ = _time_any(data, model, device, methods, phase, seq, batch, where=where,
                             **{**dims, xs_key: x})
            if t is not None:
                pts.append((x, t))
    s = slope_pct(*zip(*pts)) if len(pts) >= 2 else None
    if s is None:
        table.reasons.add(data.why_missing(model, device, methods, phase, seq, batch,
                                           **{**dims, xs_key: xs[-1]}))
        return DASH
    return f"{sign * s:.1f}%"


def _dropped_range(data: Data, model, device, phase, methods, **dims) -> list[int]:
    """Every dropped_layers value measured for the cell, 0 first."""
    # probe_times keys: model, device, method, config, phase, seq, batch, n_tasks, dropped, n_fusion
    memo = data.__dict__.setdefault("_dropped_memo", {})
    key = (model, device, phase, tuple(methods))
    if key not in memo:
        vals = {k[8] for k, _ in data.probe_by_phase.get((model, device, phase), []) if k[2] in methods}
        memo[key] = sorted(vals | {0})
    return memo[key]


def t01(data: Data, decl: Decl) -> list[Table]:
    return _relative_speed(data, decl, decl.published, single_device=True)


def t09(data: Data, decl: Decl) -> list[Table]:
    return _relative_speed(data, decl, decl.published, single_device=False)


def _relative_speed(data, decl, pub, single_device) -> list[Table]:
    tables = []
    for model, device in _groups(data):
        t = Table(f"{decl.paper} {decl.id} — model {model}, device {device}",
                  ["Setting", "Adapter"] + [f"{s}/{b}" for s, b in decl.columns])
        for phase in ("train", "inference"):
            for method in decl.rows:
                row = [PHASES[phase], method.capitalize()]
                for seq, batch in decl.columns:
                    p = pub[(phase, method)].get((seq, batch))
                    row.append(relative(data, model, device, method, phase, seq, batch, t)
                               + (paper(p) if single_device else paper(p)))
                t.rows.append(row)
        t.notes.append("Ours (paper" + (", V100" if single_device else ": V100 · TitanX") +
                       "; BERT-base). Relative speed = t_full / t_adapter (>1: faster than full "
                       "fine-tuning), medians of exclusive, ok probes; single task, no dropped layers.")
        tables.append(t.finish())
    return tables


def t02(data: Data, decl: Decl) -> list[Table]:
    """Speedup per shared layer, multi-task inference: the slope per (N, batch) averaged over
    batch sizes 16, 32, 64 at seq 128, as the paper averages Table 11 (App. G.2)."""
    tables = []
    for model, device in _groups(data):
        t = Table(f"{decl.paper} {decl.id} — model {model}, device {device}",
                  ["", *[str(n) for n in decl.columns]])
        row = ["Speedup (each layer)"]
        for n in decl.columns:
            speedup = layer_speedup(data, model, device, n, t)
            if speedup is not None:
                row.append(f"{speedup:.1f}%" + paper(decl.published.get(n), 1, pct=True))
            else:
                t.reasons.add(data.why_missing(model, device, ADAPTER_DROP_METHODS, "inference",
                                               128, 16, n_tasks=n, dropped=1))
                row.append(DASH + paper(decl.published.get(n), 1, pct=True))
        t.rows.append(row)
        t.notes.append("Ours (paper, V100). Columns: simultaneous tasks. Speedup per shared layer "
                       "= −slope of a least-squares line through the step time over dropped "
                       "layers, in % of the fitted time at 0 (A.1), averaged over batch 16/32/64, "
                       "seq 128.")
        tables.append(t.finish())
    return tables


def layer_speedup(data: Data, model, device, n_tasks: int,
                  table: Table | None = None) -> float | None:
    """Table 2's speedup (%) per shared layer for n_tasks simultaneous tasks: −fitted slope over
    dropped layers at seq 128, averaged over the batches 16 / 32 / 64 that have ≥ 2 points
    (paired ratios preferred: paired_points)."""
    values = []
    for batch in (16, 32, 64):
        xs = _dropped_range(data, model, device, "inference", ADAPTER_DROP_METHODS)
        pts = paired_points(data, model, device, ADAPTER_DROP_METHODS, "inference", 128, batch,
                            xs, table, n_tasks=n_tasks)
        if pts is None:
            pts = [(x, data.time(model, device, m, "inference", 128, batch, n_tasks=n_tasks,
                                 dropped=x)) for x in xs for m in ADAPTER_DROP_METHODS]
            pts = [(x, y) for x, y in pts if y is not None]
        s = slope_pct(*zip(*pts)) if len(pts) >= 2 else None
        if s is not None:
            values.append(-s)
    return float(np.mean(values)) if values else None


def t03(data: Data, decl: Decl) -> list[Table]:
    tables = []
    for model, device in _groups(data):
        t = Table(f"{decl.paper} {decl.id} — model {model}, device {device}",
                  ["Adapters", "AF vs Full FT: Training", "Inference",
                   "AF vs Adapter: Training", "Inference"])
        for k in decl.rows:
            pub = decl.published.get(k, (None,) * 4)
            row = [str(k)]
            for i, (base, phase) in enumerate((("full", "train"), ("full", "inference"),
                                               ("pfeiffer", "train"), ("pfeiffer", "inference"))):
                row.append(relative(data, model, device, "fusion", phase, 128, 32, t, base,
                                    where=iterative_fusion, base_dims={}, n_fusion=k)
                           + paper(pub[i]))
            t.rows.append(row)
        t.notes.append("Ours (paper, V100). Relative speed t_base / t_AF at batch 32, seq 128; "
                       "AF = method fusion with n_fusion adapters (iterative form).")
        tables.append(t.finish())
    return tables


def iterative_fusion(cfg: dict) -> bool:
    """Plain AdapterFusion: the iterative form, no fusion dropout (the fusion-dropout probes
    belong to Table 7 only; tables and figures alike filter with these two)."""
    return (cfg.get("implementation", "iterative") == "iterative"
            and not float(cfg.get("fusion_dropout") or 0.0))


def parallel_fusion(cfg: dict) -> bool:
    """AdapterFusion's parallel (batched) form, no fusion dropout."""
    return cfg.get("implementation") == "parallel" and not float(cfg.get("fusion_dropout") or 0.0)


def t04(data: Data, decl: Decl) -> list[Table]:
    tables = []
    for model, device in _groups(data):
        t = Table(f"{decl.paper} {decl.id} — model {model}, device {device}",
                  ["Adapters", "Inference", "Training"])
        for k in decl.rows:
            pub = decl.published.get(k, {})
            row = [str(k)]
            for phase in ("inference", "train"):
                xs = _dropped_range(data, model, device, phase, ("fusion",))
                row.append(slope_over(data, model, device, ("fusion",), phase, 128, 32,
                                      "dropped", xs, t, n_fusion=k, where=iterative_fusion)
                           + paper([pub.get((phase, "V100")), pub.get((phase, "TitanX"))], 1, pct=True))
            t.rows.append(row)
        t.notes.append("Ours (paper: V100 · TitanX). Speedup per layer without fusion: −fitted "
                       "slope of the AF step time over dropped layers, % of the time at 0 (A.1); "
                       "batch 32, seq 128.")
        tables.append(t.finish())
    return tables


def t05(data: Data, decl: Decl) -> list[Table]:
    tables = []
    for model, device in _groups(data):
        t = Table(f"{decl.paper} {decl.id} — model {model}, device {device}",
                  ["Batch Size", "Seq. Len", "Speedup"])
        for batch, seq in decl.rows:
            xs = _dropped_range(data, model, device, "train", ADAPTER_DROP_METHODS)
            pub = decl.published.get((batch, seq), {})
            t.rows.append([str(batch), str(seq),
                           slope_over(data, model, device, ADAPTER_DROP_METHODS, "train", seq,
                                      batch, "dropped", xs, t)
                           + paper([pub.get("V100"), pub.get("TitanX")], 1, pct=True)])
        t.notes.append("Ours (paper: V100 · TitanX). Training speedup per dropped layer = −fitted "
                       "slope of the adapter's train step time over dropped layers (A.1).")
        tables.append(t.finish())
    return tables


def t10(data: Data, decl: Decl) -> list[Table]:
    tables = []
    for model, device in _groups(data):
        t = Table(f"{decl.paper} {decl.id} — model {model}, device {device}",
                  ["Seq. Len", "Batch Size", "vs. FF Tr.", "vs. FF Inf.", "vs. Adap. Tr.",
                   "vs. Adap. Inf.", "Slowdown Tr.", "Slowdown Inf."])
        ks = sorted({k[9] for ph in ("train", "inference")
                     for k, _ in data.probe_by_phase.get((model, device, ph), []) if k[2] == "fusion"} | {2, 16})
        for seq, batch in decl.rows:
            pub = decl.published.get((seq, batch), {})
            row = [str(seq), str(batch)]
            for col in ("vs_ff_train", "vs_ff_inference", "vs_adapter_train", "vs_adapter_inference"):
                base = "full" if col.startswith("vs_ff") else "pfeiffer"
                phase = "train" if col.endswith("train") else "inference"
                row.append(relative(data, model, device, "fusion", phase, seq, batch, t, base,
                                    where=iterative_fusion, base_dims={}, n_fusion=2)
                           + paper([pub.get(("V100", col)), pub.get(("TitanX", col))]))
            for phase in ("train", "inference"):
                col = f"slowdown_{phase}"
                row.append(slope_over(data, model, device, ("fusion",), phase, seq, batch,
                                      "n_fusion", [k for k in ks if 2 <= k <= 16], t, sign=1.0,
                                      where=iterative_fusion)
                           + paper([pub.get(("V100", col)), pub.get(("TitanX", col))], 1, pct=True))
            t.rows.append(row)
        t.notes.append("Ours (paper: V100 · TitanX). AF with 2 adapters vs FF / vs one Pfeiffer "
                       "adapter: t_base / t_AF. Slowdown: fitted slope of the AF step time over "
                       "2–16 adapters, % of the fitted time at the fewest adapters measured.")
        tables.append(t.finish())
    return tables


def t11(data: Data, decl: Decl) -> list[Table]:
    tables = []
    for model, device in _groups(data):
        t = Table(f"{decl.paper} {decl.id} — model {model}, device {device}",
                  ["Batch Size", "Adapters", "Inference", "Speedup"])
        for batch, n in decl.rows:
            pub = [decl.published.get((d, batch, n), (None, None)) for d in ("V100", "TitanX", "CPU")]
            t_ff, _ = _time_any(data, model, device, ("full",), "inference", 128, batch, n_tasks=n)
            t_ad, _ = _time_any(data, model, device, ADAPTER_DROP_METHODS, "inference", 128, batch,
                                n_tasks=n)
            r = _ratio_any(data, model, device, ADAPTER_DROP_METHODS, "inference", 128, batch,
                           n_tasks=n)
            if r is not None:
                t.note(PAIRED)
            rel = fmt(r) if r is not None else fmt(t_ff / t_ad) if t_ff and t_ad else DASH
            if rel == DASH:
                t.reasons.add(data.why_missing(model, device, ("full",) + ADAPTER_DROP_METHODS,
                                               "inference", 128, batch, n_tasks=n))
            xs = _dropped_range(data, model, device, "inference", ADAPTER_DROP_METHODS)
            t.rows.append([str(batch), str(n), rel + paper([p[0] for p in pub]),
                           slope_over(data, model, device, ADAPTER_DROP_METHODS, "inference", 128,
                                      batch, "dropped", xs, t, n_tasks=n)
                           + paper([p[1] for p in pub], 1, pct=True)])
        t.notes.append("Ours (paper: V100 · TitanX · CPU). Inference: t(N fully fine-tuned models "
                       "in sequence) / t(one model with N adapters in parallel), seq 128. "
                       "Speedup: −fitted slope over dropped (shared) layers, % of the time at 0.")
        tables.append(t.finish())
    return tables


def t12(data: Data, decl: Decl) -> list[Table]:
    tables = []
    for model, device in _groups(data):
        t = Table(f"{decl.paper} {decl.id} — model {model}, device {device}",
                  ["Adapters", "Seq. Len", "Batch Size", "Rel. Speed"])
        for k, seq, batch in decl.rows:
            pub = decl.published.get((k, seq, batch), {})
            t_it = data.time(model, device, "fusion", "inference", seq, batch, n_fusion=k, where=iterative_fusion)
            t_par = data.time(model, device, "fusion", "inference", seq, batch, n_fusion=k, where=parallel_fusion)
            cell = fmt(t_par / t_it) if t_it and t_par else DASH
            if cell == DASH:
                t.reasons.add(data.why_missing(model, device, ("fusion",), "inference", seq,
                                               batch, n_fusion=k))
            t.rows.append([str(k), str(seq), str(batch),
                           cell + paper([pub.get("V100"), pub.get("TitanX")])])
        t.notes.append("Ours (paper: V100 · TitanX). Relative speed of the iterative AF vs the "
                       "parallel (convolution) form: t_parallel / t_iterative, inference "
                       "(method_config implementation=parallel marks the parallel form).")
        tables.append(t.finish())
    return tables


def no_probes_table(decl: Decl) -> Table:
    t = Table(f"{decl.paper} {decl.id}", ["records"], [[DASH]])
    t.reasons.add(NOT_RUN)
    return t.finish()
