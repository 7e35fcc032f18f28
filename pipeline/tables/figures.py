"""Figures: what each plots (queries over the records). A figure is a list of panels, each a
list of lines (label, x, y[, yerr]) or horizontal reference lines; png.py draws it.
"""

from __future__ import annotations

from pipeline.published import COMPACTER_TASKS
from pipeline.tables.adapterdrop import iterative_fusion, parallel_fusion
from pipeline.tables.adapterdrop_scores import per_layer_scores
from pipeline.tables.core import Data, Decl, Figure, method_labels


def _probe_rows(data: Data, **where) -> list[tuple]:
    """probe_times items matching the given key fields (names as core.PROBE_KEYS), in
    probe_times order; looked up by (model, device, phase) and method when they are given."""
    from pipeline.tables.core import PROBE_KEYS

    want = {f: (set(w) if isinstance(w, (set, tuple, list)) else {w}) for f, w in where.items()}
    if all(isinstance(where.get(f), str) for f in ("model", "device", "phase")):
        bucket = data.probe_by_method.get((where["model"], where["device"], where["phase"]), {})
        for f in ("model", "device", "phase"):
            del want[f]
        methods = want.pop("method", None)
        items = [kv for m, rows in bucket.items() if methods is None or m in methods for kv in rows]
    else:
        items = list(data.probe_times.items())
    checks = [(PROBE_KEYS.index(f), w) for f, w in want.items()]
    for i, w in checks:
        items = [kv for kv in items if kv[0][i] in w]
    return items


def _line(label, pts, **extra) -> dict:
    pts = sorted(pts)
    return dict(label=label, x=[p[0] for p in pts], y=[p[1] for p in pts], **extra)


def f06(data: Data, decl: Decl) -> list[Figure]:
    """Absolute step time over sequence length, per method and batch size (paper Fig. 6)."""
    fig = Figure(decl.caption)
    for model, device in data.probe_groups:
        for phase in ("inference", "train"):
            lines = {}
            for k, v in _probe_rows(data, model=model, device=device, phase=phase,
                                    method=("full", "houlsby", "pfeiffer"), n_tasks=1,
                                    dropped_layers=0, n_fusion=0):
                lines.setdefault((k[2], k[6]), []).append((k[5], v))
            fig.panels.append(dict(title=f"{model} {device} {phase}", xlabel="sequence length",
                                   ylabel="ms / step",
                                   lines=[_line(f"{m} b={b}", p) for (m, b), p in sorted(lines.items())]))
    return [fig]


def f08(data: Data, decl: Decl) -> list[Figure]:
    """Multi-task inference time over dropped layers; N sequential FF models as references."""
    fig = Figure(decl.caption)
    for model, device in data.probe_groups:
        for batch in sorted({k[6] for k, _ in _probe_rows(data, model=model, device=device,
                                                            phase="inference", seq_len=128)
                             if k[7] > 1}):
            lines, refs = {}, []
            for k, v in _probe_rows(data, model=model, device=device, phase="inference",
                                    seq_len=128, batch_size=batch):
                if k[7] > 1 and k[2] == "full" and k[8] == 0:
                    refs.append(dict(label=f"{k[7]} FF models", y=v))
                elif k[7] > 1 and k[2] != "full":
                    lines.setdefault(k[7], []).append((k[8], v))
            fig.panels.append(dict(title=f"{model} {device} batch {batch}", xlabel="dropped layers",
                                   ylabel="ms / step", hlines=refs,
                                   lines=[_line(f"{n} tasks (adapters)", p) for n, p in sorted(lines.items())]))
    return [fig]


def f09(data: Data, decl: Decl) -> list[Figure]:
    fig = Figure(decl.caption)
    for model, device in data.probe_groups:
        for phase in ("inference", "train"):
            by_batch = {}  # one line per batch size: two batches at one K are not one curve
            for k, v in _probe_rows(data, model=model, device=device, phase=phase,
                                    method="fusion", seq_len=128, dropped_layers=0):
                if iterative_fusion(data.config(k[3])) and k[6] in (16, 32):
                    by_batch.setdefault(k[6], []).append((k[9], v))
            fig.panels.append(dict(title=f"{model} {device} {phase}", xlabel="adapters fused",
                                   ylabel="ms / step",
                                   lines=[_line(f"AdapterFusion, batch {b}", pts)
                                          for b, pts in sorted(by_batch.items())]))
    return [fig]


def f10(data: Data, decl: Decl) -> list[Figure]:
    fig = Figure(decl.caption)
    for model, device in data.probe_groups:
        for phase in ("inference", "train"):
            lines = {}
            for k, v in _probe_rows(data, model=model, device=device, phase=phase, method="fusion",
                                    seq_len=128, batch_size=32):
                if iterative_fusion(data.config(k[3])):
                    lines.setdefault(k[9], []).append((k[8], v))
            refs = [dict(label=label, y=data.time(model, device, m, phase, 128, 32))
                    for m, label in (("pfeiffer", "adapter"), ("full", "no adapters"))]
            fig.panels.append(dict(title=f"{model} {device} {phase}", xlabel="dropped AF layers",
                                   ylabel="ms / step", hlines=[r for r in refs if r["y"]],
                                   lines=[_line(f"AF {k} adapters", p) for k, p in sorted(lines.items())]))
    return [fig]


def f11(data: Data, decl: Decl) -> list[Figure]:
    fig = Figure(decl.caption)
    for model, device in data.probe_groups:
        lines = {}
        for k, v in _probe_rows(data, model=model, device=device, phase="inference", method="fusion",
                                dropped_layers=0):
            if iterative_fusion(data.config(k[3])):
                t_par = data.time(model, device, "fusion", "inference", k[5], k[6], n_fusion=k[9],
                                  where=parallel_fusion)
                if t_par is not None:
                    lines.setdefault((k[5], k[6]), []).append((k[9], v - t_par))
        fig.panels.append(dict(title=f"{model} {device}", xlabel="adapters fused",
                               ylabel="t_iterative − t_parallel (ms)",
                               lines=[_line(f"seq {s} b={b}", p) for (s, b), p in sorted(lines.items())]))
    return [fig]


VARIANT_LABEL = {"standard": "standard adapter", "specialized": "12 specialized adapters",
                 "robust": "AdapterDrop training"}


def _dropped_figure(data: Data, decl: Decl, max_tasks: int | None) -> list[Figure]:
    s = per_layer_scores(data, decl.direction)
    fig = Figure(decl.caption)
    for model in sorted(s["model"].unique()):
        mine = s[s["model"] == model]
        tasks = [t for t in COMPACTER_TASKS if t in set(mine["task"])] + \
            sorted(set(mine["task"]) - set(COMPACTER_TASKS))
        for task in tasks[:max_tasks]:
            lines = []
            for variant in ("standard", "specialized", "robust"):
                v = mine[(mine["variant"] == variant) & (mine["task"] == task)]
                if not v.empty:
                    lines.append(_line(VARIANT_LABEL[variant],
                                       list(zip(v["dropped_layers"], 100 * v["mean"])),
                                       yerr=list(100 * v.sort_values("dropped_layers")["std"].fillna(0))))
            fig.panels.append(dict(title=f"{model} {task}", xlabel="dropped layers",
                                   ylabel="dev score", lines=lines))
    return [fig]


def f02(data: Data, decl: Decl) -> list[Figure]:
    return _dropped_figure(data, decl, 2)


def f13(data: Data, decl: Decl) -> list[Figure]:
    return _dropped_figure(data, decl, None)


def f05(data: Data, decl: Decl) -> list[Figure]:
    """AdapterFusion pruning (AdapterDrop §5.2): dev score over the adapters kept per layer
    (evals.n_fusion), one panel per model and task, one line per fusion config (its dropout), at
    the LR chosen on the unpruned dev score."""
    fig = Figure(decl.caption)
    e, chosen = data.evals, data.chosen(decl.direction)
    if e.empty or chosen.empty or not e["n_fusion"].notna().any():
        return [fig]
    keys = ["model", "method", "method_config", "task", "lr"]
    runs = data.runs[(data.runs["status"] == "ok") & (data.runs["method"] == "fusion")]
    runs = runs.merge(chosen[keys], on=keys)
    e = e[e["n_fusion"].notna()].merge(runs[["trial_key", "model", "method_config"]],
                                       on="trial_key")
    g = e.groupby(["model", "task", "method_config", "n_fusion"], sort=True)["score"] \
         .agg(["mean", "std"]).reset_index()
    for (model, task), panel in g.groupby(["model", "task"], sort=True):
        lines = []
        for cfg, v in panel.groupby("method_config", sort=True):
            dropout = float(data.config(cfg).get("fusion_dropout", 0.0))
            lines.append(_line(f"AF, fusion dropout {dropout:.0%}",
                               list(zip(v["n_fusion"], 100 * v["mean"])),
                               yerr=list(100 * v["std"].fillna(0))))
        fig.panels.append(dict(title=f"{model} {task}", xlabel="adapters kept per layer",
                               ylabel="dev score", lines=sorted(lines, key=lambda l: l["label"])))
    return [fig]


def cf04(data: Data, decl: Decl) -> list[Figure]:
    """Compacter Fig. 4: dev score over training-set size, per task (LR chosen per size)."""
    fig = Figure(decl.caption)
    c = data.chosen(decl.direction, largest_data=False)
    if not c.empty:
        # the figure's methods only (decl.rows), one line per config (Compacter++ at n = 4 and
        # at n = 8 are two curves, never one with two points per size)
        c = c[(c["train_samples"] > 0) & c["method"].isin(decl.rows)]
        for (model, task), g in c.groupby(["model", "task"], sort=True):
            labels = method_labels(g, data)
            g = g.assign(_label=[labels[(m, cfg)] for m, cfg in
                                 zip(g["method"], g["method_config"].fillna(""))])
            lines = [_line(label, list(zip(v["train_samples"], 100 * v["mean"])),
                           yerr=list(100 * v.sort_values("train_samples")["std"].fillna(0)))
                     for label, v in g.groupby("_label", sort=True)]
            fig.panels.append(dict(title=f"{model} {task}", xlabel="training samples",
                                   ylabel="dev score", xscale="log", lines=lines))
    return [fig]
