"""efficiency2023 figures: what the paper's "adapters are relatively expensive to train" rests on.

Both draw table01's comparisons (efficiency.comparisons): a sweep that trained multi-task full FT
is one (its methods share tasks, budget and machine; times of other sweeps, another budget or
host, never share its panels), a model without such a sweep is one of all its runs.

- figure01: dev score against training time, one line per method, a panel per model × task.
  Points are the evaluations during training (every epoch and every training.eval_every_steps),
  at the training seconds spent so far (evals.train_seconds: excluding evaluation and waits);
  each point is the mean over the seeds of the LR chosen on dev (Data.chosen) of the
  evaluation at the same step.
- figure02: a Pareto view of every method of a results directory, a panel per model × task:
  best dev score against the training time to reach it (runs' time_to_best_s, as table01),
  marker area growing with log(trainable parameters); the Pareto front (no other method is
  both faster and better) is ringed in black and joined by a dashed line.

The add-a-task experiment (multitask_add) is table03's, not a method here.
"""

from __future__ import annotations

import math

import pandas as pd

from pipeline.tables.core import Data, Decl, Figure, method_labels
from pipeline.tables.efficiency import comparisons

LEFT_OUT = ("multitask_add",)
KEYS = ["model", "objective", "method", "method_config", "task", "train_samples", "lr"]
FRONT = "Pareto front (faster and better than every other)"
# the front's points ringed in black (a one-point front has no line to see), joined by dashes
FRONT_STYLE = dict(color="black", ls="--", lw=0.8, marker="o", ms=12, mfc="none", mew=1.0)
AREA = (20.0, 300.0)  # marker area (points²) of the fewest and the most trainable parameters


def _chosen(data: Data, decl: Decl) -> pd.DataFrame:
    c = data.chosen(decl.direction)
    if c.empty:
        return c
    c = c[~c["method"].isin(LEFT_OUT)]
    return c.assign(method_config=c["method_config"].fillna(""))


def _panels(data: Data, chosen: pd.DataFrame, sweep: str | None = None):
    """(title, rows of one model × task, their method labels), in order."""
    for (model, objective, task), g in chosen.groupby(["model", "objective", "task"], sort=True):
        title = f"{model} {task}" + (f" ({objective})" if objective != "head" else "") + \
            (f", sweep {sweep}" if sweep else "")
        yield title, g, method_labels(g, data)


def _comparisons(data: Data, decl: Decl):
    """(sweep, its Data, its chosen rows of one model) per table01 comparison with any."""
    for model, sweep, part in comparisons(data):
        chosen = _chosen(part, decl)
        if not chosen.empty:
            yield sweep, part, chosen[chosen["model"] == model]


def _curves(data: Data, chosen: pd.DataFrame) -> pd.DataFrame:
    """Per chosen (KEYS) and evaluation (epoch, step): mean seconds and score over seeds."""
    e = data.evals
    if e.empty or "train_seconds" not in e:
        return pd.DataFrame(columns=KEYS + ["epoch", "step", "train_seconds", "score"])
    e = e[e["train_seconds"].notna() & e["dropped_layers"].fillna(0).eq(0)]
    r = data.runs[data.runs["status"] == "ok"]
    r = r.assign(objective=r["objective"].fillna("head"), train_samples=r["train_samples"].fillna(-1),
                 method_config=r["method_config"].fillna(""))
    e = e[["trial_key", "epoch", "step", "train_seconds", "score"]].merge(
        r[["trial_key"] + KEYS], on="trial_key").merge(chosen[KEYS], on=KEYS)
    return e.groupby(KEYS + ["epoch", "step"], sort=True, dropna=False)[
        ["train_seconds", "score"]].mean().reset_index()


def f01(data: Data, decl: Decl) -> list[Figure]:
    fig = Figure(decl.caption)
    for sweep, part, chosen in _comparisons(data, decl):
        _f01_panels(fig, part, chosen, sweep)
    return [fig]


def _f01_panels(fig: Figure, data: Data, chosen: pd.DataFrame, sweep: str | None) -> None:
    curves = {k: g.sort_values("train_seconds", kind="mergesort")
              for k, g in _curves(data, chosen).groupby(KEYS, sort=False, dropna=False)}
    for title, rows, labels in _panels(data, chosen, sweep):
        lines = []
        for row in rows[KEYS].itertuples(index=False):
            mine = curves.get(tuple(row))
            if mine is not None:
                lines.append(dict(label=labels[(row.method, row.method_config)],
                                  x=list(mine["train_seconds"]), y=list(100 * mine["score"])))
        if lines:
            fig.panels.append(dict(title=title, xlabel="training seconds (excl. evaluation)",
                                   ylabel="dev score", lines=sorted(lines, key=lambda ln: ln["label"])))


def pareto_front(points: list[tuple[float, float]]) -> list[int]:
    """Indices of the points (time, score) no other point dominates: none is at most as slow
    and at least as good while strictly better in one of the two. Sorted by time."""
    front = [i for i, (t, s) in enumerate(points)
             if not any(t2 <= t and s2 >= s and (t2 < t or s2 > s) for t2, s2 in points)]
    return sorted(front, key=lambda i: points[i])


def marker_areas(params: list[float]) -> list[float]:
    """Marker area per point, linear in log10(trainable parameters) between AREA's bounds over
    the given values (one value, or all equal: the middle area)."""
    logs = [math.log10(max(p, 1.0)) for p in params]
    lo, hi = min(logs, default=0.0), max(logs, default=0.0)
    if hi == lo:
        return [sum(AREA) / 2] * len(params)
    return [AREA[0] + (AREA[1] - AREA[0]) * (v - lo) / (hi - lo) for v in logs]


def f02(data: Data, decl: Decl) -> list[Figure]:
    fig = Figure(decl.caption)
    for sweep, part, chosen in _comparisons(data, decl):
        _f02_panels(fig, part, chosen, sweep)
    return [fig]


def _f02_panels(fig: Figure, data: Data, chosen: pd.DataFrame, sweep: str | None) -> None:
    chosen = chosen[chosen["time_to_best_s"].notna() & chosen["mean"].notna()]
    areas = dict(zip(chosen.index, marker_areas(list(chosen["trainable_params"].fillna(1)))))
    for title, rows, labels in _panels(data, chosen, sweep):
        points = list(zip(rows["time_to_best_s"], 100 * rows["mean"]))
        lines = [dict(label=labels[(m, c)], x=[t], y=[s], sizes=[areas[i]])
                 for i, m, c, (t, s) in zip(rows.index, rows["method"], rows["method_config"], points)]
        front = pareto_front(points)
        lines.append(dict(label=FRONT, x=[points[i][0] for i in front],
                          y=[points[i][1] for i in front],
                          style=FRONT_STYLE))
        fig.panels.append(dict(title=title,  # the caption says what marker area means
                               xlabel="time to best dev score (s)", ylabel="best dev score",
                               lines=lines))
