"""Results tables, regenerated from the Parquet records alone (never from MLflow).

Each table is declared once in ``TABLES`` (id, paper, caption, the function that queries the
records). Output: results/tables/<paper>/<id>.{md,csv} and results/tables/index.md. Files are
built in a temporary directory and renamed into place; the same records give byte-identical files.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import statistics
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from pipeline.published import ADAPTERDROP_TABLE1, COMPACTER_TABLE1, COMPACTER_TASKS
from tracking.records import read_records

DASH = "–"


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TableDecl:
    id: str
    paper: str
    caption: str
    build: Callable[[dict], list[Table]]  # records by kind -> one table per (model, device)
    records: tuple[str, ...]  # record kinds it reads (for the index)


def _fmt(x: float, digits: int = 2) -> str:
    return f"{x:.{digits}f}"


# --- AdapterDrop Table 1: relative speed of adapters vs full fine-tuning ------------------------

PHASE_LABEL = {"train": "Training", "inference": "Inference"}


def adapterdrop_table1(records: dict) -> list[Table]:
    """Relative speed = t_full / t_method (AdapterDrop A.1), per (seq_len, batch) cell, from the
    median over probe rows of each row's median step time. Only exclusive, ok probes count."""
    times = defaultdict(list)  # (model, device, phase, method, cell) -> [median_ms]
    ooms = set()
    for r in records["probes"]:
        key = (r["model"], r["device"], r["phase"], r["method"], (r["seq_len"], r["batch_size"]))
        if r["status"] == "oom":
            ooms.add(key)
        elif r["status"] == "ok" and r["exclusive"] and r["n_tasks"] == 1 and not r["dropped_layers"]:
            times[key].append(r["median_ms"])
    groups = sorted({k[:2] for k in list(times) + list(ooms)})
    tables = []
    for model, device in groups:
        measured = {k[4] for k in times if k[:2] == (model, device)}
        paper_cells = {c for v in ADAPTERDROP_TABLE1.values() for c in v}
        cells = sorted(measured | paper_cells)
        t = Table(f"AdapterDrop Table 1 — model {model}, device {device}",
                  ["Setting", "Adapter"] + [f"{s}/{b}" for s, b in cells])
        reasons = set()
        for phase in ("train", "inference"):
            for method in ("houlsby", "pfeiffer"):
                row = [PHASE_LABEL[phase], method.capitalize()]
                for cell in cells:
                    full = times.get((model, device, phase, "full", cell))
                    mine = times.get((model, device, phase, method, cell))
                    paper = ADAPTERDROP_TABLE1[(phase, method)].get(cell)
                    paper_txt = f" ({paper:.2f})" if paper is not None else ""
                    if full and mine:
                        row.append(_fmt(statistics.median(full) / statistics.median(mine)) + paper_txt)
                        continue
                    if (model, device, phase, method, cell) in ooms or \
                            (model, device, phase, "full", cell) in ooms:
                        reasons.add("OOM: the probe ran out of memory")
                    else:
                        reasons.add("not run: no probe of this cell for the method or for full "
                                    "fine-tuning in these records")
                    row.append(DASH + paper_txt)
                t.rows.append(row)
        t.notes.append("Ours (paper, BERT-base on a V100). Relative speed = t_full / t_adapter "
                       "(>1: faster than full fine-tuning), medians of exclusive probes.")
        t.notes += [f"{DASH}: {r}" for r in sorted(reasons)]
        tables.append(t)
    return tables


# --- Compacter Table 1 form: dev scores, mean ± std over seeds, LR chosen on dev ---------------

def _method_label(method: str, config_json: str, configs_of: dict) -> str:
    if len(configs_of[method]) == 1:
        return method
    config = json.loads(config_json or "{}")
    return f"{method} {' '.join(f'{k}={v}' for k, v in sorted(config.items()))}"


def compacter_table1(records: dict) -> list[Table]:
    runs = [r for r in records["runs"] if r["status"] == "ok"]
    by_model = defaultdict(list)
    for r in runs:
        by_model[r["model"]].append(r)
    tables = []
    for model, rows in sorted(by_model.items()):
        configs_of = defaultdict(set)
        for r in rows:
            configs_of[r["method"]].add(r["method_config"])
        scores = defaultdict(list)  # (label, task, lr) -> [dev_score]
        pct = {}
        for r in rows:
            label = _method_label(r["method"], r["method_config"], configs_of)
            scores[(label, r["task"], r["lr"])].append(r["dev_score"])
            pct[label] = (r["method"], 100.0 * r["trainable_params"] / r["total_params"])
        tasks = list(COMPACTER_TASKS) + sorted({r["task"] for r in rows} - set(COMPACTER_TASKS))
        t = Table(f"Compacter Table 1 form — model {model}",
                  ["Method", "% trained params"] + tasks + ["Avg"])
        chosen = []
        for label in sorted(pct):
            method, share = pct[label]
            paper = COMPACTER_TABLE1.get(method)
            row = [label, f"{share:.3f}" + (f" ({paper[1]})" if paper else "")]
            means = []
            for task in tasks:
                candidates = {lr: s for (lb, tk, lr), s in scores.items() if lb == label and tk == task}
                paper_txt = f" ({paper[2][task]})" if paper and task in paper[2] else ""
                if not candidates:
                    row.append(DASH + paper_txt)
                    continue
                # LR selection on the dev split: the LR with the best mean over seeds.
                lr, s = max(candidates.items(), key=lambda kv: (statistics.mean(kv[1]), -kv[0]))
                mean = 100 * statistics.mean(s)
                std = 100 * statistics.stdev(s) if len(s) > 1 else 0.0
                means.append(mean)
                row.append(f"{mean:.2f} ± {std:.2f} (n={len(s)}){paper_txt}")
                chosen.append(f"{label}/{task}: lr={lr:g}")
            paper_avg = f" ({paper[2]['avg']})" if paper else ""
            row.append((f"{statistics.mean(means):.2f}" if means else DASH) + paper_avg)
            t.rows.append(row)
        t.notes += [
            "Ours (paper, T5-base). Dev score ×100 at the best epoch, mean ± std over seeds (n = "
            "seeds) at the LR chosen per method and task by the best mean dev score.",
            "Scores: CoLA Matthews; MRPC mean of F1 and accuracy (paper: acc/F1); STS-B mean of "
            "Pearson and Spearman (paper: both); others accuracy. Avg: over the tasks measured here "
            "(paper: over all 8).",
            f"{DASH}: not run in these records.",
            "% trained params: trainable / total parameters of the model we trained, task head "
            "included (the paper freezes T5's output layer and counts without it).",
            "LR chosen: " + "; ".join(chosen) if chosen else "LR chosen: none",
        ]
        tables.append(t)
    return tables


TABLES: list[TableDecl] = [
    TableDecl("table01", "adapterdrop", "Relative speed of adapters vs full fine-tuning",
              adapterdrop_table1, ("probes",)),
    TableDecl("table01", "compacter", "GLUE dev scores per method, % trained parameters",
              compacter_table1, ("runs",)),
]


# --- rendering -------------------------------------------------------------------------------

def _markdown(decl: TableDecl, tables: list[Table]) -> str:
    out = [f"# {decl.paper} {decl.id}: {decl.caption}", ""]
    if not tables:
        out.append(f"{DASH} no records for this table yet.")
    for t in tables:
        out += [f"## {t.title}", "", "| " + " | ".join(t.columns) + " |",
                "|" + "---|" * len(t.columns)]
        out += ["| " + " | ".join(r) + " |" for r in t.rows]
        out += [""] + [f"- {n}" for n in t.notes] + [""]
    return "\n".join(out).rstrip() + "\n"


def _csv(tables: list[Table]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for t in tables:
        w.writerow(["table"] + t.columns)
        for r in t.rows:
            w.writerow([t.title] + r)
    return buf.getvalue()


def regenerate(results: str | Path) -> list[Path]:
    """Write every table; returns the written paths (final locations)."""
    results = Path(results).resolve()
    kinds = {"runs", "probes", "evals"}
    records = {k: read_records(results, k).to_pylist() for k in kinds}
    final_root = results / "tables"
    staging = Path(tempfile.mkdtemp(prefix=".tables-", dir=results))
    written, index = [], ["# Tables", "", "| table | records | newest record |", "|---|---|---|"]
    try:
        for decl in TABLES:
            tables = decl.build(records)
            rel = Path(decl.paper) / decl.id
            for suffix, text in ((".md", _markdown(decl, tables)), (".csv", _csv(tables))):
                path = staging / rel.with_suffix(suffix)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
                written.append(rel.with_suffix(suffix))
            n = sum(len(records[k]) for k in decl.records)
            newest = max((r.get("finished_at") or "" for r in records["runs"]), default="") or DASH
            index.append(f"| [{decl.paper}/{decl.id}]({rel.with_suffix('.md')}) — {decl.caption} "
                         f"| {n} {'+'.join(decl.records)} | {newest} |")
        (staging / "index.md").write_text("\n".join(index) + "\n")
        written.append(Path("index.md"))
        for rel in written:  # rename each file into place: readers never see a partial file
            target = final_root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / rel, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [final_root / rel for rel in written]
