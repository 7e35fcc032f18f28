"""efficiency2023 tables 2-3 and figures 1-2 on hand-made records with hand-computed answers."""

import json

import pytest

from pipeline.tables import regenerate
from pipeline.tables.efficiency_figures import marker_areas, pareto_front
from tables_records import md_rows, run, write


def _md(tmp_path, table):
    return tmp_path / "tables" / "efficiency2023" / f"{table}.md"


def _xling(r, scores):
    return {**r, "xling_scores": json.dumps(scores, sort_keys=True),
            "xling_mean": sum(scores.values()) / len(scores)}


def test_zero_shot_table_per_language_with_lr_chosen_on_dev(tmp_path):
    write(tmp_path, "runs", [
        # full, LR 1e-4 (chosen: dev 82 on average): de 72, en 82, fr 62, mean 72
        _xling(run("full", 1e-4, 0, 0.80, task="xnli"), {"en": 0.80, "de": 0.70, "fr": 0.60}),
        _xling(run("full", 1e-4, 1, 0.84, task="xnli"), {"en": 0.84, "de": 0.74, "fr": 0.64}),
        # a worse LR on dev: its (high) zero-shot scores must not appear
        _xling(run("full", 1e-3, 0, 0.70, task="xnli"), {"de": 0.99, "en": 0.99, "fr": 0.99}),
        # an adapter evaluated on two of the three languages: fr and the mean are "–"
        _xling(run("pfeiffer", 1e-3, 0, 0.78, task="xnli"), {"en": 0.78, "de": 0.50}),
        # multi-task full FT: its xnli member scored in de and fr (pipeline/multitask_trial.py)
        _xling(run("multitask_full", 1e-4, 0, 0.81, task="xnli"), {"de": 0.71, "fr": 0.65}),
        run("full", 1e-4, 0, 0.90, task="sst2"),  # no zero-shot: no sst2 table
    ])
    regenerate(tmp_path)
    md = _md(tmp_path, "table02").read_text()
    assert "| Method | Dev (en, selection) | de | en | fr | Mean |" in md
    assert "task sst2" not in md
    rows = md_rows(_md(tmp_path, "table02"))
    assert rows["full"] == ["82.00", "72.00", "82.00", "62.00", "72.00"]
    assert rows["pfeiffer"] == ["78.00", "50.00", "78.00", "–", "–"]
    assert rows["multitask_full"] == ["81.00", "71.00", "–", "65.00", "–"]
    assert rows["multitask_adapter"] == ["–"] * 5
    assert list(rows)[1:] == ["full", "pfeiffer", "multitask_full", "multitask_adapter"]
    for reason in ("not evaluated: the run's training.eval_languages", "mean left out",
                   "not run: no records"):
        assert f"- –: {reason}" in md


def _add(task, lr, seed, score, before, storage, add_time, group):
    r = run("multitask_add", lr, seed, score, task=task,
            config={"new_task": "conll2003", "replay": 0.2}, key=f"{group}:{task}")
    return {**r, "group_key": group, "group_tasks": json.dumps(["sst2", "rte", "conll2003"]),
            "storage_params": storage, "add_time_s": add_time, "score_before_add": before}


def test_adding_a_task_time_scores_forgetting_and_storage(tmp_path):
    write(tmp_path, "runs", [
        # two seeds of the chosen LR: old tasks before (90+70)/2, (92+72)/2 -> 81; after
        # (85+69)/2, (89+67)/2 -> 77.5; forgetting 3.5; new task (60+64)/2; time (30+34)/2
        _add("sst2", 1e-4, 0, 0.85, 0.90, 100_000, 30.0, "g0"),
        _add("rte", 1e-4, 0, 0.69, 0.70, 100_000, 30.0, "g0"),
        _add("conll2003", 1e-4, 0, 0.60, None, 50_000, 30.0, "g0"),
        _add("sst2", 1e-4, 1, 0.89, 0.92, 100_000, 34.0, "g1"),
        _add("rte", 1e-4, 1, 0.67, 0.72, 100_000, 34.0, "g1"),
        _add("conll2003", 1e-4, 1, 0.64, None, 50_000, 34.0, "g1"),
        # a worse LR (mean dev over its tasks 10): left out
        *[_add(t, 1e-3, 0, 0.10, 0.5, 1, 999.0, "g2") for t in ("sst2", "rte", "conll2003")],
        # one new single-task model for the new task (adapter: trained parameters; full: all)
        run("pfeiffer", 1e-3, 0, 0.58, task="conll2003", train_time_s=40.0, trainable=25_000),
        run("full", 1e-4, 0, 0.66, task="conll2003", train_time_s=50.0, total=1_000_000),
        run("houlsby", 1e-3, 0, 0.70, task="sst2"),  # not the new task: no row
    ])
    regenerate(tmp_path)
    rows = md_rows(_md(tmp_path, "table03"))
    # storage: (100k + 100k + 50k) params × 4 bytes = 1.000 MB (the whole updated model)
    assert rows["add to multi-task full FT replay=0.2"] == [
        "32.0", "62.00", "81.00 → 77.50", "3.50", "1.000"]
    assert rows["new single-task full"] == ["50.0", "66.00", "unchanged", "0.00", "4.000"]
    assert rows["new single-task pfeiffer"] == ["40.0", "58.00", "unchanged", "0.00", "0.100"]
    assert len(rows) == 4  # header + the three rows
    assert "new task conll2003 (old: rte, sst2)" in _md(tmp_path, "table03").read_text()


def test_adding_a_task_without_records_says_why(tmp_path):
    write(tmp_path, "runs", [run("full", 1e-4, 0, 0.9)])
    regenerate(tmp_path)
    md = _md(tmp_path, "table03").read_text()
    assert "| – | – | – | – | – | – |" in md and "- –: not run: no multitask_add records" in md


def _evals(key, method, points, lr, seed, task="sst2"):
    return [dict(sweep="s", trial_key=key, method=method, task=task, lr=lr, seed=seed, epoch=1,
                 step=step, dropped_layers=0, metric="accuracy", score=score, train_seconds=secs)
            for step, secs, score in points]


def test_score_against_training_time_one_line_per_method(tmp_path):
    from pipeline.tables.efficiency_figures import f01
    from pipeline.tables.regen import load_data
    from pipeline.tables.registry import TABLES

    write(tmp_path, "runs", [run("full", 1e-4, s, 0.9, key=f"f{s}") for s in (0, 1)]
          + [run("full", 1e-3, 0, 0.5, key="worse"), run("pfeiffer", 1e-3, 0, 0.8, key="p")])
    write(tmp_path, "evals", _evals("f0", "full", [(5, 10.0, 0.6), (10, 20.0, 0.8)], 1e-4, 0)
          + _evals("f1", "full", [(5, 12.0, 0.7), (10, 22.0, 0.9)], 1e-4, 1)
          + _evals("worse", "full", [(5, 1.0, 0.1)], 1e-3, 0)
          + _evals("p", "pfeiffer", [(5, 8.0, 0.5), (10, 16.0, 0.75)], 1e-3, 0)
          # a zero-shot / dropped-layer evaluation has no training seconds: not a point
          + [dict(_evals("p", "pfeiffer", [(None, None, 0.99)], 1e-3, 0)[0], language="de")])
    data, _ = load_data(tmp_path)
    decl = next(d for d in TABLES if (d.paper, d.id) == ("efficiency2023", "figure01"))
    (panel,) = f01(data, decl)[0].panels
    assert panel["title"] == "m sst2"
    # full: the two seeds' evaluations at each step averaged: (11 s, 65), (21 s, 85)
    assert [(ln["label"], ln["x"], pytest.approx(ln["y"])) for ln in panel["lines"]] == [
        ("full", [11.0, 21.0], [65.0, 85.0]), ("pfeiffer", [8.0, 16.0], [50.0, 75.0])]


def test_pareto_front_uses_recorded_time_to_best(tmp_path):
    from pipeline.tables.efficiency_figures import FRONT, f02
    from pipeline.tables.regen import load_data
    from pipeline.tables.registry import TABLES

    def timed(method, score, time_to_best, params, **kw):
        return {**run(method, 1e-3, 0, score, trainable=params, total=1_000_000, **kw),
                "time_to_best_s": time_to_best}

    write(tmp_path, "runs", [
        # full: the epoch estimate would be 300 × 2/2 = 300 s; the record says 100 s
        timed("full", 0.90, 100.0, 1_000_000, train_time_s=300.0),
        timed("pfeiffer", 0.85, 60.0, 10_000),
        timed("houlsby", 0.80, 80.0, 30_000),  # slower and worse than pfeiffer: dominated
        timed("compacter", 0.95, 200.0, 1_000),
    ])
    data, _ = load_data(tmp_path)
    decl = next(d for d in TABLES if (d.paper, d.id) == ("efficiency2023", "figure02"))
    (panel,) = f02(data, decl)[0].panels
    lines = {ln["label"]: ln for ln in panel["lines"]}
    assert (lines["full"]["x"], lines["full"]["y"]) == ([100.0], [90.0])
    assert list(zip(lines[FRONT]["x"], lines[FRONT]["y"])) == [(60.0, 85.0), (100.0, 90.0),
                                                               (200.0, 95.0)]
    # areas linear in log10(params) from 20 (1k) to 300 (1M): 10k -> 20 + 280/3
    assert lines["compacter"]["sizes"] == [20.0] and lines["full"]["sizes"] == [300.0]
    assert abs(lines["pfeiffer"]["sizes"][0] - (20 + 280 / 3)) < 1e-9
    regenerate(tmp_path)
    assert (tmp_path / "figures/efficiency2023/figure02.png").read_bytes()[:4] == b"\x89PNG"
    t1 = md_rows(_md(tmp_path, "table01"))
    assert t1["full fine-tuning"][0] == "100.0" and t1["pfeiffer"][0] == "60.0"
    assert "the run records' time_to_best_s" in _md(tmp_path, "table01").read_text()


def test_pareto_front_membership_with_ties():
    # (time, score): ties are both on the front; a point equal in time but worse is not
    points = [(5.0, 70.0), (5.0, 70.0), (5.0, 60.0), (3.0, 50.0), (9.0, 70.0), (10.0, 80.0)]
    assert pareto_front(points) == [3, 0, 1, 5]
    assert marker_areas([42, 42]) == [160.0, 160.0]


def test_table01_multitask_records_per_task_time_and_storage(tmp_path):
    def mt(task, time_to_best):
        r = run("multitask_full", 1e-4, 0, 0.8, task=task, key=f"g:{task}", total=1000)
        return {**r, "group_key": "g", "group_tasks": json.dumps(["sst2", "rte"]),
                "time_to_best_s": time_to_best, "storage_params": 600}

    write(tmp_path, "runs", [mt("sst2", 80.0), mt("rte", 100.0),
                             run("multitask_add", 1e-4, 0, 0.5, key="a:sst2")])  # table03's
    regenerate(tmp_path)
    rows = md_rows(_md(tmp_path, "table01"))
    # the group's seconds per task: (80 / 2 + 100 / 2) / 2 = 45; storage 600 params × 4 bytes
    assert rows["multi-task full fine-tuning"][0] == "45.0"
    assert rows["multi-task full fine-tuning"][4] == "0.002"
    assert "multitask_add" not in rows


def test_table01_compares_within_the_sweep_that_trained_multitask(tmp_path):
    """A results directory holding the efficiency2023 sweep and another sweep of the same model
    gets one table01 for the efficiency2023 sweep, with only its runs: another sweep's method
    (houlsby) and its full FT run (another score, another budget) stay out."""
    def in_sweep(sweep, r, **kw):
        return {**r, "sweep": sweep, "trial_key": f"{sweep}:{r['trial_key']}",
                "time_to_best_s": 10.0, **kw}

    mt = {**run("multitask_full", 1e-4, 0, 0.7, key="g:sst2"), "group_key": "g",
          "group_tasks": json.dumps(["sst2"])}
    write(tmp_path, "runs", [
        in_sweep("eff", run("full", 1e-4, 0, 0.80)),
        in_sweep("eff", run("pfeiffer", 1e-3, 0, 0.75)),
        in_sweep("eff", mt),
        in_sweep("other", run("full", 1e-4, 0, 0.60, train_time_s=999.0)),
        in_sweep("other", run("houlsby", 1e-3, 0, 0.65)),
    ])
    regenerate(tmp_path)
    text = _md(tmp_path, "table01").read_text()
    assert "model m, sweep eff" in text and "sweep other" not in text
    rows = md_rows(_md(tmp_path, "table01"))
    assert set(rows) >= {"full fine-tuning", "pfeiffer", "multi-task full fine-tuning"}
    assert "houlsby" not in rows
    assert rows["full fine-tuning"][5] == "80.00"  # sweep eff's full FT alone, not (80 + 60) / 2


def test_figures_draw_each_multitask_sweep_apart_from_other_sweeps(tmp_path):
    """Figures 1 and 2 follow table01's comparisons: a panel per sweep that trained multi-task
    full FT, holding only that sweep's runs (another sweep's times come from another budget or
    host: on the committed records, a full FT point 7× faster on a newer host shared a panel)."""
    from pipeline.tables.efficiency_figures import f01, f02
    from pipeline.tables.regen import load_data
    from pipeline.tables.registry import TABLES

    def in_sweep(sweep, r, time_to_best):
        return {**r, "sweep": sweep, "trial_key": f"{sweep}:{r['trial_key']}",
                "time_to_best_s": time_to_best}

    mt = {**run("multitask_full", 1e-4, 0, 0.7, key="g:sst2"), "group_key": "g",
          "group_tasks": json.dumps(["sst2"])}
    runs = [in_sweep("eff", run("full", 1e-4, 0, 0.80), 100.0),
            in_sweep("eff", run("pfeiffer", 1e-3, 0, 0.75), 60.0),
            in_sweep("eff", mt, 90.0),
            in_sweep("other", run("full", 1e-4, 0, 0.60), 14.0),
            in_sweep("other", run("houlsby", 1e-3, 0, 0.65), 9.0)]
    write(tmp_path, "runs", runs)
    write(tmp_path, "evals", [dict(sweep=r["sweep"], trial_key=r["trial_key"], method=r["method"],
                                   task="sst2", lr=r["lr"], seed=0, epoch=1, step=5,
                                   dropped_layers=0, metric="accuracy", score=r["dev_score"],
                                   train_seconds=r["time_to_best_s"]) for r in runs])
    data, _ = load_data(tmp_path)
    decls = {d.id: d for d in TABLES if d.paper == "efficiency2023"}
    (pareto,) = f02(data, decls["figure02"])[0].panels
    assert pareto["title"].startswith("m sst2, sweep eff")
    points = {ln["label"]: (ln["x"], ln["y"]) for ln in pareto["lines"]}
    assert points["full"] == ([100.0], [80.0]) and "houlsby" not in points
    (curves,) = f01(data, decls["figure01"])[0].panels
    assert curves["title"] == "m sst2, sweep eff"
    assert {ln["label"] for ln in curves["lines"]} == {"full", "pfeiffer", "multitask_full"}
