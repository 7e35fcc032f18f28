"""AdapterDrop quality tables (6, 7, 8) and the per-dropped-layer scores behind Figures 2/13.

Run/eval conventions: every variant is the paper's adapter (App. A.2: Pfeiffer architecture,
compression 16, layer norms frozen); other configs (e.g. Compacter's Houlsby AdapterDrop) are not
read here. Standard adapter = method "pfeiffer", or "adapterdrop" with drop_first_n = 0 (the same
model; trials evaluate it with 0..L−1 dropped layers, which Table 8 and Figures 2/13 need);
cross-layer sharing = method "shared_adapter" with its reduction_factor; specialized AdapterDrop =
"adapterdrop" with drop_first_n = n > 0; robust = "adapterdrop" with robust = true; evals rows
carry the score at each evaluated dropped_layers value. AdapterFusion = method "fusion" with
fusion_dropout.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.published import ADAPTERDROP_TABLE7_SPEEDUP as SPEEDUP
from pipeline.tables.core import DASH, NOT_RUN, Data, Decl, Table, paper
from pipeline.tables.scores import score_text, selected

STANDARD = "pfeiffer"


def _cfg(data: Data, frame: pd.DataFrame, key: str, default=None) -> pd.Series:
    return frame["method_config"].map(lambda c: data.config(c).get(key, default))


def papers_adapter(config: dict) -> bool:
    """The adapter of AdapterDrop's score experiments (App. A.2): Pfeiffer, compression 16,
    frozen layer norms (the defaults of adapters/adapterdrop.py)."""
    return (config.get("architecture", "pfeiffer") == "pfeiffer"
            and float(config.get("reduction_factor", 16)) == 16
            and not config.get("train_layer_norm", False))


def variant(method: str, config: dict) -> str:
    """standard | specialized | robust | "" (not one of Table 8's variants)."""
    if method not in (STANDARD, "adapterdrop") or not papers_adapter(config):
        return ""
    if method == STANDARD:
        return "standard"
    if config.get("robust", False):
        return "robust"
    return "standard" if config.get("drop_first_n") == 0 else "specialized"


def t06(data: Data, decl: Decl) -> list[Table]:
    chosen = selected(data, decl, tasks=decl.rows)
    variants = {"standard-16": lambda f: pd.Series(
        [variant(m, data.config(c)) == "standard" for m, c in zip(f["method"], f["method_config"])],
        index=f.index, dtype=bool)}
    for v in decl.columns[1:]:
        rate = float(v.split("-")[1])
        variants[v] = (lambda r: lambda f: (f["method"] == "shared_adapter")
                       & (_cfg(data, f, "reduction_factor", 16).astype(float).round(2) == r))(rate)
    tables = []
    for model in (sorted(chosen["model"].unique()) if not chosen.empty else [DASH]):
        mine = chosen[chosen["model"] == model] if not chosen.empty else chosen
        t = Table(f"{decl.paper} {decl.id} — model {model}",
                  ["Task", "Standard (16)", "Shared 1.33", "Shared 4", "Shared 16"])
        sums = {v: [] for v in decl.columns}
        params = {v: None for v in decl.columns}
        for task in decl.rows:
            row = [task]
            for v in decl.columns:
                p = decl.published[task][v]
                hit = mine[variants[v](mine) & (mine["task"] == task)] if not mine.empty else mine
                if hit.empty:
                    t.reasons.add(NOT_RUN)
                    row.append(DASH + f" ({p[0]:.1f} ± {p[1]:.1f})")
                    continue
                r = hit.iloc[0]
                sums[v].append(100 * r["mean"])
                params[v] = r["trainable_params"]
                row.append(score_text(r["mean"], r["std"], r["count"]) + f" ({p[0]:.1f} ± {p[1]:.1f})")
            t.rows.append(row)
        t.rows.append(["Average"] + [(f"{np.mean(sums[v]):.2f}" if sums[v] else DASH)
                                     + paper(decl.published["avg"][v]) for v in decl.columns])
        t.rows.append(["Params"] + [(f"{params[v] / 1000:.0f}k" if params[v] else DASH)
                                    + paper(decl.published["params"][v]) for v in decl.columns])
        t.notes.append("Ours (paper, RoBERTa-base). Standard: Pfeiffer adapter, compression 16; "
                       "shared: one adapter for all layers (method shared_adapter). Dev ×100, "
                       "mean ± std over seeds at the LR chosen on dev. Params: ours include the "
                       "task head (the paper's exclude it).")
        tables.append(t.finish())
    return tables


def t07(data: Data, decl: Decl) -> list[Table]:
    # Only fusion over trained adapters has a score to report (a fusion over untrained,
    # identity adapters is timed, never scored here).
    chosen = selected(data, decl, lambda f: (f["method"] == "fusion") &
                      (_cfg(data, f, "source_tasks", ()).map(len) > 0), tasks=decl.rows)
    models = sorted(set(chosen["model"]) if not chosen.empty else set()
                    | {m for m, _ in data.probe_groups}) or [DASH]
    tables = []
    for model in models:
        mine = chosen[chosen["model"] == model] if not chosen.empty else chosen
        drop = _cfg(data, mine, "fusion_dropout", 0.0).astype(float) if not mine.empty else None
        t = Table(f"{decl.paper} {decl.id} — model {model}",
                  ["", *[f"{int(p * 100)}%" for p in decl.columns]])
        for task in decl.rows:
            row = [task]
            for p in decl.columns:
                pub = decl.published[task][p]
                hit = mine[(drop == p) & (mine["task"] == task)] if not mine.empty else mine
                if hit.empty:
                    t.reasons.add(data.run_reason(model, "fusion", task))
                    row.append(DASH + f" ({pub[0]:.1f} ± {pub[1]:.1f})")
                else:
                    r = hit.iloc[0]
                    row.append(score_text(r["mean"], r["std"], r["count"]) + f" ({pub[0]:.1f} ± {pub[1]:.1f})")
            t.rows.append(row)
        devices = [d for m, d in data.probe_groups if m == model] or [DASH]
        for k in (8, 16):
            for device in devices:
                t0 = data.time(model, device, "fusion", "train", 128, 32, n_fusion=k,
                               where=lambda c: float(c.get("fusion_dropout", 0.0)) == 0.0)
                row = [f"Speedup ({k})" + (f" {device}" if len(devices) > 1 else "")]
                for p in decl.columns:
                    pub = paper(SPEEDUP[k][p], 1, pct=True)
                    tp = data.time(model, device, "fusion", "train", 128, 32, n_fusion=k,
                                   where=lambda c, p=p: float(c.get("fusion_dropout", 0.0)) == p)
                    if p == 0.0:
                        row.append(DASH + pub)
                    elif t0 and tp:
                        row.append(f"{100 * (t0 / tp - 1):.1f}%" + pub)
                    else:
                        t.reasons.add(data.why_missing(model, device, ("fusion",), "train", 128,
                                                       32, n_fusion=k))
                        row.append(DASH + pub)
                t.rows.append(row)
        t.notes.append("Ours (paper, RoBERTa-base, 8 adapters). Dev ×100, mean ± std over seeds "
                       "at the LR chosen on dev. Speedup (K): t_train(dropout 0) / "
                       "t_train(dropout p) − 1 for AF over K adapters, batch 32, seq 128.")
        if not mine.empty:
            fused = sorted({tuple(c) for c in _cfg(data, mine, "source_tasks", ())})
            t.notes.append("Scores: AdapterFusion over the trained Pfeiffer adapters of "
                           + " / ".join(f"{len(f)} tasks ({', '.join(f)})" for f in fused)
                           + " (config source_tasks; the paper fuses all eight GLUE tasks).")
        tables.append(t.finish())
    return tables


def per_layer_scores(data: Data, direction: str = "higher") -> pd.DataFrame:
    """Score per (model, variant, task, dropped layers): mean ± std over the seeds of the chosen
    LR. Variants: standard (Pfeiffer evaluated with k adapters dropped), specialized (AdapterDrop
    trained and evaluated with drop_first_n = k: its run dev score), robust (AdapterDrop robust,
    evaluated at every k). A run's score at k: the eval at its best epoch, else its last eval
    at k. Computed once per regeneration (Table 8 and Figures 2 and 13 share it)."""
    return data.memo(("per_layer_scores", direction), lambda: _per_layer_scores(data, direction))


def _per_layer_scores(data: Data, direction: str) -> pd.DataFrame:
    chosen = data.chosen(direction)
    cols = ["model", "variant", "task", "dropped_layers", "mean", "std", "count"]
    if chosen.empty:
        return pd.DataFrame(columns=cols)
    runs = data.runs[data.runs["status"] == "ok"]
    runs = runs.merge(chosen[["model", "method", "method_config", "task", "lr"]],
                      on=["model", "method", "method_config", "task", "lr"])
    cfg = runs["method_config"].map(data.config)
    runs = runs.assign(variant=[variant(m, c) for m, c in zip(runs["method"], cfg)],
                       drop_n=cfg.map(lambda c: c.get("drop_first_n")))
    runs = runs[runs["variant"] != ""]
    parts = []
    spec = runs[runs["variant"] == "specialized"]
    if not spec.empty:
        n = spec["drop_n"].fillna(5).astype(int)  # adapters/adapterdrop.py: None -> 5
        parts.append(spec.assign(dropped_layers=n, score=spec["dev_score"]))
    ev_runs = runs[runs["variant"].isin(["standard", "robust"])]
    if not ev_runs.empty and not data.evals.empty:
        e = data.evals.merge(ev_runs[["trial_key", "model", "variant", "best_epoch"]],
                             on="trial_key", suffixes=("", "_run"))
        e = e.assign(is_best=(e["epoch"] == e["best_epoch"]).astype(int))
        e = e[e["n_fusion"].isna()].sort_values(["trial_key", "dropped_layers", "is_best", "epoch"],
                                                kind="mergesort")
        e = e.drop_duplicates(["trial_key", "dropped_layers"], keep="last")
        parts.append(e[["model", "variant", "task", "dropped_layers", "score", "trial_key"]])
    if not parts:
        return pd.DataFrame(columns=cols)
    allp = pd.concat([p[["model", "variant", "task", "dropped_layers", "score"]] for p in parts])
    g = allp.groupby(["model", "variant", "task", "dropped_layers"], sort=True)["score"]
    return g.agg(["mean", "std", "count"]).reset_index()


def retained(scores: pd.DataFrame, variant: str, k: int) -> float | None:
    """Table 8's cell: % of the standard adapter's score (no dropped layers) that ``variant``
    keeps with k dropped layers, per task, averaged over the tasks both have. ``scores``: the
    per_layer_scores rows of one model."""
    standard_0 = scores[(scores["variant"] == "standard") & (scores["dropped_layers"] == 0)]
    base = standard_0.set_index("task")["mean"]
    v = scores[scores["variant"] == variant]
    if variant == "specialized":  # n = 0 specialized is the standard adapter
        v = pd.concat([v, standard_0])
    at = v[v["dropped_layers"] == k].set_index("task")["mean"]
    tasks = sorted(set(at.index) & set(base.index))
    return float(np.mean([100 * at[x] / base[x] for x in tasks])) if tasks else None


def t08(data: Data, decl: Decl) -> list[Table]:
    s = per_layer_scores(data, decl.direction)
    tables = []
    for model in (sorted(s["model"].unique()) if not s.empty else [DASH]):
        mine = s[s["model"] == model]
        base = mine[(mine["variant"] == "standard") & (mine["dropped_layers"] == 0)].set_index("task")["mean"]
        t = Table(f"{decl.paper} {decl.id} — model {model}",
                  ["", *[str(k) for k in decl.columns]])
        for variant, label in decl.rows:
            row = [label]
            for k, pub in zip(decl.columns, decl.published[variant]):
                kept = retained(mine, variant, k)
                if kept is not None:
                    row.append(f"{kept:.1f}" + paper(pub, 1))
                else:
                    t.reasons.add(NOT_RUN)
                    row.append(DASH + paper(pub, 1))
            t.rows.append(row)
        t.notes.append("Ours (paper, RoBERTa-base, 8 GLUE tasks). % of the standard adapter's "
                       "score with no dropped layers, per task, averaged over the tasks measured "
                       "here: " + (", ".join(sorted(base.index)) or "none") + ".")
        tables.append(t.finish())
    return tables
