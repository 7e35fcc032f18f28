"""The score specs (issue 13): every one validates, and the CPU-sized ones fill the tables they
are for.

The CPU check builds, for every grid point of the shipped ``*_cpu.yaml`` score specs, the records
a trial writes (a run record; one eval per epoch; one eval per dropped-layer count when the
method's model carries an AdapterDrop hook, exactly when ``pipeline.trial`` evaluates them),
each with a fixed score, regenerates the tables from them and reads the target tables back: a
cell of a task the specs train must hold a number. Every other task column must be accounted
for, as unmirrored (checked against the data mirror) or as cut to fit the CPU time budget
(checked to be mirrored, and listed in the specs' comments and the README).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
from transformers import AutoConfig, AutoModelForSequenceClassification

import adapters
from pipeline import published as P
from pipeline.grid import expand
from pipeline.models import BUILTIN_CONFIGS, minilm_path
from pipeline.spec import load_spec
from pipeline.tables import regenerate
from pipeline.tables.regen import load_data
from pipeline.tables.registry import GLUE8, TABLES
from pipeline.tasks import TASKS, default_data_dir, load_split, needs_hub, train_source
from tables_records import evals, md_rows, run, write

SPECS = Path(__file__).resolve().parents[2] / "jobs" / "specs"
PAPER_SPECS = ["adapterdrop_scores_large", "adapterdrop_scores_small",
               "compacter_scores_glue_large", "compacter_scores_glue_small",
               "compacter_output_layer_glue_large", "compacter_output_layer_glue_small",
               "compacter_scores_superglue", "compacter_scores_superglue_multirc_record",
               "compacter_scores_t5small_large", "compacter_scores_t5small_small",
               *[f"compacter_lowresource_{n}" for n in (100, 500, 1000, 2000, 4000)]]
CPU_SPECS = ["adapterdrop_scores_cpu", "adapterdrop_fusion_scores_cpu", "compacter_scores_cpu",
             "compacter_superglue_scores_cpu", "compacter_lowresource_160_cpu",
             "compacter_lowresource_320_cpu"]

# Task columns of the target tables that the CPU specs do not train, and why.
UNMIRRORED = {"qqp", "mnli", "qnli", "boolq", "multirc", "record"}  # no training split offline
CUT_FOR_TIME = {"stsb", "cola", "mrpc", "rte", "wic"}  # mirrored, left out to fit the CPU budget
# Rows of the target tables the CPU specs leave out on purpose (README "Results" says why).
CUT_ROWS = {("compacter", "table06", f"intrinsic_said dimension={d}") for d in (500, 1250, 2500, 10000)}
# Tables the CPU specs do not target: (paper, table) -> why.
NOT_TARGETED = {
    ("compacter", "table07"): "T5's LM head trained too (train_output_layer, text2text): no T5 "
                              "weights offline, and MiniLM's classification head always trains",
    ("compacter", "table09"): "needs pretrained T5-small; no T5 weights offline",
}
MINILM_LAYERS = 6


@pytest.mark.parametrize("name", PAPER_SPECS)
def test_paper_scale_spec_validates_with_a_pretrained_model(name, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)  # large tasks come from the hub
    spec = load_spec(SPECS / f"{name}.yaml")
    # Scores need pretrained weights: never a random-init built-in config.
    assert spec.model not in BUILTIN_CONFIGS and spec.model != "minilm"
    if name.startswith("adapterdrop"):
        assert spec.model == "FacebookAI/roberta-base" and spec.seeds == (0, 1, 2)
    else:
        assert spec.model.startswith("google-t5/t5-")
        assert spec.training.objective == ("head" if "multirc" in name else "text2text")
        assert all(len(m.lrs) == 5 for m in spec.methods)  # Compacter App. A: five LRs each
    assert len(expand(spec)) > 0


@pytest.mark.parametrize("name", CPU_SPECS)
def test_cpu_spec_validates_offline(name, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    spec = load_spec(SPECS / f"{name}.yaml")
    assert spec.model == "minilm" and spec.training.objective == "head"


def test_output_layer_specs_are_table7s_rows_with_the_head_trained(monkeypatch):
    """Compacter Table 7: every paper row has a grid entry with train_output_layer, over the
    eight GLUE tasks of the two specs together."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    specs = [load_spec(SPECS / f"compacter_output_layer_glue_{s}.yaml") for s in ("large", "small")]
    assert sorted(t for s in specs for t in s.tasks) == sorted(P.COMPACTER_TASKS)
    for spec in specs:
        assert all(m.config["train_output_layer"] for m in spec.methods)
        rows = {f"{m.name} phm_dim={m.config['phm_dim']}" if "phm_dim" in m.config else m.name
                for m in spec.methods}
        assert rows == set(P.COMPACTER_TABLE7)


def test_untrained_and_cut_tasks_are_what_the_specs_say():
    root = default_data_dir()
    if root is None:
        pytest.skip("no data mirror")
    for name in UNMIRRORED:
        assert needs_hub(train_source(TASKS[name]), root), name
    for name in CUT_FOR_TIME:
        assert not needs_hub(train_source(TASKS[name]), root), name


# --- the CPU grid fills its tables ------------------------------------------------------------

def _minilm_meta_model():
    config = AutoConfig.from_pretrained(minilm_path(), num_labels=2)
    with torch.device("meta"):  # structure and counts only
        return AutoModelForSequenceClassification.from_config(config)


def _trial_shape(method: str, config: dict, memo: dict) -> tuple[int, int, int]:
    """(trainable, total, dropped-layer evals) of the model a trial builds for the method."""
    key = (method, json.dumps(config, sort_keys=True))
    if key not in memo:
        model = _minilm_meta_model()
        adapters.apply_method(model, method, config)
        trainable, total = adapters.count_parameters(model)
        drop = getattr(model, "adapter_layer_drop", None)  # pipeline/trial.py's condition
        memo[key] = (trainable, total, drop.depth if drop is not None else 0)
    return memo[key]


def _train_rows(task: str) -> int:
    return len(load_split(train_source(TASKS[task]), default_data_dir(), ["label"])["label"])


def _records_like_trials(points) -> tuple[list, list]:
    memo, sizes, runs, evs = {}, {}, [], []
    for p in points:
        trainable, total, depth = _trial_shape(p.method, p.method_config, memo)
        if p.task not in sizes:
            sizes[p.task] = _train_rows(p.task)
        epochs = p.training["epochs"]
        limit = p.training["max_train_samples"]
        r = run(p.method, p.lr, p.seed, 0.5, task=p.task, config=p.method_config, model=p.model,
                key=p.trial_key, best_epoch=epochs, epochs=epochs, trainable=trainable,
                total=total, train_samples=min(limit or sizes[p.task], sizes[p.task]))
        runs.append(dict(r, objective=p.training["objective"]))
        for epoch in range(1, epochs + 1):
            evs += evals(p.trial_key, p.method, p.task, {0: 0.5}, epoch=epoch, seed=p.seed, lr=p.lr)
        evs += evals(p.trial_key, p.method, p.task, {n: 0.5 for n in range(depth)}, epoch=epochs,
                     seed=p.seed, lr=p.lr)
        if p.method == "fusion" and p.method_config["source_tasks"]:  # pipeline/trial.py's rule
            k = p.method_config["num_adapters"]
            evs += [dict(row, n_fusion=n) for n in range(k, 0, -1)
                    for row in evals(p.trial_key, p.method, p.task, {0: 0.5}, epoch=epochs,
                                     seed=p.seed, lr=p.lr)]
    return runs, evs


@pytest.fixture(scope="module")
def cpu_tables(tmp_path_factory):
    if default_data_dir() is None:
        pytest.skip("no data mirror (the CPU specs read it)")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        points = [p for name in CPU_SPECS for p in expand(load_spec(SPECS / f"{name}.yaml"))]
    results = tmp_path_factory.mktemp("cpu-scores")
    runs, evs = _records_like_trials(points)
    write(results, "runs", runs)
    write(results, "evals", evs)
    regenerate(results)
    data, _ = load_data(results)
    # the tasks the score tables' methods train (AdapterFusion's targets fill Table 7 and
    # Figure 5 only, checked apart)
    tasks = {p.task for p in points if p.method != "fusion"}
    return results, data, tasks


def _header_and_rows(path: Path) -> tuple[list[str], dict]:
    lines = [line for line in path.read_text().splitlines() if line.startswith("| ")]
    header = [c.strip() for c in lines[0].strip().strip("|").split(" | ")]
    return header, md_rows(path)


def _is_dash(cell: str) -> bool:
    return cell.startswith("–")


def _check_task_columns(paper: str, table: str, header: list[str], tasks: set, columns) -> list:
    accounted = tasks | UNMIRRORED | CUT_FOR_TIME
    assert set(columns) <= accounted, f"{paper} {table}: unaccounted task columns {set(columns) - accounted}"
    return [header.index(t) - 1 for t in columns if t in tasks]


@pytest.mark.parametrize("table, tasks_of_table, published", [
    ("table01", P.COMPACTER_TASKS, P.COMPACTER_TABLE1),
    ("table02", P.SUPERGLUE_TASKS, P.COMPACTER_TABLE2),
    ("table06", P.COMPACTER_TASKS, P.COMPACTER_TABLE6),
])
def test_cpu_specs_fill_every_paper_row_of_the_compacter_score_tables(cpu_tables, table,
                                                                       tasks_of_table, published):
    results, _, tasks = cpu_tables
    header, rows = _header_and_rows(results / "tables" / "compacter" / f"{table}.md")
    idx = _check_task_columns("compacter", table, header, tasks, tasks_of_table)
    assert idx, "the CPU specs train none of this table's tasks"
    for key, row in published.items():
        if ("compacter", table, key) in CUT_ROWS:
            continue
        ours = [cells for name, cells in rows.items() if name.endswith(f"[{row.row}]")]
        assert ours, f"compacter {table}: no row beside the paper's {row.row!r}"
        for cells in ours:
            assert not _is_dash(cells[0]), f"{row.row}: no trained share"
            empty = [header[i + 1] for i in idx if _is_dash(cells[i])]
            assert not empty, f"compacter {table} {row.row!r}: '–' in {empty}"


def test_cpu_spec_fills_adapterdrop_tables_6_and_8(cpu_tables):
    results, _, tasks = cpu_tables
    header, t6 = _header_and_rows(results / "tables" / "adapterdrop" / "table06.md")
    for task in GLUE8:
        assert task in tasks | UNMIRRORED | CUT_FOR_TIME, task
        if task in tasks:
            assert not any(_is_dash(c) for c in t6[task]), (task, t6[task])
    assert not any(_is_dash(c) for c in t6["Params"])
    header, t8 = _header_and_rows(results / "tables" / "adapterdrop" / "table08.md")
    for label in ("Standard adapter", "Specialized AdapterDrop (12 models)", "Robust AdapterDrop"):
        cells = t8[label]
        # MiniLM has 6 layers: 0..5 dropped layers exist, 6..11 (RoBERTa's) cannot
        assert not any(_is_dash(c) for c in cells[:MINILM_LAYERS]), (label, cells)
        assert all(_is_dash(c) for c in cells[MINILM_LAYERS:]), (label, cells)


def test_cpu_specs_fill_the_score_figures(cpu_tables):
    _, data, tasks = cpu_tables
    decls = {(d.paper, d.id): d for d in TABLES}
    for fig_id in ("figure02", "figure13"):
        decl = decls[("adapterdrop", fig_id)]
        panels = decl.query(data, decl)[0].panels
        assert [p["title"] for p in panels] == [f"minilm {t}" for t in sorted(tasks & set(GLUE8))]
        for panel in panels:
            lines = {line["label"]: line["x"] for line in panel["lines"]}
            assert set(lines) == {"standard adapter", "12 specialized adapters", "AdapterDrop training"}
            # specialized n = 0 is the standard adapter (its own line)
            assert list(lines["12 specialized adapters"]) == list(range(1, MINILM_LAYERS))
            for label in ("standard adapter", "AdapterDrop training"):
                assert list(lines[label]) == list(range(MINILM_LAYERS)), (panel["title"], label)
    decl = decls[("compacter", "figure04")]
    panels = decl.query(data, decl)[0].panels
    curves = {p["title"]: {line["label"]: line["x"] for line in p["lines"]} for p in panels}
    for task in ("sst2",):  # the task of the low-resource specs
        lines = curves[f"minilm {task}"]
        assert lines["full"] == lines["compacterpp phm_dim=4"] == [160, 320, 640]
        assert set(lines) <= {"full", *(f"compacterpp phm_dim={n}" for n in (4, 8, 12))}


def test_cpu_spec_fills_adapterdrop_table_7_and_figure_5(cpu_tables):
    """Every Table 7 score cell (its four tasks are mirrored and trained), and one Figure 5
    panel per task with one pruning curve per fusion dropout, K = 5 .. 1 adapters kept."""
    results, data, _ = cpu_tables
    t7 = md_rows(results / "tables" / "adapterdrop" / "table07.md")
    for task in ("cola", "mrpc", "rte", "stsb"):
        assert not any(_is_dash(c) for c in t7[task]), (task, t7[task])
    decl = {(d.paper, d.id): d for d in TABLES}[("adapterdrop", "figure05")]
    panels = decl.query(data, decl)[0].panels
    assert [p["title"] for p in panels] == [f"minilm {t}" for t in ("cola", "mrpc", "rte", "stsb")]
    for panel in panels:
        assert [line["label"] for line in panel["lines"]] == \
            [f"AF, fusion dropout {p}%" for p in (0, 25, 50, 75)]
        assert all(list(line["x"]) == [1, 2, 3, 4, 5] for line in panel["lines"])


def test_untargeted_tables_are_the_declared_ones():
    declared = {(d.paper, d.id) for d in TABLES if any(s in ("runs", "evals") for s in d.sources)
                and d.paper in ("adapterdrop", "compacter") and d.id != "table03"}
    targeted = {("compacter", "table01"), ("compacter", "table02"), ("compacter", "table06"),
                ("adapterdrop", "table06"), ("adapterdrop", "table07"), ("adapterdrop", "table08"),
                ("adapterdrop", "figure05"),
                ("adapterdrop", "figure02"), ("adapterdrop", "figure13"), ("compacter", "figure04")}
    assert declared == targeted | set(NOT_TARGETED)


# --- which runs are AdapterDrop's standard adapter ------------------------------------------

def test_adapterdrop_with_no_dropped_layer_is_the_standard_adapter(tmp_path):
    """Trials evaluate every dropped-layer count only for models with an AdapterDrop hook, so
    the standard adapter of Table 8 / Figures 2, 13 is AdapterDrop with drop_first_n = 0; Table 6
    reads it as its standard column. Other adapters (Compacter's LN-trained Pfeiffer, its Houlsby
    AdapterDrop) are not AdapterDrop's setting and stay out."""
    std = run("adapterdrop", 1e-3, 0, 0.80, task="rte", config={"drop_first_n": 0}, key="std")
    other = run("pfeiffer", 1e-3, 0, 0.40, task="rte", key="ln",
                config={"reduction_factor": 16, "train_layer_norm": True})
    houlsby = run("adapterdrop", 1e-3, 0, 0.10, task="rte", key="h",
                  config={"architecture": "houlsby", "drop_first_n": 1})
    write(tmp_path, "runs", [std, other, houlsby])
    write(tmp_path, "evals", evals("std", "adapterdrop", "rte", {0: 0.80, 1: 0.60})
          + evals("ln", "pfeiffer", "rte", {0: 0.40}))
    regenerate(tmp_path)
    t8 = md_rows(tmp_path / "tables" / "adapterdrop" / "table08.md")
    assert t8["Standard adapter"][:2] == ["100.0 (100.0)", "75.0 (98.5)"]
    assert t8["Specialized AdapterDrop (12 models)"][1].startswith("–")  # the Houlsby one is out
    t6 = md_rows(tmp_path / "tables" / "adapterdrop" / "table06.md")
    assert t6["rte"][0] == "80.00 ± 0.00 (n=1) (75.9 ± 2.2)"


def test_specs_say_what_they_cut():
    """The cut tasks and rows are named in the CPU specs' comments (and the README)."""
    text = "\n".join((SPECS / f"{n}.yaml").read_text() for n in CPU_SPECS)
    for word in ("STS-B", "CoLA", "MRPC", "RTE", "WiC", "0.5K-10K", "QQP", "MNLI", "QNLI", "BoolQ"):
        assert re.search(re.escape(word), text), word
