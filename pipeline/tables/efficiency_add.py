"""efficiency2023 table03: adding a task (Mundra et al. 2023's extensibility experiment).

The paper's claim (abstract): the maintainability/extensibility benefits of adapters "can be
achieved with simpler approaches like multi-task training via full fine-tuning". Two ways to
serve one more task:
- add it to a trained multi-task full FT model (method ``multitask_add``, pipeline/
  multitask_trial.py): train the new task's head and the shared body while replaying a share
  of the old tasks' data (config ``new_task``, ``replay``). Every record of the group has
  ``add_time_s`` (training seconds of the addition), old tasks' records ``score_before_add``
  (end of the first stage) and ``dev_score`` = the final model's, so forgetting is
  before − after;
- train one new single-task model for it (each adapter method's, and full FT's, runs of that
  task): the old tasks' adapters are untouched, so nothing is forgotten by construction.

LR: a multi-task group is one grid point (one LR, one seed); its LR is chosen by the mean over
seeds of the mean final dev score over all its tasks (old and new); single-task rows use
Data.chosen as every other table. Cells are means over the chosen LR's seeds.
"""

from __future__ import annotations

import pandas as pd

from pipeline.tables.core import DASH, NOT_RUN, Data, Decl, Table, fmt, method_labels

ADD_TASK = "multitask_add"
COLUMNS = ["Method", "Time to add the task (s)", "New task score", "Old tasks: before → after",
           "Forgetting (points)", "Storage added (MB)"]
NOT_RECORDED = ("not recorded: the multitask_add records lack this figure (add_time_s, "
                "score_before_add, storage_params: schema 6; or the new task's record)")
NO_ADD = ("not run: no multitask_add records (a spec method multitask_add with config "
          "new_task and replay)")


def _groups(data: Data) -> pd.DataFrame:
    """One row per ok multitask_add group (grid point): model, objective, method_config, lr,
    new task, old tasks and the group's figures (scores × 100)."""
    r = data.runs
    r = r[(r["status"] == "ok") & (r["method"] == ADD_TASK)]
    rows = []
    for _, g in r.groupby(r["group_key"].fillna(r["trial_key"]), sort=True):
        first = g.iloc[0]
        new = data.config(first["method_config"]).get("new_task")
        if new is None:  # the record without a score before the addition is the new task's
            new = next(iter(g.loc[g["score_before_add"].isna(), "task"]), None)
        old = g[g["task"] != new]
        rows.append(dict(
            model=first["model"], objective=_text(first["objective"], "head"),
            method_config=_text(first["method_config"], ""), lr=first["lr"], new_task=new,
            old_tasks=", ".join(sorted(old["task"])), add_time_s=first["add_time_s"],
            mean_dev=g["dev_score"].mean(),
            new_score=100 * g.loc[g["task"] == new, "dev_score"].mean(),
            before=100 * old["score_before_add"].mean(), after=100 * old["dev_score"].mean(),
            storage_mb=g["storage_params"].sum(min_count=1) * 4 / 1e6))
    return pd.DataFrame(rows)


def _text(value, default: str) -> str:
    return default if pd.isna(value) else value


def _chosen_groups(groups: pd.DataFrame) -> pd.DataFrame:
    """Per (model, objective, method_config, new task): the LR with the best mean over seeds
    of the groups' mean dev score (ties: the smaller LR), and the means of its seeds."""
    keys = ["model", "objective", "method_config", "new_task"]
    by_lr = groups.groupby(keys + ["old_tasks", "lr"], sort=True, dropna=False).mean(
        numeric_only=True).reset_index()
    best = by_lr.sort_values(["mean_dev", "lr"], ascending=[False, True], kind="mergesort")
    return best.drop_duplicates(keys).sort_values(keys, kind="mergesort")


def t03(data: Data, decl: Decl) -> list[Table]:
    groups = _groups(data)
    if groups.empty:
        t = Table(f"{decl.paper} {decl.id}", COLUMNS, [[DASH] * len(COLUMNS)])
        t.reasons.add(NO_ADD)
        return [t.finish()]
    chosen = data.chosen(decl.direction)
    picked = _chosen_groups(groups)
    tables = []
    for (model, objective, new), adds in picked.groupby(["model", "objective", "new_task"],
                                                        sort=True):
        t = Table(f"{decl.paper} {decl.id} — model {model}, new task {new} (old: "
                  f"{', '.join(sorted(set(adds['old_tasks'])))})", COLUMNS)
        labels = method_labels(adds.assign(method=ADD_TASK), data)
        for a in adds.itertuples(index=False):
            replay = data.config(a.method_config).get("replay", 0.0)
            label = labels[(ADD_TASK, a.method_config)]
            label = "add to multi-task full FT" + label[len(ADD_TASK):] + \
                ("" if "replay=" in label else f" replay={replay}")
            row = [label, fmt(a.add_time_s, 1), fmt(a.new_score),
                   f"{fmt(a.before)} → {fmt(a.after)}", fmt(a.before - a.after),
                   fmt(a.storage_mb, 3)]
            if any(DASH in c for c in row[1:]):
                t.reasons.add(NOT_RECORDED)
            t.rows.append(row)
        single = chosen[(chosen["model"] == model) & (chosen["objective"] == objective)
                        & (chosen["task"] == new) & ~chosen["method"].str.startswith("multitask")]
        single_labels = method_labels(single, data)
        for s in single.sort_values(["method"], key=lambda m: m != "full", kind="mergesort") \
                .itertuples(index=False):
            params = s.total_params if s.method == "full" else s.trainable_params
            t.rows.append([f"new single-task {single_labels[(s.method, _text(s.method_config, ''))]}",
                           fmt(s.train_time_s, 1), fmt(100 * s.mean), "unchanged",
                           "0.00", fmt(params * 4 / 1e6, 3)])
        if single.empty:
            t.rows.append(["new single-task adapter"] + [DASH] * (len(COLUMNS) - 1))
            t.reasons.add(NOT_RUN + f" (single-task runs of {new})")
        t.notes.append(
            "Time to add: multi-task, the training seconds of the addition stage (add_time_s: "
            "the new task plus the replayed share of the old ones, every epoch); single-task, "
            "the new model's whole training (train_time_s). Scores × 100 on each task's dev "
            "set; old tasks: their mean before the addition (end of the first stage) → after "
            "it (the final model); forgetting = before − after. A single-task model leaves the "
            "old tasks' models untouched: nothing is forgotten.")
        t.notes.append(
            "Storage added (fp32): multi-task, the whole updated model (the shared body is "
            "retrained, so it replaces the stored one: Σ storage_params of the group's "
            "records = the body + every head); single-task, its trained parameters (adapter "
            "+ head; full FT: the whole model). The paper gives no numbers in its abstract, so "
            "this table has no paper column.")
        tables.append(t.finish())
    return tables
