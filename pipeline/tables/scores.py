"""Quality tables: dev scores per method and task, as the papers report them.

Statistics (both papers): the dev score at the best epoch of each run (the run record's
dev_score), mean ± std (ddof 1) over seeds at the learning rate chosen per method and task by
the best mean dev score (ties: the smaller LR), ×100.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from pipeline.tables.core import (DASH, Data, Decl, Table, best_key, method_labels, paper)

# Compacter Table 9's "small model" setting: the random-init built-in config (timing) and the
# pretrained hub model a score spec names (jobs/specs/compacter_scores_t5small_*.yaml).
SMALL_MODELS = ("t5-small", "google-t5/t5-small")


def score_text(mean, std, n) -> str:
    std = 0.0 if n < 2 or pd.isna(std) else std
    return f"{100 * mean:.2f} ± {100 * std:.2f} (n={int(n)})"


def selected(data: Data, decl: Decl, where: Callable[[pd.DataFrame], pd.Series] | None = None,
             tasks=None) -> pd.DataFrame:
    chosen = data.chosen(decl.direction)
    # Groups without a dev score (probe-only trials, epochs: 0) are no score: their cells read
    # "nan ± 0.00 (n=0)" and made a row's average nan.
    chosen = chosen[chosen["count"] > 0] if not chosen.empty else chosen
    if chosen.empty:
        return chosen
    if tasks is not None:
        chosen = chosen[chosen["task"].isin(tasks)]
    if where is not None and not chosen.empty:
        chosen = chosen[where(chosen)]
    return chosen


def total_multiple(share: float, n_tasks: int) -> float:
    """The paper's "#Total params": parameters stored for n_tasks tasks as a multiple of one
    model, when each task trains ``share`` of its model's parameters and shares the frozen rest
    (full fine-tuning, share 1: n_tasks models)."""
    return 1 + (n_tasks - 1) * share


def config_flag(data: Data, frame: pd.DataFrame, key: str, default=False) -> pd.Series:
    return frame["method_config"].map(lambda c: bool(data.config(c).get(key, default)))


def score_table(data: Data, decl: Decl, tasks: tuple[str, ...], where=None,
                model_note: str = "") -> list[Table]:
    """Rows: the paper's rows (in its order) with ours beside them, then our other rows."""
    chosen = selected(data, decl, where)
    pub = decl.published or {}
    tables = []
    # One table per model and training objective (head or text2text): never averaged together.
    pairs = sorted(set(zip(chosen["model"], chosen["objective"]))) if not chosen.empty else [(DASH, DASH)]
    for model, objective in pairs:
        mine = chosen[(chosen["model"] == model) & (chosen["objective"] == objective)] \
            if not chosen.empty else chosen
        labels = method_labels(mine, data) if not mine.empty else {}
        by_label: dict[str, pd.DataFrame] = {}
        keys_of: dict[str, str | None] = {}
        groups = {k: f for k, f in mine.assign(_cfg=mine["method_config"].fillna(""))
                  .groupby(["method", "_cfg"], sort=True)} if not mine.empty else {}
        first_by_task: dict[str, dict] = {}  # label -> {task: first row} (.loc per cell: slow)
        for (method, cfg), label in labels.items():
            by_label[label] = groups[(method, cfg)]
            first_by_task[label] = {}
            for r in by_label[label][["task", "mean", "std", "count", "lr"]].to_dict("records"):
                first_by_task[label].setdefault(r["task"], r)
            keys_of[label] = best_key(method, data.config(cfg), pub)
        extra = sorted(set(mine["task"]) - set(tasks)) if not mine.empty else []
        t = Table(f"{decl.paper} {decl.id} — model {model}, objective {objective}",
                  ["Method", "#Total params", "% trained params", *tasks, *extra, "Avg"])
        order = [(lbl, keys_of[lbl]) for key in pub for lbl in sorted(by_label) if keys_of[lbl] == key]
        order += [(None, key) for key in pub if key not in keys_of.values()]
        order += [(lbl, None) for lbl in sorted(by_label) if keys_of[lbl] is None]
        chosen_lr = []
        marks: set = set()
        for label, key in order:
            row_pub = pub.get(key) if key else None
            name = (label or DASH) + (f" [{row_pub.row}]" if row_pub else "")
            frame = by_label.get(label)
            p_total = paper(row_pub.total if row_pub else None)
            p_pct = paper(row_pub.pct if row_pub else None)
            if frame is not None and not frame.empty:
                share = np.nanmean(frame["trainable_params"] / frame["total_params"])
                row = [name, f"{total_multiple(share, len(tasks)):.3f}" + p_total,
                       f"{100 * share:.3f}" + p_pct]
            else:
                row = [name, DASH + p_total, DASH + p_pct]
            means = []
            marks.update(row_pub.marks.values() if row_pub else ())
            for task in (*tasks, *extra):
                p_txt = paper(row_pub.scores[task] + row_pub.marks.get(task, "")
                              if row_pub and task in row_pub.scores else None)
                r = first_by_task.get(label, {}).get(task)
                if r is None:
                    method = frame["method"].iloc[0] if frame is not None and not frame.empty else key.split()[0]
                    t.reasons.add(data.run_reason(model, method, task))
                    row.append(DASH + p_txt)
                    continue
                means.append(100 * r["mean"])
                row.append(score_text(r["mean"], r["std"], r["count"]) + p_txt)
                chosen_lr.append(f"{label}/{task}: lr={r['lr']:g}")
            row.append((f"{np.mean(means):.2f}" if means else DASH)
                       + (paper(row_pub.scores.get("avg")) if row_pub else ""))
            t.rows.append(row)
        t.notes += [
            "Ours (paper" + model_note + "). Dev score ×100 at the best epoch, mean ± std over "
            "seeds (n = seeds) at the LR chosen per method and task by the best mean dev score.",
            "Objective (title): text2text = T5 generates the label word, as the paper trains it "
            "(an output that is no label word counts as wrong); head = a classification head.",
            "Scores: CoLA Matthews; MRPC mean of F1 and accuracy (paper: acc/F1); STS-B mean of "
            "Pearson and Spearman (paper: both); others accuracy. Avg: over the tasks measured "
            "here (paper: over all its tasks).",
            "% trained params: trainable / total parameters of the model we trained, task head "
            "included. #Total params (as the paper): the parameters stored for all "
            f"{len(tasks)} tasks of the table, as a multiple of one model: the frozen parameters "
            f"once plus the trained ones {len(tasks)} times ((1 + {len(tasks) - 1} × share); "
            f"full fine-tuning: {len(tasks)}).",
            "Paper rows carry the config they were trained with (e.g. [Compacter (n=12)] = "
            "phm_dim 12); only runs of that config sit beside them, others get their own rows.",
            "LR chosen: " + ("; ".join(chosen_lr) if chosen_lr else "none"),
        ]
        t.notes += [f"{m}: the paper's footnote marker on that score, kept as printed (its "
                    "footnote text is not in papers/compacter-2021.txt)" for m in sorted(marks)]
        tables.append(t.finish())
    return tables
