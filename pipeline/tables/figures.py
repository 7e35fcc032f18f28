"""Figures: what each plots (queries over the records) and one renderer (matplotlib, Agg).

A figure is a list of panels, each a list of lines (label, x, y[, yerr]) or horizontal reference
lines. PNG bytes depend only on the data: fixed size, dpi, fonts and PNG metadata.
"""

from __future__ import annotations

import io
from functools import partial

import numpy as np

from pipeline.published import COMPACTER_TASKS
from pipeline.tables.adapterdrop_scores import per_layer_scores
from pipeline.tables.core import DASH, Data, Decl, Figure

FIXED_METADATA = {"Software": "adapterbench"}  # matplotlib writes its version otherwise


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


def _is_parallel(cfg: dict) -> bool:
    """AdapterFusion's parallel form: method_config implementation=parallel (adapters/fusion.py)."""
    return cfg.get("implementation") == "parallel"


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
                if not _is_parallel(data.config(k[3])) and k[6] in (16, 32):
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
                if not _is_parallel(data.config(k[3])):
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
            if not _is_parallel(data.config(k[3])):
                t_par = data.time(model, device, "fusion", "inference", k[5], k[6], n_fusion=k[9],
                                  where=_is_parallel)
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
    """AdapterFusion pruning: dev score over the adapters kept (evals.n_fusion)."""
    fig = Figure(decl.caption)
    e = data.evals
    if "n_fusion" in e and e["n_fusion"].notna().any():
        e = e[e["n_fusion"].notna()]
        g = e.groupby(["task", "n_fusion"], sort=True)["score"].agg(["mean", "std"]).reset_index()
        for task in sorted(g["task"].unique()):
            v = g[g["task"] == task]
            fig.panels.append(dict(title=task, xlabel="adapters kept", ylabel="dev score",
                                   lines=[_line("AF pruned", list(zip(v["n_fusion"], 100 * v["mean"])),
                                                yerr=list(100 * v["std"].fillna(0)))]))
    return [fig]


def cf04(data: Data, decl: Decl) -> list[Figure]:
    """Compacter Fig. 4: dev score over training-set size, per task (LR chosen per size)."""
    fig = Figure(decl.caption)
    c = data.chosen(decl.direction, largest_data=False)
    if not c.empty:
        c = c[c["train_samples"] > 0]
        for (model, task), g in c.groupby(["model", "task"], sort=True):
            lines = [_line(m, list(zip(v["train_samples"], 100 * v["mean"])),
                           yerr=list(100 * v.sort_values("train_samples")["std"].fillna(0)))
                     for m, v in g.groupby("method", sort=True)]
            fig.panels.append(dict(title=f"{model} {task}", xlabel="training samples",
                                   ylabel="dev score", xscale="log", lines=lines))
    return [fig]


# --- rendering --------------------------------------------------------------------------------
# Drawing cost is matplotlib's per-artist text layout, so the layout is computed here, not
# measured: fixed margins in inches (no tight_layout, which draws every figure twice), and one
# legend per figure instead of one per panel (placing 24 "best" legends alone took seconds).
# A label keeps its colour and line style in every panel of a figure, so one legend serves all.

PANEL_W, PANEL_H = 4.0, 3.0  # inches per panel, gaps included
LEFT, RIGHT, BOTTOM = 0.65, 0.15, 0.5  # figure margins (inches): y labels, x labels
GAP_W, GAP_H = 0.75, 0.75  # between panels: the next panel's y labels; x label + title
TITLE_H, LEGEND_ROW_H = 0.35, 0.17  # suptitle band; one row of legend entries (7 pt)
PANEL_TITLE_H = 0.3  # above the first row of panels
XLABEL_DROP = 0.22  # x label's top below the axes: tick (3.5 pt) + pad (3.5 pt) + 8 pt labels
LINE_STYLES = ("-", "-.", ":")  # a label's style: colour C0..C9, then the next line style


def _styles(panels: list[dict]) -> dict[str, dict]:
    """label -> plot style, in order of first appearance (lines first, then reference lines)."""
    labels = list(dict.fromkeys([ln["label"] for p in panels for ln in p.get("lines", [])]))
    refs = list(dict.fromkeys([r["label"] for p in panels for r in p.get("hlines", [])]))
    styles = {lb: dict(color=f"C{i % 10}", ls=LINE_STYLES[i // 10 % 3], marker="o", ms=3, lw=1.2)
              for i, lb in enumerate(labels)}
    for i, lb in enumerate(refs):  # dashed, without markers; colours from C5 on as before
        styles.setdefault(lb, dict(color=f"C{(i + 5) % 10}", ls="--", lw=1))
    return styles


def _message_png(fig: Figure, reason: str) -> bytes:
    from matplotlib.figure import Figure as MplFigure

    f = MplFigure(figsize=(6, 1.6), dpi=100)
    f.text(0.5, 0.62, fig.title, ha="center", va="center", fontsize=9)
    f.text(0.5, 0.32, f"{DASH} {reason}", ha="center", va="center", fontsize=8)
    return _png(f)


def _png(f) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    buf = io.BytesIO()
    # zlib level 1: a third of the default's encoding time, files ~8% larger
    FigureCanvasAgg(f).print_png(buf, metadata=FIXED_METADATA, pil_kwargs={"compress_level": 1})
    return buf.getvalue()


def render_png(fig: Figure, reason: str) -> bytes:
    import matplotlib
    from matplotlib.collections import LineCollection
    from matplotlib.figure import Figure as MplFigure
    from matplotlib.ticker import MaxNLocator, NullLocator

    panels = [p for p in fig.panels if p.get("lines") or p.get("hlines")]
    with matplotlib.rc_context():
        matplotlib.rcdefaults()  # a user's matplotlibrc must not change the bytes
        matplotlib.rcParams.update({"font.family": "DejaVu Sans", "font.size": 8})
        if not panels:
            return _message_png(fig, reason)
        styles = _styles(panels)
        cols = min(3, len(panels))
        rows = int(np.ceil(len(panels) / cols))
        legend_cols = min(len(styles), 2 * cols)
        header = TITLE_H + LEGEND_ROW_H * int(np.ceil(len(styles) / legend_cols))
        top = header + PANEL_TITLE_H
        w, h = PANEL_W * cols, PANEL_H * rows + header
        ax_w = (w - LEFT - RIGHT - GAP_W * (cols - 1)) / cols
        ax_h = (h - top - BOTTOM - GAP_H * (rows - 1)) / rows
        f = MplFigure(figsize=(w, h), dpi=100)
        f.subplots_adjust(left=LEFT / w, right=1 - RIGHT / w, bottom=BOTTOM / h, top=1 - top / h,
                          wspace=GAP_W / ax_w, hspace=GAP_H / ax_h)
        axes = f.subplots(rows, cols, squeeze=False)
        y_ticks = partial(MaxNLocator, 6, steps=[1, 2, 2.5, 5, 10], min_n_ticks=4)
        for ax in axes.flat[len(panels):]:
            ax.axis("off")
        handles = {}
        for ax, p in zip(axes.flat, panels):
            bars, bar_colors = [], []  # error bars (± std) of every line: one collection a panel
            for line in p.get("lines", []):
                style = styles[line["label"]]
                handles[line["label"]] = ax.plot(line["x"], line["y"], **style)[0]
                if line.get("yerr") is not None and len(line["yerr"]) == len(line["y"]):
                    bars += [[(x, y - e), (x, y + e)]
                             for x, y, e in zip(line["x"], line["y"], line["yerr"])]
                    bar_colors += [style["color"]] * len(line["x"])
            if bars:
                ax.add_collection(LineCollection(bars, colors=bar_colors, linewidths=0.8))
            for ref in p.get("hlines", []):
                handles[ref["label"]] = ax.axhline(ref["y"], **styles[ref["label"]])
            if p.get("xscale"):
                ax.set_xscale(p["xscale"])
                ax.xaxis.set_minor_locator(NullLocator())  # ~25 unlabelled ticks a panel: slow
            ax.yaxis.set_major_locator(y_ticks())  # at most 7 ticks: each costs a text layout
            # Fixed title and x-label positions: matplotlib would measure the ticks to place them
            ax.set_title(p["title"], fontsize=8, y=1.0)
            ax.set_xlabel(p["xlabel"])
            ax.xaxis.set_label_coords(0.5, -XLABEL_DROP / ax_h)
            ax.set_ylabel(p["ylabel"])
            ax.grid(alpha=0.3)
        f.suptitle(fig.title, fontsize=9, y=1 - 0.08 / h, va="top")
        f.legend([handles[lb] for lb in styles], list(styles), loc="upper center",
                 bbox_to_anchor=(0.5, 1 - TITLE_H / h), ncols=legend_cols, fontsize=7,
                 frameon=False, borderaxespad=0, handlelength=3)
        return _png(f)
