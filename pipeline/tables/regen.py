"""Regenerate every table and figure: lock ▸ read records ▸ build ▸ stage ▸ rename into place.

- Lock: ``<results>/.tables.lock`` (fcntl.flock), so two regenerations never interleave; the
  second waits for the first and then rebuilds from the records as they are then.
- Staging: everything is written under ``<results>/.tables-staging-*`` first; each file is then
  renamed over its final path (a reader sees the old or the new file, never a partial one), and
  outputs no longer declared are removed.
- Deterministic: no clocks or random names in the outputs; PNG metadata fixed; the same records
  give byte-identical files.
- Figures whose data changed are drawn by a child process while the tables are computed
  (drawing.py); the others reuse their cached drawing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.claims import ledger as claims_ledger
from pipeline.tables import render, time_summary
from pipeline.config_fields import complete_configs
from pipeline.lease import exclusive_lock
from pipeline.tables.core import DASH, PROBE_COLUMNS, RUN_COLUMNS, Data, Decl
from pipeline.tables.drawing import Drawer
from pipeline.tables.registry import TABLES
from tracking.record_cache import load_kind

OUTPUT_SUFFIXES = (".md", ".csv", ".tex", ".png")
# What the last build in this process did (for benchmarks/tables_scale.py): figures are drawn
# only when their data changed (else the cached PNG of the same data is reused); drawing_s is
# the drawing time (in a child process, beside the tables), drawing_wait_s how long the build
# then still waited for it.
LAST_RUN = {"figures_drawn": 0, "drawing_s": 0.0, "drawing_wait_s": 0.0, "figure_files": set()}
LOCK_NAME = ".tables.lock"
FIGURE_CACHE = ".tables-cache/figures"  # drawings by the hash of their data


def regeneration_lock(results: Path):
    results.mkdir(parents=True, exist_ok=True)
    return exclusive_lock(results / LOCK_NAME)


def _newest(kind: str, table: pa.Table) -> str:
    """Time of the newest record: runs' finished_at, else the newest record file's mtime."""
    if table.num_rows == 0:
        return ""
    if kind == "runs":
        v = pc.max(table["finished_at"]).as_py()
        if v:
            return v
    ns = pc.max(table["_mtime_ns"]).as_py()
    return dt.datetime.fromtimestamp(ns / 1e9, dt.timezone.utc).isoformat(timespec="seconds")


def load_data(results: Path, use_cache: bool = True) -> tuple[Data, dict]:
    data, summary = load_runs(results, use_cache)
    load_probes(data, summary, results, use_cache)
    return data, summary


def load_runs(results: Path, use_cache: bool = True,
              deferred: list | None = None) -> tuple[Data, dict]:
    """The runs and evals, with ``data.probes`` still None (load_probes adds them): the
    figures over runs can go to the drawing process while the probes load. ``deferred``:
    see tracking.record_cache.load_kind."""
    summary, frames = {}, {}
    for kind in ("runs", "evals"):
        t = load_kind(results, kind, use_cache, RUN_COLUMNS if kind == "runs" else None,
                      deferred)
        if kind == "runs":  # a record from before a config field existed groups with its re-run
            t = complete_configs(t)
        summary[kind] = (t.num_rows, _newest(kind, t))
        frames[kind] = _frame(t.drop_columns(["_file", "_size"]))
    return Data(frames["runs"], frames["evals"], None), summary


def load_probes(data: Data, summary: dict, results: Path, use_cache: bool = True,
                deferred: list | None = None) -> None:
    t = load_kind(results, "probes", use_cache, PROBE_COLUMNS, deferred)
    # The papers' efficiency tables time sequence-classification steps; probes of other task
    # kinds' batches (multiple choice [batch, choices, seq], QA, tagging, text-to-text) are not
    # comparable with them and stay in the records only. Null: rows from before the column.
    kind = t["batch_kind"]
    t = t.filter(pc.or_kleene(pc.is_null(kind), pc.equal(kind, "classification")))
    summary["probes"] = (t.num_rows, _newest("probes", t))
    data.probes = complete_configs(t)


def _frame(table: pa.Table):
    """pandas frame with Python-object strings: the queries take many small row subsets, which
    costs ~10x more on pandas' Arrow-backed string columns."""
    df = table.to_pandas()
    for f in table.schema:
        if pa.types.is_string(f.type) or pa.types.is_large_string(f.type):
            df[f.name] = df[f.name].astype(object)
    return df


def _figure_key(decl: Decl, figs) -> str:
    """The name of a figure's cached drawing: a hash of everything it plots."""
    return hashlib.sha256(repr((decl.paper, decl.id, [(f.title, f.panels) for f in figs])).encode()).hexdigest()


def build(results: Path, use_cache: bool = True) -> dict[Path, bytes]:
    """Every output file (relative to results/) -> its bytes."""
    LAST_RUN.update(figures_drawn=0, drawing_s=0.0, drawing_wait_s=0.0, figure_files=set())
    figure_dir = results / FIGURE_CACHE
    built: dict[int, dict[Path, bytes]] = {}
    pending: dict[int, tuple[int, Path, Path]] = {}  # decl index -> (job, cache path, output)
    with Drawer() as drawer:
        if not use_cache or not any(figure_dir.glob("*.png")):
            # every figure will be drawn: import matplotlib while records load
            drawer.start(warm_up=True)
        # The cache segments of newly read record files are written at the end, while the
        # drawing process finishes (on a cold run ~0.4 s of the critical path otherwise).
        cache_writes: list = []
        data, summary = load_runs(results, use_cache, cache_writes)
        # Figures first: those whose data changed are drawn (in a child process) while the
        # tables are computed; a figure whose data is unchanged reuses its cached drawing.
        # Figures over runs go before the probes are even read (the child draws them while
        # this process reads), then those over probes.
        def figure(i: int) -> None:
            decl = TABLES[i]
            figs = decl.query(data, decl)
            cached = figure_dir / f"{_figure_key(decl, figs)}.png"
            LAST_RUN["figure_files"].add(cached.name)
            rel = Path("figures") / decl.paper / f"{decl.id}.png"
            if use_cache and cached.exists():
                built[i] = {rel: cached.read_bytes()}
            else:
                job = drawer.submit(figs[0], "no records for this figure yet (not run)")
                pending[i] = (job, cached, rel)

        figures = [i for i, decl in enumerate(TABLES) if decl.is_figure]
        for i in figures:
            if "probes" not in TABLES[i].sources:
                figure(i)
        load_probes(data, summary, results, use_cache, cache_writes)
        for i in figures:
            if "probes" in TABLES[i].sources:
                figure(i)
        for i, decl in enumerate(TABLES):
            if not decl.is_figure:
                rows = decl.query(data, decl)
                rel = Path("tables") / decl.paper / decl.id
                built[i] = {rel.with_suffix(".md"): render.markdown(decl, rows).encode(),
                            rel.with_suffix(".csv"): render.csv_text(rows).encode(),
                            rel.with_suffix(".tex"): render.latex(decl, rows).encode()}
        pngs = drawer.finish(meanwhile=lambda: [write() for write in cache_writes])
        LAST_RUN.update(figures_drawn=drawer.drawn, drawing_s=drawer.seconds,
                        drawing_wait_s=drawer.waited)
    for i, (job, cached, rel) in pending.items():
        built[i] = {rel: pngs[job]}
        if use_cache:
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_name(f".{cached.name}.tmp")
            tmp.write_bytes(pngs[job])
            os.replace(tmp, cached)

    out: dict[Path, bytes] = {}
    index = ["# Tables and figures", "",
             "Regenerated from the Parquet records under records/ (never from MLflow).", "",
             "| output | caption | records | newest record |", "|---|---|---|---|"]
    for i, decl in enumerate(TABLES):
        out.update(built[i])
        link = (f"../figures/{decl.paper}/{decl.id}.png" if decl.is_figure
                else f"{decl.paper}/{decl.id}.md")
        counts = ", ".join(f"{summary[k][0]} {k}" for k in decl.sources)
        newest = max((summary[k][1] for k in decl.sources), default="") or DASH
        index.append(f"| [{decl.paper}/{decl.id}]({link}) | {decl.caption} | {counts} | {newest} |")
    index.append("| [time](time.md) | Where the time went, per sweep (phase seconds, busy "
                 "share) | runs | – |")
    index.append("| [claims](claims.md) | The papers' headline claims: a verdict per device "
                 "| runs, evals, probes | – |")
    out[Path("tables") / "index.md"] = ("\n".join(index) + "\n").encode()
    out[Path("tables") / "time.md"] = time_summary.markdown(data.runs).encode()
    out[Path("tables") / "claims.md"] = claims_ledger.markdown(data).encode()
    if use_cache:  # keep only the drawings of the figures as they are now
        for path in figure_dir.glob("*.png"):
            if path.name not in LAST_RUN["figure_files"]:
                path.unlink(missing_ok=True)
    return out


def regenerate(results: str | Path, use_cache: bool = True) -> list[Path]:
    """Write every table and figure under results/; returns the final paths."""
    results = Path(results).resolve()
    with regeneration_lock(results):
        files = build(results, use_cache)
        staging = Path(tempfile.mkdtemp(prefix=".tables-staging-", dir=results))
        try:
            for rel, content in files.items():
                path = staging / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(content)
            for rel in files:
                target = results / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(staging / rel, target)
            _remove_stale(results, set(files))
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return [results / rel for rel in files]


def _remove_stale(results: Path, keep: set[Path]) -> None:
    for root in ("tables", "figures"):
        for path in sorted((results / root).rglob("*")):
            if path.is_file() and path.suffix in OUTPUT_SUFFIXES and \
                    path.relative_to(results) not in keep:
                path.unlink()
