"""What a table is (declaration + rendered rows) and the shared queries over the records.

Queries run as a few grouped aggregations over whole columns (pandas on Arrow data); the per-cell
code of each table then only looks values up in the small aggregated frames.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipeline import interference
from pipeline.config_fields import config_of  # noqa: F401 - re-exported
from pipeline.tables import probe_agg
from pipeline.tables.png import DASH, Figure  # noqa: F401 - re-exported


# Reasons a cell is "–" (the papers print "-" for out-of-memory cells).
NOT_RUN = "not run: no records of this cell yet"
OOM = "OOM: the probe or trial ran out of memory"
NEEDS_GPU = "needs a GPU: too large to time on the CPU-only machines these records come from"
NOT_EXCLUSIVE = "left out: the probe shared its device (exclusive=false)"
CONTENDED = ("left out: other work disturbed the probe, also when measured again "
             "(status contended; pipeline/interference.py)")
FAILED = "failed: every trial of this cell failed (see the error column of the run records)"
# Added to a table's notes when one of its cells is a paired ratio (Data.ratio).
PAIRED = ("Relative speeds from paired probes where a trial recorded them (probes.paired: the "
          "method and its baseline timed in turn, one rep each, in one process on one batch): the "
          "median over pairs of t_baseline / t_method, with a 95% order-statistic interval in the "
          "probe records (pipeline/paired.py); other cells divide the medians of separate probes.")

# A CPU device times cells up to this many tokens per batch (the demo probes 128 × 16; 128 × 32
# takes ~3 s a step on 2 cores);
# larger cells need a GPU.
CPU_MAX_TOKENS = 128 * 32


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    reasons: set = field(default_factory=set)

    def finish(self) -> "Table":
        self.notes += [f"{DASH}: {r}" for r in sorted(self.reasons)]
        return self

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


@dataclass(frozen=True)
class Decl:
    """One table or figure of a paper, declared as data."""
    id: str  # table01 / figure02
    paper: str  # adapterdrop | compacter | efficiency2023
    caption: str
    rows: tuple  # the paper's rows (labels), in order
    columns: tuple  # the paper's columns, in order
    query: Callable  # (Data, Decl) -> list[Table] (tables) or list[Figure] (figures)
    sources: tuple[str, ...]  # record kinds it reads
    direction: str = "higher"  # metric direction: "higher" or "lower" is better
    published: object = None  # the paper's numbers (pipeline/published.py)
    filter: Callable | None = None  # (Data) -> {kind: bool mask} of the records it uses

    @property
    def is_figure(self) -> bool:
        return self.id.startswith("figure")


# --- formatting -----------------------------------------------------------------------------

def fmt(x, digits: int = 2) -> str:
    return DASH if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:.{digits}f}"


def paper(values, digits: int = 2, pct: bool = False) -> str:
    """The paper's value(s) in parentheses; a dict/tuple of devices prints 'a · b'."""
    if values is None:
        return ""
    if isinstance(values, dict):
        values = list(values.values())
    if not isinstance(values, (list, tuple)):
        values = [values]
    texts = []
    for v in values:
        if v is None:
            texts.append("-")
        elif isinstance(v, str):
            texts.append(v)
        else:
            texts.append(f"{v:.{digits}f}" + ("%" if pct else ""))
    return f" ({' · '.join(texts)})"


def matches(method: str, config: dict, key: str) -> bool:
    """Does (method, config) satisfy a row key 'method k=v ...' of the published data?"""
    name, *constraints = key.split()
    if name != method:
        return False
    for c in constraints:
        k, v = c.split("=", 1)
        if k not in config or str(config[k]).lower() != v.lower() and \
                not _same_number(config[k], v):
            return False
    return True


def _same_number(a, b: str) -> bool:
    try:
        return float(a) == float(b)
    except (TypeError, ValueError):
        return False


def best_key(method: str, config: dict, keys) -> str | None:
    """The most specific published row key that (method, config) satisfies."""
    hits = [k for k in keys if matches(method, config, k)]
    return max(hits, key=lambda k: len(k.split())) if hits else None


# --- statistics -----------------------------------------------------------------------------

def slope_pct(xs, ys) -> float | None:
    """Per-unit change in % of the fitted value at the smallest x: least-squares line
    t = a + b·x, returns 100·b / (a + b·x_min). For dropped layers (x_min = 0) this is
    AdapterDrop A.1's speedup p: t(k) = (1 − k·p/100)·t(0), so p = −100·b/a (we return −p so the
    caller chooses the sign); for AdapterFusion it is the slowdown per added adapter."""
    xs, ys = np.asarray(xs, float), np.asarray(ys, float)
    if len(np.unique(xs)) < 2:
        return None
    b, a = np.polyfit(xs, ys, 1)
    base = a + b * xs.min()
    return None if base == 0 else float(100.0 * b / base)


# --- the records, loaded once per regeneration -------------------------------------------------

PROBE_KEYS = ["model", "device", "method", "method_config", "phase", "seq_len", "batch_size",
              "n_tasks", "dropped_layers", "n_fusion"]
PROBE_COLUMNS = PROBE_KEYS + ["status", "exclusive", "median_ms", "batch_kind",  # tables read
                              "paired_with", "ratio_median", "ratio_status",
                              "peak_mem_bytes"]  # efficiency2023 table04: serving k tasks
# The run columns the tables read (29 of 46: a record file is read faster; per-epoch scores,
# versions and ids stay out of the cache).
RUN_COLUMNS = ["trial_key", "status", "model", "method", "method_config", "task", "lr", "epochs",
               "train_samples", "dev_score", "best_epoch", "trainable_params", "total_params", "objective",
               "train_time_s", "peak_mem_bytes", "device", "finished_at",
               "sweep", "started_at", "phase_s", "wall_s",  # these four: tables/time.md
               # efficiency2023 (Mundra et al. 2023): convergence, zero-shot languages, multi-task
               "time_to_best_s", "xling_scores", "group_key", "group_tasks", "storage_params",
               "add_time_s", "score_before_add",
               "train_cpu_share", "train_wait_share"]  # a loop that shared its cores: time *


def disturbed_runs(runs: pd.DataFrame) -> pd.Series:
    """Runs whose training loop shared its cores with another process: the probes' CPU rule
    (pipeline.interference.reasons) on the records' loop figures, vectorized: the wait share
    decides where recorded; records without the figures (before schema 8, GPU): not disturbed."""
    if "train_wait_share" not in runs:
        return pd.Series(False, index=runs.index)
    wait, cpu = runs["train_wait_share"], runs["train_cpu_share"]
    return ((wait > interference.WAIT_MAX) |
            (wait.isna() & (cpu < interference.CPU_SHARE_MIN))).fillna(False).astype(bool)


DISTURBED_NOTE = ("*: a run of this row trained while another process shared its cores (its "
                  "record's train_wait_share > {:.2f}, or CPU share < {:.2f} where the kernel "
                  "gives no wait share), so its time also measures that process"
                  .format(interference.WAIT_MAX, interference.CPU_SHARE_MIN))


# Data's cached properties that hold probe aggregations only (shared by Data.with_runs).
PROBE_CACHES = ("_probe_groups", "probe_times", "probe_flags", "probe_by_method",
                "probe_by_phase", "probe_groups", "_ratios")


class Data:
    """The records of one results directory (runs and evals as pandas frames, probes as an
    Arrow table: a million rows are aggregated without a pandas copy), plus the shared
    aggregations."""

    def __init__(self, runs: pd.DataFrame, evals: pd.DataFrame, probes: pa.Table):
        self.runs, self.evals, self.probes = runs, evals, probes
        self._configs: dict[str, dict] = {}

    def with_runs(self, runs: pd.DataFrame) -> "Data":
        """The same evals and probes with only these runs. The probes' aggregations already
        computed are shared (they do not depend on the runs); the runs' are computed anew."""
        sub = Data(runs, self.evals, self.probes)
        sub._configs = self._configs
        for name in PROBE_CACHES:
            if name in self.__dict__:
                sub.__dict__[name] = self.__dict__[name]
        return sub

    def by_sweep(self, keep: pd.Series | None = None):
        """(sweep, the same records with only that sweep's runs), sweeps in order: times compare
        only within one sweep (one budget on one machine at one time). ``keep``: a mask over
        ``runs`` of the runs to keep at all."""
        runs = self.runs if keep is None else self.runs[keep]
        for sweep in sorted(set(runs["sweep"].dropna())) if not runs.empty else []:
            yield sweep, self.with_runs(runs[runs["sweep"] == sweep])

    def config(self, text) -> dict:
        if text not in self._configs:
            self._configs[text] = config_of(text)
        return self._configs[text]

    # probes (an Arrow table: pipeline/tables/probe_agg.py aggregates it without pandas) ---
    @cached_property
    def _probe_groups(self) -> "probe_agg.Groups":
        p = self.probes
        ok = pc.and_(pc.equal(p["status"], "ok"), pc.fill_null(p["exclusive"], False))
        return probe_agg.medians(p, PROBE_KEYS, ok, "median_ms")

    @cached_property
    def probe_times(self) -> dict:
        """(model, device, method, method_config, phase, seq, batch, n_tasks, dropped, n_fusion)
        -> median over ok, exclusive probe rows of their median step time (ms)."""
        g = self._probe_groups
        return dict(zip(g.keys, g.values))

    @cached_property
    def probe_flags(self) -> dict:
        """Keys without method_config -> 'oom' / 'contended' / 'not_exclusive' for cells with such
        rows (in that order of precedence)."""
        p = self.probes
        cols = [k for k in PROBE_KEYS if k != "method_config"]
        out = {}
        for flag, mask in (("not_exclusive", pc.and_(pc.equal(p["status"], "ok"),
                                                     pc.invert(pc.fill_null(p["exclusive"], False)))),
                           ("contended", pc.equal(p["status"], "contended")),
                           ("oom", pc.equal(p["status"], "oom"))):
            for key in probe_agg.distinct(p, cols, mask):
                out[key] = flag
        return out

    @cached_property
    def probe_by_method(self) -> dict:
        """(model, device, phase) -> {method: [(key, median_ms)]}, in probe_times order."""
        out: dict = {}
        for (model, device, phase, method), items in self._probe_groups.buckets([0, 1, 4, 2]).items():
            out.setdefault((model, device, phase), {})[method] = items
        return out

    @cached_property
    def probe_by_phase(self) -> dict:
        """(model, device, phase) -> [(key, median_ms)] of probe_times (for scans)."""
        return {k: [kv for rows in by_method.values() for kv in rows]
                for k, by_method in self.probe_by_method.items()}

    def _cells(self, model, device, method, phase) -> dict:
        """(seq, batch, n_tasks, dropped, n_fusion) -> [(config dict, median_ms)] of one
        (model, device, method, phase), built on first use (tables ask for few methods)."""
        memo = self.__dict__.setdefault("_cells_memo", {})
        key = (model, device, method, phase)
        if key not in memo:
            cells: dict = {}
            for k, v in self.probe_by_method.get((model, device, phase), {}).get(method, []):
                cells.setdefault(k[5:], []).append((self.config(k[3]), v))
            memo[key] = cells
        return memo[key]

    @property
    def probe_index(self) -> dict:
        """(model, device, method, phase, seq, batch, n_tasks, dropped, n_fusion)
        -> [(config dict, median_ms)], for lookups with a config predicate."""
        out: dict = {}
        for (model, device, phase), by_method in self.probe_by_method.items():
            for method in by_method:
                for rest, hits in self._cells(model, device, method, phase).items():
                    out[(model, device, method, phase, *rest)] = hits
        return out

    @cached_property
    def probe_groups(self) -> list[tuple[str, str]]:
        return sorted(k for k in probe_agg.distinct(self.probes, ["model", "device"])
                      if k[0] is not None and k[1] is not None)

    def time(self, model, device, method, phase, seq, batch, n_tasks=1, dropped=0, n_fusion=0,
             where: Callable[[dict], bool] | None = None) -> float | None:
        """Median step time (ms) of a cell; several matching configs: the median of them."""
        hits = [v for cfg, v in self._cells(model, device, method, phase).get(
            (seq, batch, n_tasks, dropped, n_fusion), []) if where is None or where(cfg)]
        return _median(hits) if hits else None

    @cached_property
    def _ratios(self) -> dict:
        """(model, device, method, phase, seq, batch, n_tasks, dropped, n_fusion, paired_with)
        -> {method_config: [ratio_median]} of the ok, exclusive paired rows (few: a Python loop
        over the filtered rows)."""
        p = self.probes
        if p is None or "ratio_median" not in p.column_names:
            return {}
        ok = pc.and_(pc.and_(pc.equal(p["ratio_status"], "ok"),
                             pc.fill_null(p["exclusive"], False)),
                     pc.invert(pc.is_null(p["ratio_median"])))
        cols = ["model", "device", "method", "phase", "seq_len", "batch_size", "n_tasks",
                "dropped_layers", "n_fusion", "paired_with", "method_config", "ratio_median"]
        t = p.filter(pc.fill_null(ok, False)).select(cols)
        out: dict = {}
        for *key, config, ratio in zip(*[t[c].to_pylist() for c in cols]):
            out.setdefault(tuple(key), {}).setdefault(config, []).append(ratio)
        return out

    def ratio(self, model, device, method, phase, seq, batch, n_tasks=1, dropped=0, n_fusion=0,
              where: Callable[[dict], bool] | None = None, paired_with: str = "full"
              ) -> float | None:
        """The paired ratio t_baseline / t_method of a cell (pipeline/paired.py): the median
        over its rows per config, then over the matching configs (as ``time``); None: no paired
        row. ``paired_with``: "full" (full fine-tuning, N full models for N tasks) or
        "dropped_layers=0" (the same model undropped)."""
        by_config = self._ratios.get((model, device, method, phase, seq, batch, n_tasks, dropped,
                                      n_fusion, paired_with), {})
        hits = [_median(v) for c, v in by_config.items() if where is None or where(self.config(c))]
        return _median(hits) if hits else None

    def relative_speed(self, model, device, method, phase, seq, batch, base="full", where=None,
                       base_where=None, base_dims=None, **dims) -> tuple[float | None, bool]:
        """(t_base / t_method of a cell, whether it is a paired ratio): the paired probe's ratio
        when the base is full fine-tuning (any config) and a trial recorded one, else the ratio
        of the separate probes' medians; None when a time is missing. The base's cell has the
        method's ``dims`` unless ``base_dims`` says otherwise (AdapterFusion with K adapters
        against a plain model: ``n_fusion=K``, ``base_dims={}``)."""
        if base == "full" and base_where is None:
            r = self.ratio(model, device, method, phase, seq, batch, where=where, **dims)
            if r is not None:
                return r, True
        t_base = self.time(model, device, base, phase, seq, batch, where=base_where,
                           **(dims if base_dims is None else base_dims))
        t = self.time(model, device, method, phase, seq, batch, where=where, **dims)
        return (t_base / t if t_base and t else None), False

    def why_missing(self, model, device, methods, phase, seq, batch, n_tasks=1, dropped=0,
                    n_fusion=0) -> str:
        """The reason a cell has no time, checked for every method it needs."""
        for method in methods:
            flag = self.probe_flags.get((model, device, method, phase, seq, batch, n_tasks,
                                         dropped, n_fusion))
            if flag:
                return {"oom": OOM, "contended": CONTENDED}.get(flag, NOT_EXCLUSIVE)
        if str(device).startswith("cpu") and seq * batch > CPU_MAX_TOKENS:
            return NEEDS_GPU
        return NOT_RUN

    # runs ----------------------------------------------------------------------------------
    @cached_property
    def run_groups(self) -> pd.DataFrame:
        """Per (model, objective, method, method_config, task, train_samples, lr): dev score
        mean, std (ddof 1), n over seeds, and means of the other run columns; ok runs only.
        Objective: "head" or "text2text" (records before schema 3: "head")."""
        r = self.runs[self.runs["status"] == "ok"]
        keys = ["model", "objective", "method", "method_config", "task", "train_samples", "lr"]
        # Time to best: the recorded training seconds to the best evaluation (every epoch or
        # every training.eval_every_steps); records without it (before schema 3, or hand-made):
        # estimated at epoch resolution as train_time_s × best_epoch / epochs.
        by_epoch = r["train_time_s"] * r["best_epoch"] / r["epochs"].where(r["epochs"] > 0)
        recorded = r["time_to_best_s"] if "time_to_best_s" in r else by_epoch
        r = r.assign(disturbed=disturbed_runs(r),
                     objective=r["objective"].fillna("head") if "objective" in r else "head",
                     train_samples=r["train_samples"].fillna(-1),
                     time_to_best_s=recorded.fillna(by_epoch),
                     group_size=[len(_json_list(v)) or 1 for v in r["group_tasks"]]
                     if "group_tasks" in r else 1)
        g = r.groupby(keys, observed=True, sort=True, dropna=False)
        out = g["dev_score"].agg(["mean", "std", "count"])
        for col in ("train_time_s", "time_to_best_s", "peak_mem_bytes", "trainable_params",
                    "total_params", "epochs", "group_size") + \
                (("storage_params",) if "storage_params" in r else ()):
            out[col] = g[col].mean()
        out["time_to_best_std"] = g["time_to_best_s"].std()
        out["disturbed"] = g["disturbed"].max()  # any seed's loop shared its cores
        return out.reset_index()

    def chosen(self, direction: str = "higher", largest_data: bool = True) -> pd.DataFrame:
        """LR chosen per (model, objective, method, config, task[, train_samples]) by best mean dev
        score over seeds; ties go to the smaller LR. ``largest_data``: one row per task, the
        largest training set (the full-data setting). Computed once per regeneration: callers
        only select from it, never modify it."""
        return self.memo(("chosen", direction, largest_data),
                         lambda: self._chosen(direction, largest_data))

    def memo(self, key, compute):
        """A value computed once per regeneration (shared by the tables that need it)."""
        memo = self.__dict__.setdefault("_memo", {})
        if key not in memo:
            memo[key] = compute()
        return memo[key]

    def _chosen(self, direction: str, largest_data: bool) -> pd.DataFrame:
        g = self.run_groups
        if g.empty:
            return g
        best_first = g.sort_values(["mean", "lr"], ascending=[direction != "higher", True],
                                   kind="mergesort")
        keys = ["model", "objective", "method", "method_config", "task", "train_samples"]
        out = best_first.drop_duplicates(keys)
        if largest_data:
            out = out.sort_values("train_samples", ascending=False, kind="mergesort") \
                     .drop_duplicates(keys[:-1])
        return out.sort_values(keys, kind="mergesort").reset_index(drop=True)

    @cached_property
    def failed_runs(self) -> dict:
        """(model, method, task) -> 'oom' | 'failed' for cells with no ok run."""
        r = self.runs
        ok = set(r.loc[r["status"] == "ok", ["model", "method", "task"]].itertuples(index=False, name=None))
        bad = r.loc[r["status"].isin(["oom", "failed"]), ["model", "method", "task", "status"]]
        return {k[:3]: k[3] for k in bad.itertuples(index=False, name=None) if k[:3] not in ok}

    def run_reason(self, model, method, task) -> str:
        flag = self.failed_runs.get((model, method, task))
        return OOM if flag == "oom" else FAILED if flag == "failed" else NOT_RUN


def _json_list(text) -> list:
    """A JSON list column (e.g. runs.group_tasks); anything else: []."""
    try:
        value = json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return []
    return list(value) if isinstance(value, (list, tuple)) else []


def _median(values: list[float]) -> float:
    """np.median of a short list, without numpy's per-call cost (same float result: the middle
    value, or (a + b) / 2 of the two middle values; NaN if any value is NaN)."""
    if any(v != v for v in values):
        return float("nan")
    values = sorted(values)
    mid = len(values) // 2
    return float(values[mid]) if len(values) % 2 else float((values[mid - 1] + values[mid]) / 2)


def method_labels(frame: pd.DataFrame, data: Data) -> dict[tuple[str, str], str]:
    """(method, method_config) -> label: the method name, plus the config keys whose values
    differ between the configs of that method in ``frame`` (e.g. 'compacter phm_dim=8')."""
    labels = {}
    for method, group in frame.groupby("method", sort=True):
        cfgs = sorted(set(group["method_config"].fillna("")))
        dicts = [data.config(c) for c in cfgs]
        varying = sorted({k for d in dicts for k in d if len({json.dumps(x.get(k)) for x in dicts}) > 1})
        for c, d in zip(cfgs, dicts):
            labels[(method, c)] = " ".join([method] + [f"{k}={d.get(k)}" for k in varying])
    return labels
