"""`adapterbench plan SPEC`: how much device time a sweep will take, before it runs.

    adapterbench plan jobs/specs/demo.yaml --results results

Prints the grid size, the points already done (an ``ok`` run record for their trial_key: the
rule the sweep uses to skip them) and, per method × task and in total, the expected device time
of the points left: their training steps plus the probe cells they will measure. ``sweep``
prints the same total line when it starts.

Where a figure comes from, best first (the table's ``source`` column says which):
- training, per grid point, from ``ok`` run records of the same model, device, method + config
  and task (``train_time_s``: training steps only, without the waits for other trials' probes):
  1. ``runs``: the median over records with the same budget (epochs and training examples);
  2. ``runs ×r``: records of another budget, each scaled by (examples × epochs) of the spec over
     its own (run records carry no batch size or sequence length: a run of another batch size
     or ``max_seq_len`` with the same epochs and examples counts as the same budget);
  3. ``probe×steps``: a train probe of the same method + config at the spec's
     (max_seq_len, batch_size), times the number of steps (an upper bound: training batches are
     padded to their longest sentence, probes to max_seq_len);
- probes, per cell: none for a cell already measured (ok, exclusive) on this device unless
  ``probes.force``; else (warmup + reps) × the recorded median_ms of that cell (any timed row:
  a disturbed one too), once per method config and task kind (seeds, LRs and the tasks of one
  kind share a cell: it is timed on the kind's batches) or once per trial with ``force``;
  re-measurements of a disturbed cell are not forecast;
- otherwise a **first-order guess** (marked ``~`` and ``guess``): seconds per step =
  k × total parameters × seq_len × batch, with k per phase the median over this device's timed
  single-task probe cells (of models whose run records give their parameter count), or, with
  no such probe on the device, its calibration (``plan --calibrate``, pipeline/calibrate.py),
  else the constants below measured on a 2-core CPU. Evaluation, model loading, logging and
  lease waits are not forecast.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import statistics
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from pipeline.calibrate import read_calibration
from pipeline.config_fields import complete_configs
from pipeline.device_names import cpu_name
from pipeline.grid import GridPoint
from pipeline.kinds import kind_name
from pipeline.multitask_config import MULTITASK_METHODS, MultitaskConfig
from pipeline.spec import MethodEntry, Spec
from pipeline.tasks import TASKS
from tracking.records import read_records

# Seconds per (parameter × token) of one step of all-MiniLM-L6-v2 (22.7M parameters) at one torch
# thread, measured on this project's 2-core CPU VM with `python benchmarks/plan_constant.py`
# (7 reps after 2 warm-up; process CPU time, since other tenants kept the load average at 4-5):
# train 64 × 32: 4,887 ms, 128 × 16: 5,134 ms; inference 64 × 32: 1,422 ms, 128 × 16: 1,511 ms
# (wall: 7.9 s and 2.3-2.4 s). k = CPU seconds / (params × seq × batch), the mean of the 2 cells.
CPU_K = {"train": 1.08e-10, "inference": 3.15e-11}
CPU_K_SOURCE = "2-core CPU constant"


@dataclass(frozen=True)
class Estimate:
    seconds: float | None  # None: nothing to go by
    source: str  # where the figure comes from (the table's source column)
    guess: bool = False  # a first-order guess from model size, not a record of this method


@dataclass
class Row:
    """One method entry × task of the grid."""
    method: str  # label: the method name, plus the config fields that differ from its defaults
    task: str
    points: int
    done: int
    train: Estimate  # per grid point
    probes: Estimate  # all probe cells this row's trials will measure
    grid: bool = True  # False: work the grid's trials do first (AdapterFusion's source adapters)

    @property
    def todo(self) -> int:
        return self.points - self.done

    @property
    def train_s(self) -> float | None:
        if not self.todo:
            return 0.0
        return None if self.train.seconds is None else self.train.seconds * self.todo

    @property
    def total_s(self) -> float | None:
        if self.train_s is None or self.probes.seconds is None:
            return None
        return self.train_s + self.probes.seconds

    @property
    def guess_s(self) -> float:
        return ((self.train_s or 0) * self.train.guess
                + (self.probes.seconds or 0) * self.probes.guess)


@dataclass
class Forecast:
    sweep: str
    device: str
    rows: list[Row]
    notes: list[str]

    @property
    def grid(self) -> int:
        return sum(r.points for r in self.rows if r.grid)

    @property
    def done(self) -> int:
        return sum(r.done for r in self.rows if r.grid)

    @property
    def total_s(self) -> float:
        return sum(r.total_s or 0 for r in self.rows)

    def line(self) -> str:
        """The one-line total (also printed by ``sweep`` when it starts)."""
        todo = self.grid - self.done
        train = sum(r.train_s or 0 for r in self.rows)
        probes = sum(r.probes.seconds or 0 for r in self.rows if r.todo)
        guess = sum(r.guess_s for r in self.rows)
        unknown = sum(r.todo for r in self.rows if r.total_s is None)
        text = (f"forecast {self.sweep!r} on {self.device}: {self.grid} grid points, "
                f"{self.done} done, {todo} to run: ≈ {duration(self.total_s)} device time "
                f"(training {duration(train)}, probes {duration(probes)}")
        if guess:
            text += f"; {duration(guess)} of it a first-order guess"
        text += ")"
        sources = sum(r.todo for r in self.rows if not r.grid)
        if sources:
            text += f"; including {sources} AdapterFusion source adapter(s) to train first"
        if unknown:
            text += f"; {unknown} point(s) with no estimate (not counted)"
        return text

    def table(self) -> str:
        out = ["| method | task | points | done | to run | train s/point | source | train s "
               "| probes s | probes source | total s |",
               "|---|---|---:|---:|---:|---:|---|---:|---:|---|---:|"]
        for r in self.rows:
            out.append(f"| {r.method} | {r.task} | {r.points} | {r.done} | {r.todo} "
                       f"| {_s(r.train.seconds, r.train.guess)} | {r.train.source} "
                       f"| {_s(r.train_s, r.train.guess)} | {_s(r.probes.seconds, r.probes.guess)} "
                       f"| {r.probes.source} | {_s(r.total_s, r.train.guess or r.probes.guess)} |")
        return "\n".join(out)


def duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, s = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {s} s"
    return f"{minutes // 60} h {minutes % 60} min"


def _s(seconds: float | None, guess: bool) -> str:
    return "–" if seconds is None else ("~" if guess else "") + f"{seconds:.1f}"


def local_device() -> str:
    """This machine's device, named as pipeline.trial.device_name names it in the records.
    Without an NVIDIA or AMD GPU driver torch can see no GPU, so the forecast need not import
    it (about 2 s of the plan command's time on a 2-core CPU)."""
    cpu = cpu_name()
    if not any(os.path.exists(p) for p in ("/proc/driver/nvidia/version", "/dev/kfd")):
        return cpu
    import torch

    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else cpu


# --- the records, indexed once ------------------------------------------------------------------

def _json(config) -> str:
    return config if isinstance(config, str) else json.dumps(config, sort_keys=True)


# A probe cell's identity in the records, less model and device (pipeline/probe_plan.py).
CELL = ["method", "method_config", "phase", "seq_len", "batch_size", "n_tasks", "dropped_layers",
        "batch_kind"]


class Records:
    """What the forecast of a spec needs from the run and probe records, on one device."""

    def __init__(self, results, spec: Spec, device: str):
        model, methods, field = spec.model, [m.name for m in spec.methods], ds.field
        # Configs completed: a record from before a config field existed matches the spec's
        # config of today (pipeline/config_fields.py), as the tables read it.
        runs = complete_configs(_read(results, "runs", [
            "trial_key", "status", "model", "method", "method_config", "task", "epochs",
            "train_samples", "train_time_s", "total_params", "device"], field("status") == "ok"))
        # The sweep's rule for a finished point (tracking.records.ok_trial_keys): an ok record.
        self.ok_keys = set(runs["trial_key"].to_pylist())
        same = runs.filter((field("model") == model) & (field("device") == device)
                           & field("method").isin(methods) & field("task").isin(list(spec.tasks)))
        # (method, config, task) -> [(epochs, train_samples, train_time_s)]
        self.runs = defaultdict(list)
        cols = same.select(["method", "method_config", "task", "epochs", "train_samples",
                            "train_time_s"]).to_pydict()
        for m, c, t, e, n, s in zip(*cols.values()):
            if s is not None and e is not None and n is not None:
                self.runs[m, c, t].append((e, n, s))
        params = runs.filter(field("model") == model)["total_params"].drop_null()
        self.model_params = int(statistics.median(params.to_pylist())) if len(params) else None

        # Every timed cell tells how long a step takes, also one a sweep would measure again
        # (an oom cell has no time; a disturbed one its disturbed time).
        probes = complete_configs(_read(results, "probes", ["model", *CELL, "median_ms", "device",
                                                            "exclusive", "status"],
                                        (field("device") == device) & (field("status") != "oom")
                                        & field("median_ms").is_valid()))
        self.k = _fit_k(probes, runs)
        # `plan --calibrate`, if run for this device, model and thread count
        self.calibration = read_calibration(results, device, model,
                                            spec.resources.torch_threads)
        # Only the cells the spec probes or trains at are looked up, grouped in Arrow.
        cells = [*spec.probes.cells, (spec.training.max_seq_len, spec.training.batch_size)]
        mine = probes.filter((field("model") == model) & field("method").isin(methods)
                             & field("seq_len").isin([seq for seq, _ in cells])
                             & field("batch_size").isin([batch for _, batch in cells]))
        mine = mine.set_column(mine.schema.get_field_index("batch_kind"), "batch_kind",
                               pc.fill_null(mine["batch_kind"], "classification"))  # older rows
        mine = mine.append_column("measured", pc.and_(mine["exclusive"],
                                                      pc.equal(mine["status"], "ok")))
        groups = mine.group_by(CELL).aggregate([("median_ms", "list"), ("measured", "any")])
        self.probe_ms = {}  # cell key (without model, device) -> [median_ms]
        self.measured = set()  # cells an ok, exclusive probe measured: a sweep skips them
        keys = zip(*(groups[c].to_pylist() for c in CELL))
        for key, ms, measured in zip(keys, groups["median_ms_list"].to_pylist(),
                                     groups["measured_any"].to_pylist()):
            self.probe_ms[key] = ms
            if measured:
                self.measured.add(key)


def _read(results, kind: str, columns: list[str], where: ds.Expression) -> pa.Table:
    """These columns of the records of a kind that match ``where``, through the reader the
    sweep uses (tracking.records.read_records: the record cache of a local results directory,
    so only record files new since the last read are opened)."""
    return read_records(results, kind, columns=columns).filter(where)


def _fit_k(probes: pa.Table, runs: pa.Table) -> dict[str, tuple[float, int]]:
    """phase -> (median seconds per parameter × token, number of probes) over this device's
    single-task, undropped probe cells of models that have ok runs (the median of their
    ``total_params``: adapters change it by ~1%, a first-order guess need not care)."""
    plain = probes.filter((ds.field("n_tasks") == 1) & (ds.field("dropped_layers") == 0))
    lists = runs.select(["model", "total_params"]).drop_null() \
        .group_by("model").aggregate([("total_params", "list")]).to_pydict()
    if not len(plain) or not lists["model"]:
        return {}
    params = pa.table({"model": lists["model"], "params": [
        float(statistics.median(v)) for v in lists["total_params_list"]]})
    joined = plain.select(["model", "phase", "seq_len", "batch_size", "median_ms"]) \
        .join(params, "model", join_type="inner")
    out = {}
    for phase in ("train", "inference"):
        t = joined.filter(ds.field("phase") == phase)
        if len(t):
            work = pc.multiply(pc.multiply(t["params"], pc.cast(t["seq_len"], pa.float64())),
                               pc.cast(t["batch_size"], pa.float64()))
            k = pc.divide(pc.divide(t["median_ms"], 1000.0), work).to_pylist()
            out[phase] = (statistics.median(k), len(k))
    return out


# --- the forecast ----------------------------------------------------------------------------

def plan(spec: Spec, points: list[GridPoint], results, done: set[str] | None = None,
         device: str | None = None) -> Forecast:
    """The forecast of ``points`` (the spec's grid) against the records under ``results``.
    ``done``: trial keys with an ok record, as the sweep computed them (default: from the run
    records read here, by the same rule). ``device``: as records name it (default: this one)."""
    device = device or local_device()
    records = Records(results, spec, device)
    done = records.ok_keys if done is None else done
    notes = []
    sizes = _Sizes(spec, records, device, notes)
    by_row = defaultdict(lambda: [0, 0])
    configs = {}  # id -> JSON: the points of one method entry share its config dict
    for p in points:
        config = configs.get(id(p.method_config)) or \
            configs.setdefault(id(p.method_config), _json(p.method_config))
        counts = by_row[p.method, config, p.task]
        counts[0] += 1
        counts[1] += p.trial_key in done
    # A probe cell is timed on its task kind's batches: tasks of one kind share their cells.
    kinds = {t: kind_name(TASKS[t], spec.training.objective) for t in spec.tasks}
    group = "+".join(spec.tasks)  # a multi-task point's task; probed on its first task's kind
    kinds.setdefault(group, kinds[spec.tasks[0]])
    rows = []
    for entry in spec.methods:
        config = _json(entry.config)
        tasks = [group] if entry.name in MULTITASK_METHODS else spec.tasks
        left = {t: by_row[entry.name, config, t][0] - by_row[entry.name, config, t][1]
                for t in tasks}
        of_kind = {k: sum(left[t] for t in tasks if kinds[t] == k)
                   for k in {kinds[t] for t in tasks}}
        probes = {k: _probes(spec, entry, config, k, records, sizes, todo)
                  for k, todo in of_kind.items()}
        shown = set()  # kinds whose cells a row already carries
        for task in tasks:
            n, n_done = by_row[entry.name, config, task]
            if not n:
                continue
            kind, cells = kinds[task], probes[kinds[task]]
            train = _train(spec, entry.name, config, task, kind, records, sizes)
            if spec.probes.force:  # every trial measures every cell
                share = Estimate(None if cells.seconds is None else
                                 cells.seconds * left[task] / max(of_kind[kind], 1),
                                 cells.source, cells.guess)
            elif left[task] and kind not in shown:  # measured once, by the first trial to run
                share = cells
                shown.add(kind)
            else:
                share = Estimate(0.0, "(with the first task)" if cells.seconds else "–")
            rows.append(Row(_label(entry), task, n, n_done, train, share))
    rows += _fusion_source_rows(spec, points, results, done, records, sizes)
    return Forecast(spec.name, device, rows, notes)


def _fusion_source_rows(spec: Spec, points: list[GridPoint], results, done: set[str],
                        records: Records, sizes: "_Sizes") -> list[Row]:
    """AdapterFusion's source adapters (pipeline/fusion_sources.py): each distinct one is
    trained once, by the first fusion trial still to run that needs it; one row per adapter,
    done when it is in the results directory's cache."""
    todo = [p for p in points if p.method == "fusion" and p.method_config.get("source_tasks")
            and p.trial_key not in done]
    if not todo:
        return []  # the imports below load torch: only for specs that need them
    import adapters
    from pipeline.fusion_sources import SOURCE_METHOD, is_cached, source_config, source_key

    rows, seen = [], set()
    for p in todo:
        config = adapters.make_config("fusion", p.method_config)
        for task in config.source_tasks:
            key = source_key(p.model, task, config, p.seed, p.training)
            if key in seen:
                continue
            seen.add(key)
            cached = is_cached(results, key)
            kind = kind_name(TASKS[task], spec.training.objective)
            train = Estimate(0.0, "cached") if cached else \
                _train(spec, SOURCE_METHOD, _json(source_config(config)), task, kind, records,
                       sizes)
            rows.append(Row(f"{SOURCE_METHOD} (fusion source, lr={config.source_lr:g}, "
                            f"seed={p.seed})", task, 1, int(cached), train,
                            Estimate(0.0, "–"), grid=False))
    return rows


def _label(entry: MethodEntry) -> str:
    import adapters

    # A multi-task method's defaults as declared (multitask_adapter has no valid default: its
    # adapter must be named, so make_config would refuse {}).
    default = dataclasses.asdict(MultitaskConfig() if entry.name in MULTITASK_METHODS
                                 else adapters.make_config(entry.name))
    changed = {k: v for k, v in entry.config.items() if default.get(k) != v}
    return entry.name + (f"({', '.join(f'{k}={v}' for k, v in sorted(changed.items()))})"
                         if changed else "")


def _train(spec: Spec, method: str, config: str, task: str, batch_kind: str, records: Records,
           sizes: "_Sizes") -> Estimate:
    training = spec.training
    if training.epochs == 0:
        return Estimate(0.0, "probes only (epochs: 0)")
    examples = sizes.examples(task)
    if examples is None:
        return Estimate(None, "training set size unknown (not in the data mirror)")
    work = examples * training.epochs  # examples seen
    if training.max_steps is not None:
        work = min(work, training.max_steps * training.batch_size)
    found = records.runs.get((method, config, task), [])
    same = [s for e, n, s in found if e == training.epochs and n == examples]
    if same:
        return Estimate(statistics.median(same), f"runs ({len(same)})")
    if found:
        scaled = [s * work / (e * n) for e, n, s in found if e * n]
        if scaled:
            ratio = statistics.median(work / (e * n) for e, n, s in found if e * n)
            return Estimate(statistics.median(scaled),
                            f"runs ({len(scaled)}) ×{ratio:.3g} (other budget: scaled by "
                            "examples × epochs)")
    steps = min(math.ceil(examples / training.batch_size) * training.epochs,
                training.max_steps or math.inf)
    cell = (method, config, "train", training.max_seq_len, training.batch_size, 1, 0, batch_kind)
    if records.probe_ms.get(cell):
        ms = statistics.median(records.probe_ms[cell])
        return Estimate(ms / 1000 * steps, f"probe×steps ({steps} steps)")
    per_step = sizes.step_s("train", training.max_seq_len, training.batch_size)
    if per_step is None:
        return Estimate(None, "no records and no model size")
    return Estimate(per_step.seconds * steps, f"guess: {per_step.source} × {steps} steps", True)


def _probes(spec: Spec, entry: MethodEntry, config: str, batch_kind: str, records: Records,
            sizes: "_Sizes", todo_points: int) -> Estimate:
    """Seconds of every probe cell on ``batch_kind``'s batches that the trials of this method
    entry will measure (``todo_points``: its points left of tasks of that kind)."""
    probes = spec.probes
    if not todo_points or not probes.cells:
        return Estimate(0.0, "–")
    runs = todo_points if probes.force else 1
    total, guessed, sources, unknown = 0.0, False, set(), False
    for phase, seq, batch, n_tasks, dropped in _cells(spec, entry):
        key = (entry.name, config, phase, seq, batch, n_tasks, dropped, batch_kind)
        if not probes.force and key in records.measured:
            sources.add("measured before")
            continue
        if records.probe_ms.get(key):
            step = Estimate(statistics.median(records.probe_ms[key]) / 1000, "probe records")
        else:
            step = sizes.step_s(phase, seq, batch, n_tasks)
            if step is None:
                unknown = True
                continue
        total += step.seconds * (probes.warmup + probes.reps) * runs
        guessed |= step.guess
        sources.add("guess" if step.guess else step.source)
    if unknown and not total:
        return Estimate(None, "no records and no model size")
    return Estimate(total, ", ".join(sorted(sources)) or "–", guessed)


def _cells(spec: Spec, entry: MethodEntry):
    """(phase, seq_len, batch, n_tasks, dropped) of every cell the trials will probe."""
    probes = spec.probes
    cells = [(phase, seq, batch, n, d) for seq, batch in probes.cells for phase in probes.phases
             for n in probes.n_tasks for d in probes.dropped_layers]
    if all(n == 1 and d == 0 for _, _, _, n, d in cells):
        return cells  # always applicable
    from pipeline.probe_plan import applicable

    model = _tiny_with(entry)  # applicability depends on the method's modules, not the model size
    return [c for c in cells if model is None or applicable(model, entry.name, c[0], c[3], c[4])]


def _tiny_with(entry: MethodEntry):
    import adapters
    from pipeline.models import load_model

    try:
        model = load_model("tiny-bert")
        adapters.apply_method(model, entry.name, entry.config)
        return model
    except Exception:  # noqa: BLE001 - a config that needs a bigger model: count every cell
        return None


class _Sizes:
    """Model and data sizes (each found once), and the first-order seconds per step from them:
    k[phase] × total parameters × seq_len × batch (× n_tasks)."""

    def __init__(self, spec: Spec, records: Records, device: str, notes: list[str]):
        self.spec, self.records, self.device, self.notes = spec, records, device, notes
        self._params = None
        self._examples = {}

    def examples(self, task: str) -> int | None:
        """Training examples of a task; of a multi-task group ("sst2+rte"), the sum of its
        tasks' (an epoch of train_multitask draws every task's batches once)."""
        if task not in self._examples:
            counts = [train_examples(self.spec, t) for t in task.split("+")]
            self._examples[task] = None if None in counts else sum(counts)
        return self._examples[task]

    def params(self) -> int | None:
        if self._params is None:
            self._params = self.records.model_params or base_params(self.spec.model) or 0
        return self._params or None

    def step_s(self, phase: str, seq: int, batch: int, n_tasks: int = 1) -> Estimate | None:
        params = self.params()
        if params is None:
            return None
        calibration = self.records.calibration
        if phase in self.records.k:
            k, n = self.records.k[phase]
            source = f"k from {n} {phase} probe(s) on this device"
        elif calibration:
            k = calibration["k"][phase]
            source = (f"k calibrated on this device with {calibration['model']} "
                      f"{calibration['measured_at'][:10]}")
        else:
            k, source = CPU_K[phase], CPU_K_SOURCE
            note = (f"no {phase} probe records on {self.device}: guesses use the {phase} constant "
                    f"measured on a 2-core CPU (k={k:.3g} s per parameter × token); "
                    "`adapterbench plan SPEC --calibrate` times this machine instead")
            if note not in self.notes:
                self.notes.append(note)
        return Estimate(k * params * seq * batch * n_tasks, source, True)


def base_params(model: str) -> int | None:
    """Parameters of the model before any method (pipeline/models.py)."""
    from pipeline.models import BASE_PARAMS, count_base_params

    if model in BASE_PARAMS:
        return BASE_PARAMS[model]
    try:
        return count_base_params(model)
    except Exception:  # noqa: BLE001 - an unreachable hub id: no guess
        return None


def train_examples(spec: Spec, task_name: str) -> int | None:
    """Training examples a trial will see: max_train_samples, capped by the split's size when
    the data mirror has it (its Parquet footer: no data read)."""
    from pipeline.tasks import default_data_dir, mirror_file, train_source

    limit = spec.training.max_train_samples
    source = train_source(TASKS[task_name], spec.training.train_split)
    data_dir = Path(spec.data_dir) if spec.data_dir else default_data_dir()
    path = mirror_file(source.task, source.split, data_dir, source.language)
    if path is None:
        return limit
    rows = pq.ParquetFile(path).metadata.num_rows
    return rows if limit is None else min(limit, rows)


# --- entry points --------------------------------------------------------------------------------

def forecast_line(spec: Spec, points: list[GridPoint], results, done: set[str]) -> str:
    """The sweep's start line; a forecast that fails never stops a sweep."""
    try:
        device = local_device()
        if spec.resources.gpus_per_trial > 0 and device.startswith("cpu:"):
            # a driver without a GPU (a cluster's CPU head) would forecast GPU trials from its
            # CPU's records or constants
            return (f"forecast skipped: trials ask for GPUs and this driver has none "
                    f"({device}); `adapterbench plan SPEC --device NAME` forecasts for the "
                    "workers' GPU")
        return plan(spec, points, results, done, device).line()
    except Exception as e:  # noqa: BLE001
        return f"forecast unavailable ({type(e).__name__}: {e})"


def main(spec_path: str, results: str, device: str | None = None,
         calibrate: bool = False) -> int:
    from pipeline.grid import expand
    from pipeline.spec import load_spec

    spec = load_spec(spec_path)
    if calibrate:
        from pipeline.calibrate import CalibrationError, calibrate as run_calibration

        try:
            cal = run_calibration(spec.model, spec.resources.torch_threads, results,
                                  device or local_device())
        except CalibrationError as e:
            print(f"adapterbench: error: plan --calibrate: {e}", file=sys.stderr)
            return 1
        print(f"calibrated {cal['device']} with {cal['model']} at {cal['seq_len']} × "
              f"{cal['batch_size']}, {cal['threads']} thread(s): train "
              f"{cal['median_ms']['train']:.0f} ms, inference {cal['median_ms']['inference']:.0f} "
              f"ms a step (k {cal['k']['train']:.3g} / {cal['k']['inference']:.3g})")
    forecast = plan(spec, expand(spec), results, device=device)
    print(forecast.table())
    for note in forecast.notes:
        print(f"note: {note}")
    print(forecast.line())
    return 0
