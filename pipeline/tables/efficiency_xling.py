"""efficiency2023 table02: cross-lingual zero-shot score per language and method.

Mundra et al. 2023 evaluate every method "in supervised and cross-lingual zero-shot settings":
train on the task's training language (English), select on its dev set, then score the same
model on the task's data in other languages. Here, per model × task: one row per method (config
variants apart, multi-task full FT and multi-task adapters included), one column per evaluated
language, and their mean. The LR is the one chosen on the training-language dev score
(Data.chosen, as every other table); a cell is the mean over that LR's seeds.

The scores come from the run records' ``xling_scores`` ({language: score}, written by
pipeline/trial.py from the zero-shot eval rows, one per language in training.eval_languages):
the run names exactly its zero-shot rows, whereas the eval records also hold the training
language's dev evaluations under the same language code.
"""

from __future__ import annotations

import pandas as pd

from pipeline.tables.core import DASH, Data, Decl, Table, config_of, fmt, method_labels
from pipeline.tasks import TASKS

MULTITASK_ROWS = ("multitask_full", "multitask_adapter")  # always shown, "–" until run
LEFT_OUT = ("multitask_add",)  # the add-a-task experiment: table03
NOT_EVALUATED = ("not evaluated: the run's training.eval_languages did not include this "
                 "language (zero-shot scores exist only for the languages a spec lists)")
NO_TASK = ("no run of this results directory was evaluated zero-shot (training.eval_languages "
           "on a multilingual task: " + ", ".join(t for t in sorted(TASKS) if TASKS[t].languages)
           + ")")
PARTIAL_MEAN = ("mean left out: the row lacks some of the table's languages, so its mean would "
                "not be comparable with the other rows'")


def _scores(data: Data, chosen: pd.DataFrame) -> dict:
    """(model, objective, method, method_config, task) -> {language: mean score over the seeds
    of the chosen LR}, from the ok runs' xling_scores."""
    r = data.runs
    if chosen.empty or "xling_scores" not in r:
        return {}
    r = r[(r["status"] == "ok") & r["xling_scores"].notna()]
    r = r.assign(objective=r["objective"].fillna("head"), train_samples=r["train_samples"].fillna(-1),
                 method_config=r["method_config"].fillna(""))
    keys = ["model", "objective", "method", "method_config", "task", "train_samples", "lr"]
    picked = chosen.assign(method_config=chosen["method_config"].fillna(""))[keys]
    r = r.merge(picked, on=keys)  # only the runs of the chosen LR (and largest training set)
    out: dict = {}
    for row in r.itertuples(index=False):
        by_lang = config_of(row.xling_scores)  # a JSON object, as method_config
        key = (row.model, row.objective, row.method, row.method_config, row.task)
        for lang, score in by_lang.items():
            out.setdefault(key, {}).setdefault(lang, []).append(float(score))
    return {k: {lang: sum(v) / len(v) for lang, v in langs.items()} for k, langs in out.items()}


def _languages(task: str, found: set) -> list[str]:
    """The task's own language order (pipeline/tasks.py), then any other found, sorted."""
    order = [lang for lang in getattr(TASKS.get(task), "languages", ()) if lang in found]
    return order + sorted(found - set(order))


def t02(data: Data, decl: Decl) -> list[Table]:
    chosen = data.chosen(decl.direction)
    scores = _scores(data, chosen)
    panels = sorted({k[:2] + k[4:] for k in scores})  # (model, objective, task) with any score
    if not panels:
        t = Table(f"{decl.paper} {decl.id}", ["Method", "Zero-shot languages"], [[DASH, DASH]])
        t.reasons.add(NO_TASK)
        return [t.finish()]
    tables = []
    for model, objective, task in panels:
        mine = chosen[(chosen["model"] == model) & (chosen["objective"] == objective)
                      & (chosen["task"] == task) & ~chosen["method"].isin(LEFT_OUT)]
        labels = method_labels(mine, data)
        found = {lang for k, v in scores.items() if k[:2] + k[4:] == (model, objective, task)
                 for lang in v}
        langs = _languages(task, found)
        train_lang = getattr(TASKS.get(task), "train_language", "training language")
        t = Table(f"{decl.paper} {decl.id} — model {model}, task {task}"
                  + (f" ({objective})" if objective != "head" else ""),
                  ["Method", f"Dev ({train_lang}, selection)"] + langs + ["Mean"])
        rows = [(labels[(m, c)], m, c, 100 * s)
                for m, c, s in zip(mine["method"], mine["method_config"].fillna(""), mine["mean"])]
        rows.sort(key=lambda x: (x[1] != "full", x[1] in MULTITASK_ROWS, x[0]))
        for method in MULTITASK_ROWS:
            if method not in set(mine["method"]):
                rows.append((method, method, None, None))
        for label, method, config, dev in rows:
            if config is None:  # no ok run of this method for the task
                t.reasons.add(data.run_reason(model, method, task))
                t.rows.append([label] + [DASH] * (len(langs) + 2))
                continue
            got = scores.get((model, objective, method, config, task), {})
            cells = []
            for lang in langs:
                if lang in got:
                    cells.append(fmt(100 * got[lang]))
                else:
                    cells.append(DASH)
                    t.reasons.add(NOT_EVALUATED)
            if got and len(got.keys() & set(langs)) == len(langs):
                mean = fmt(100 * sum(got[lang] for lang in langs) / len(langs))
            else:
                mean = DASH
                t.reasons.add(PARTIAL_MEAN if got else NOT_EVALUATED)
            t.rows.append([label, fmt(dev)] + cells + [mean])
        t.notes.append("Zero-shot: the model trained and selected (LR by mean dev score over "
                       f"seeds) on {train_lang}, scored on the task's data in each language; "
                       "mean over the chosen LR's seeds; scores × 100. The paper (abstract) "
                       "reports that adapters bring no efficiency gain here either; it gives "
                       "no numbers in its abstract, so this table has no paper column.")
        tables.append(t.finish())
    return tables
