"""Drawing a figure as PNG (matplotlib, Agg). Imports neither pandas nor the queries, so the
figure-drawing process (drawing.py) starts in half the time. PNG bytes depend only on the data:
fixed size, dpi, fonts and PNG metadata.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from functools import partial

import numpy as np

DASH = "–"  # a cell or figure without a value (the tables' reasons follow it)
FIXED_METADATA = {"Software": "adapterbench"}  # matplotlib writes its version otherwise


@dataclass
class Figure:
    """What a figure plots: panels of named lines (x, y[, yerr]); rendered by render_png."""
    title: str
    # {title, xlabel, ylabel, lines: [...]}; a line may add sizes (marker area per point,
    # drawn as points without a line) and style (matplotlib keywords over its default style)
    panels: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


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
MARKERS = ("o", "s", "^")  # ... and the next marker (scatter points have no line style)


def _styles(panels: list[dict]) -> dict[str, dict]:
    """label -> plot style, in order of first appearance (lines first, then reference lines)."""
    labels = list(dict.fromkeys([ln["label"] for p in panels for ln in p.get("lines", [])]))
    refs = list(dict.fromkeys([r["label"] for p in panels for r in p.get("hlines", [])]))
    styles = {lb: dict(color=f"C{i % 10}", ls=LINE_STYLES[i // 10 % 3],
                       marker=MARKERS[i // 10 % 3], ms=3, lw=1.2)
              for i, lb in enumerate(labels)}
    for i, lb in enumerate(refs):  # dashed, without markers; colours from C5 on as before
        styles.setdefault(lb, dict(color=f"C{(i + 5) % 10}", ls="--", lw=1))
    for ln in (ln for p in panels for ln in p.get("lines", []) if ln.get("style")):
        styles[ln["label"]].update(ln["style"])  # a line's own style (e.g. a Pareto front's)
    return styles


def _legend_entry_w(labels) -> float:
    """Width (inches) of the widest legend entry: handle, padding and ~0.055 in a character of
    DejaVu Sans at 7 pt (its average advance)."""
    return 0.5 + 0.055 * max((len(lb) for lb in labels), default=0)


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
        # Two legend columns a panel, fewer where long labels (config variants) would not fit;
        # the figure is wider than its panels where even one would not.
        entry_w = _legend_entry_w(styles)
        w = max(PANEL_W * cols, entry_w + 0.3)
        legend_cols = max(1, min(len(styles), 2 * cols, int(w // entry_w)))
        header = TITLE_H + LEGEND_ROW_H * int(np.ceil(len(styles) / legend_cols))
        top = header + PANEL_TITLE_H
        h = PANEL_H * rows + header
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
                if line.get("sizes"):  # points with a marker area each (points²), no line
                    ax.scatter(line["x"], line["y"], s=line["sizes"], color=style["color"],
                               marker=style["marker"], alpha=0.5, linewidths=0)
                    style = {**style, "ls": "none"}
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
