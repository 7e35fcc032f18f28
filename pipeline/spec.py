"""Sweep specs: YAML -> validated dataclasses, before anything runs.

Every error is a ``SpecError`` with one line that names what is wrong and what is valid.
The spec format (see jobs/specs/demo.yaml for a commented example):

    name: demo                      # sweep name: MLflow experiment and record label
    model: minilm                   # minilm | tiny-bert | bert-base | HF id | local path
    tasks: [sst2]
    seeds: [0, 1]
    methods:                        # each: registry name, optional config overrides and LRs
      - {name: full, lrs: [1.0e-4]}
      - {name: houlsby, config: {reduction_factor: 16}, lrs: [1.0e-3]}
    training: {epochs: 2, max_train_samples: 2000, batch_size: 32, max_seq_len: 64}
    probes: {cells: [[128, 16]], reps: 10, warmup: 3}
    resources: {cpus_per_trial: 1, max_concurrent_trials: 2}
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

import adapters
from pipeline.kinds import OBJECTIVES
from pipeline.models import BUILTIN_CONFIGS, model_type
from pipeline.multitask_config import MULTITASK_METHODS
from pipeline.multitask_config import make_config as multitask_config
from pipeline.tasks import (TASKS, dev_source, language_source, mirror_path, needs_hub,
                            train_source)

# owner/name as the HF hub spells repository ids (letters, digits, '-', '_', '.'; 96 at most)
HF_ID = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95}$")
# A sweep name becomes a directory (Ray Tune's experiment folder under <results>/ray) and an
# MLflow experiment name: one path component, no separators, no "..", not absolute.
SWEEP_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
# Split names and language codes become file names in the data mirror.
SPLIT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_]{0,63}$")
# probes.paired: the fewest pairs whose order statistics give a 95% interval for the median
# ratio (pipeline/paired.py, median_ci: with n = 6, P(all on one side) = 2 / 2^6 < 0.05).
MIN_PAIRS = 6


class SpecError(ValueError):
    """A spec that cannot run; the message is one line meant for the person who wrote it."""


@dataclass(frozen=True)
class Training:
    epochs: int = 1
    max_steps: int | None = None  # stop after this many optimizer steps (overrides epochs' end)
    max_train_samples: int | None = None  # first N shuffled (seeded) training examples
    max_eval_samples: int | None = None
    batch_size: int = 32
    eval_batch_size: int = 128
    max_seq_len: int = 128
    warmup_ratio: float = 0.1  # linear warm-up over this share of steps, then linear decay
    weight_decay: float = 0.0
    # "head": the task kind's head (classification, multiple choice, ...); "text2text": T5
    # generates label words / answers, as Compacter trains it (its public code).
    objective: str = "head"
    # Explicit splits instead of the task's defaults (e.g. train on a mirrored validation split
    # offline); the record says which split was used. Never substituted silently.
    train_split: str | None = None
    dev_split: str | None = None
    # Zero-shot cross-lingual evaluation: after training, the task's data in each language
    # (one eval record per language, their mean in the run record). A list applies to every
    # task of the spec; a mapping {task: [languages]} gives each task its own (a task it leaves
    # out is not evaluated zero-shot; a multi-task point scores each task in its own).
    eval_languages: tuple[str, ...] | dict[str, tuple[str, ...]] = ()
    eval_split: str | None = None  # default: the task's dev split
    # Also evaluate every N optimizer steps (time to convergence at a useful resolution;
    # Mundra et al. 2023); None: after every epoch only.
    eval_every_steps: int | None = None


@dataclass(frozen=True)
class Probes:
    phases: tuple[str, ...] = ("train", "inference")
    cells: tuple[tuple[int, int], ...] = ()  # (seq_len, batch_size); empty: no probes
    reps: int = 10
    warmup: int = 3
    # Adapters removed from the first n layers (AdapterDrop Tables 2, 5, 11); 0 = all layers.
    dropped_layers: tuple[int, ...] = (0,)
    # N tasks on one input, inference only (AdapterDrop Tables 2, 11); 1 = a single task.
    n_tasks: tuple[int, ...] = (1,)
    # A probe cell is keyed by (model, method config, phase, cell, n_tasks, dropped layers,
    # device): seeds and LRs do not change timing, so a cell already measured (ok, exclusive)
    # is not probed again unless forced.
    force: bool = False
    # Time each method's cell interleaved with its baseline (full fine-tuning; the undropped
    # model; N full models in sequence) in one process on one batch and record the ratio per
    # pair with a 95% interval (pipeline/paired.py); tables prefer it. Needs reps >= 6.
    paired: bool = False


@dataclass(frozen=True)
class Resources:
    cpus_per_trial: float = 1
    gpus_per_trial: float = 0
    max_concurrent_trials: int = 2
    max_retries: int = 1  # Ray-level retries of a trial whose worker died

    @property
    def torch_threads(self) -> int:
        """The torch threads a trial runs with (and a calibration times with)."""
        return max(1, int(self.cpus_per_trial))


@dataclass(frozen=True)
class MethodEntry:
    name: str
    config: dict = field(default_factory=dict)  # resolved: every field of the config dataclass
    lrs: tuple[float, ...] = ()


@dataclass(frozen=True)
class Spec:
    name: str
    model: str
    tasks: tuple[str, ...]
    seeds: tuple[int, ...]
    methods: tuple[MethodEntry, ...]
    training: Training
    probes: Probes
    resources: Resources
    data_dir: str | None = None


def _check_model(model: str) -> None:
    """A built-in name, an existing local path, or something the HF hub could hold."""
    if model in BUILTIN_CONFIGS or model == "minilm" or Path(model).expanduser().exists():
        return
    if model.startswith(("/", ".", "~")) or model.count("/") > 1:
        raise SpecError(f"model: local path {model!r} does not exist")
    if not HF_ID.match(model) or ".." in model or model.endswith("."):
        raise SpecError(f"model: {model!r} is neither a built-in name "
                        f"({', '.join(['minilm', *BUILTIN_CONFIGS])}), an existing local path, "
                        "nor an HF id (owner/name)")


def _check_name(name: Any) -> None:
    """The sweep name must stay one safe path component (see SWEEP_NAME)."""
    if not isinstance(name, str) or not SWEEP_NAME.match(name) or ".." in name:
        raise SpecError(f"name: {name!r} is not a valid sweep name (1-100 characters: letters, "
                        "digits, '_', '-', '.'; starting with a letter or digit; no '..', no "
                        "'/'): it names a directory under the results directory")


def data_sources(tasks: list[str], training: Training, fusion_sources=()) -> list:
    """Every split (and language) the spec's trials will read; ``fusion_sources``: tasks that
    AdapterFusion's source adapters train on (their train and dev splits)."""
    out = [s for name in fusion_sources
           for s in (train_source(TASKS[name], training.train_split),
                     dev_source(TASKS[name], training.dev_split))]
    for name in tasks:
        task = TASKS[name]
        if training.epochs > 0:
            out += [train_source(task, training.train_split), dev_source(task, training.dev_split)]
        out += [language_source(task, lang, training.eval_split)
                for lang in languages_for(training, name)]
    return out


def languages_for(training: Training, task: str) -> tuple[str, ...]:
    """One task's zero-shot languages: the spec's list, or the task's entry of its mapping."""
    langs = training.eval_languages
    return tuple(langs.get(task, ())) if isinstance(langs, dict) else tuple(langs)


def _check_data_dir(data_dir: str, tasks: list[str], training: Training, fusion_sources=()) -> None:
    """A data directory named in the spec must hold every split the trials read."""
    if not Path(data_dir).is_dir():
        raise SpecError(f"data_dir: {data_dir!r} is not a directory")
    for source in data_sources(tasks, training, fusion_sources):
        if needs_hub(source, Path(data_dir)):
            raise SpecError(f"data_dir: {data_dir!r} has no {source.task.name} {source.split} "
                            f"split (expected {mirror_path(source.task, source.split, data_dir, source.language)})")


def _check_offline(tasks: list[str], training: Training, data_dir, fusion_sources=()) -> None:
    """With HF_HUB_OFFLINE=1, name in one line every task whose data is not in the mirror."""
    if os.environ.get("HF_HUB_OFFLINE") != "1":
        return
    from pipeline.tasks import default_data_dir

    root = Path(data_dir) if data_dir else default_data_dir()
    missing: dict[str, list[str]] = {}
    for source in data_sources(tasks, training, fusion_sources):
        if needs_hub(source, root):
            lang = f"{source.language}:" if source.language else ""
            missing.setdefault(source.task.name, []).append(lang + source.split)
    if missing:
        parts = "; ".join(f"{t} ({', '.join(dict.fromkeys(s))})" for t, s in missing.items())
        raise SpecError(f"HF_HUB_OFFLINE=1 and not in the data mirror {root}, these tasks would "
                        f"need the HF hub: {parts} (a spec may name a mirrored split with "
                        "training.train_split / dev_split / eval_split)")


def _check_task_options(tasks: list[str], training: Training, model: str) -> None:
    if training.objective not in OBJECTIVES:
        raise SpecError(f"training.objective: {training.objective!r}; valid: {', '.join(OBJECTIVES)}")
    if training.objective == "text2text" and model_type(model) not in (None, "t5"):
        raise SpecError(f"training.objective: text2text needs a T5 model, got {model!r}")
    if training.objective == "text2text":
        from pipeline.kinds.text2text import expresses  # only then: it imports the seq2seq stack

        bad = [t for t in tasks if not expresses(TASKS[t])]
        if bad:
            raise SpecError(f"training.objective: text2text cannot express {', '.join(bad)} (no "
                            "task prefix and label words); it covers: "
                            f"{', '.join(t for t in TASKS if expresses(TASKS[t]))}")
    for key in ("train_split", "dev_split", "eval_split"):
        value = getattr(training, key)
        if value is not None and (not isinstance(value, str) or not SPLIT_NAME.match(value)):
            raise SpecError(f"training.{key}: {value!r} is not a split name (letters, digits, '_')")
    langs = training.eval_languages
    if not isinstance(langs, (tuple, dict)):
        raise SpecError(f"training.eval_languages: a list of language codes or a mapping "
                        f"{{task: [codes]}}, got {langs!r}")
    if isinstance(langs, dict):
        strays = [str(t) for t in langs if t not in tasks]
        if strays:
            raise SpecError(f"training.eval_languages: {', '.join(strays)} not among the spec's "
                            f"tasks ({', '.join(tasks)})")
        if not all(isinstance(v, (list, tuple)) and v for v in langs.values()):
            raise SpecError(f"training.eval_languages: each task maps to a non-empty list of "
                            f"language codes, got {langs!r}")
    per_task = {t: languages_for(training, t) for t in tasks}
    for lang in [lang for codes in per_task.values() for lang in codes]:
        if not isinstance(lang, str) or not SPLIT_NAME.match(lang):
            raise SpecError(f"training.eval_languages: {lang!r} is not a language code")
    if langs:
        for name in [t for t in tasks if per_task[t]]:
            known = TASKS[name].languages
            if not known:
                raise SpecError(f"training.eval_languages: task {name!r} is not multilingual "
                                f"(multilingual tasks: {', '.join(t for t in sorted(TASKS) if TASKS[t].languages)})")
            bad = [lang for lang in per_task[name] if lang not in known]
            if bad:
                raise SpecError(f"training.eval_languages: {name} has no {', '.join(bad)}; "
                                f"known: {', '.join(known)}")


def _fusion_sources(methods, training: Training) -> list[str]:
    """The source tasks of the spec's AdapterFusion entries (pipeline/fusion_sources.py), after
    checking them: a fusion that trains must fuse trained adapters."""
    out = []
    for m in (m for m in methods if m.name == "fusion"):
        sources = list(m.config.get("source_tasks") or ())
        if training.epochs > 0 and not sources:
            raise SpecError("methods (fusion): training a fusion needs config.source_tasks, the "
                            "tasks whose trained adapters it fuses (one per num_adapters); over "
                            "untrained adapters its score would mean nothing (epochs: 0 times "
                            "fusion without them)")
        if sources and training.epochs == 0:
            raise SpecError("methods (fusion): source_tasks are trained with the spec's training "
                            "settings, and training.epochs is 0 (a probe-only spec times fusion "
                            "without them)")
        unknown = [t for t in sources if t not in TASKS]
        if unknown:
            raise SpecError(f"methods (fusion): unknown source task(s) {', '.join(unknown)}; "
                            f"known tasks: {', '.join(sorted(TASKS))}")
        out += [t for t in sources if t not in out]
    if out and training.objective == "text2text":
        from pipeline.kinds.text2text import expresses

        bad = [t for t in out if not expresses(TASKS[t])]
        if bad:
            raise SpecError(f"methods (fusion): text2text cannot express source task(s) "
                            f"{', '.join(bad)}")
    return out


def _check_keys(where: str, given: dict, cls) -> None:
    valid = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(given) - valid)
    if unknown:
        raise SpecError(f"{where}: unknown key(s) {', '.join(unknown)}; valid: {', '.join(sorted(valid))}")


def _section(raw: dict, key: str, cls):
    given = raw.get(key) or {}
    if not isinstance(given, dict):
        raise SpecError(f"{key}: expected a mapping, got {type(given).__name__}")
    _check_keys(key, given, cls)
    try:
        return cls(**{k: (tuple(map(tuple, v)) if k == "cells" else tuple(v) if isinstance(v, list) else v)
                      for k, v in given.items()})
    except (TypeError, ValueError) as e:
        raise SpecError(f"{key}: {e}") from None


def _positive(where: str, value, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
        raise SpecError(f"{where} must be a positive number, got {value!r}")


def _list(raw: dict, key: str) -> list:
    value = raw.get(key)
    if value is None or value == []:
        raise SpecError(f"{key}: must be a non-empty list")
    if not isinstance(value, list):
        value = [value]
    return value


def _method_entry(i: int, raw: Any) -> MethodEntry:
    if isinstance(raw, str):
        raw = {"name": raw}
    if not isinstance(raw, dict) or "name" not in raw:
        raise SpecError(f"methods[{i}]: expected a mapping with a 'name', got {raw!r}")
    _check_keys(f"methods[{i}]", raw, MethodEntry)
    name = raw["name"]
    if name not in adapters.METHODS and name not in MULTITASK_METHODS:
        raise SpecError(f"methods[{i}]: unknown method {name!r}; known methods: "
                        f"{', '.join(sorted([*adapters.METHODS, *MULTITASK_METHODS]))}")
    try:
        if name in MULTITASK_METHODS:  # one grid point over every task of the spec
            config = multitask_config(name, raw.get("config") or {})
            default_lrs = adapters.METHODS[config.adapter].default_lrs
        else:
            config = adapters.make_config(name, raw.get("config") or {})
            default_lrs = adapters.METHODS[name].default_lrs
    except (TypeError, ValueError) as e:
        raise SpecError(f"methods[{i}] ({name}): {e}") from None
    lrs = raw.get("lrs") or list(default_lrs)
    lrs = lrs if isinstance(lrs, list) else [lrs]
    for lr in lrs:
        _positive(f"methods[{i}] ({name}) lr", lr)
    if len(set(lrs)) != len(lrs):
        raise SpecError(f"methods[{i}] ({name}): duplicated learning rate in {lrs}")
    return MethodEntry(name, dataclasses.asdict(config), tuple(float(lr) for lr in lrs))


def parse_spec(raw: Any) -> Spec:
    if not isinstance(raw, dict):
        raise SpecError(f"a spec must be a YAML mapping, got {type(raw).__name__ if raw is not None else 'an empty file'}")
    _check_keys("spec", raw, Spec)
    for key in ("name", "tasks", "methods"):
        if key not in raw:
            raise SpecError(f"spec: missing required key {key!r}")
    _check_name(raw["name"])
    model = str(raw.get("model", "minilm"))
    _check_model(model)
    tasks = [str(t) for t in _list(raw, "tasks")]
    for t in tasks:
        if t not in TASKS:
            raise SpecError(f"tasks: unknown task {t!r}; known tasks: {', '.join(sorted(TASKS))}")
    seeds = _list({"seeds": raw.get("seeds", [0])}, "seeds")
    if not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
        raise SpecError(f"seeds: must be integers, got {seeds}")
    methods = [_method_entry(i, m) for i, m in enumerate(_list(raw, "methods"))]
    for what, values in (("tasks", tasks), ("seeds", seeds)):
        if len(set(values)) != len(values):
            raise SpecError(f"{what}: duplicated entries in {values}")
    for m in methods:
        new_task = m.config.get("new_task") if m.name in MULTITASK_METHODS else None
        if new_task is not None and (new_task not in tasks or len(tasks) < 2):
            raise SpecError(f"methods ({m.name}): new_task {new_task!r} must be one of the spec's "
                            f"tasks {tasks}, beside at least one other task to add it to")
    identities = [(m.name, repr(sorted(m.config.items()))) for m in methods]
    if len(set(identities)) != len(identities):
        raise SpecError("methods: the same method with the same config is listed twice")
    training = _section(raw, "training", Training)
    if not isinstance(training.epochs, int) or training.epochs < 0:
        raise SpecError(f"training.epochs must be a non-negative integer (0: probes only), "
                        f"got {training.epochs!r}")
    for key in ("batch_size", "eval_batch_size", "max_seq_len"):
        _positive(f"training.{key}", getattr(training, key))
    for key in ("max_steps", "max_train_samples", "max_eval_samples", "eval_every_steps"):
        _positive(f"training.{key}", getattr(training, key), allow_none=True)
    probes = _section(raw, "probes", Probes)
    bad_phase = set(probes.phases) - {"train", "inference"}
    if bad_phase:
        raise SpecError(f"probes.phases: unknown {sorted(bad_phase)}; valid: train, inference")
    if any(not isinstance(n, int) or n < 0 for n in probes.dropped_layers):
        raise SpecError(f"probes.dropped_layers: non-negative integers, got {list(probes.dropped_layers)}")
    if any(not isinstance(n, int) or n < 1 for n in probes.n_tasks):
        raise SpecError(f"probes.n_tasks: positive integers, got {list(probes.n_tasks)}")
    for cell in probes.cells:
        if len(cell) != 2 or not all(isinstance(v, int) and v > 0 for v in cell):
            raise SpecError(f"probes.cells: each cell is [seq_len, batch_size], got {list(cell)}")
    if not isinstance(probes.paired, bool):
        raise SpecError(f"probes.paired: true or false, got {probes.paired!r}")
    if probes.paired and (not isinstance(probes.reps, int) or probes.reps < MIN_PAIRS):
        raise SpecError(f"probes.paired needs reps >= {MIN_PAIRS} (fewer pairs cannot give a 95% "
                        f"interval for the median ratio), got {probes.reps!r}")
    resources = _section(raw, "resources", Resources)
    _positive("resources.cpus_per_trial", resources.cpus_per_trial)
    _positive("resources.max_concurrent_trials", resources.max_concurrent_trials)
    _check_task_options(tasks, training, model)
    # AdapterFusion's source adapters are trained on their own tasks' data: checked with the rest
    for m in methods:
        if m.config.get("train_output_layer") and training.objective != "text2text":
            raise SpecError(f"methods ({m.name}): train_output_layer trains T5's LM head (Compacter "
                            "Table 7) and needs training.objective text2text; under the "
                            "classification head objective the head is always trained")
    sources = _fusion_sources(methods, training)
    data_dir = raw.get("data_dir")
    if data_dir is not None:
        _check_data_dir(str(data_dir), tasks, training, sources)
    _check_offline(tasks, training, data_dir, sources)
    return Spec(raw["name"], model, tuple(tasks), tuple(seeds), tuple(methods),
                training, probes, resources, data_dir)


def load_spec(path: str | Path) -> Spec:
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"spec file {str(path)!r} does not exist")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise SpecError(f"{path}: not UTF-8 text (byte {e.start}); a spec is a YAML file") from None
    except OSError as e:
        raise SpecError(f"{path}: cannot be read ({e.strerror})") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise SpecError(f"{path}: invalid YAML{where}: {problem}") from None
    return parse_spec(raw)
