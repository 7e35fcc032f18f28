"""Grid expansion: one GridPoint per (method entry, task, lr, seed), each with a stable trial_key.

trial_key hashes everything that changes a point's result (model, method + config, task, lr,
seed, training budget, probe spec) and nothing that does not (sweep name, data location,
resources), so re-running a spec finds the points it already finished. To keep finding them
across code versions (a resumed months-long sweep must not re-run everything because a field was
added), the config parts are hashed as *differences from a baseline*:

- method config, training and probes: only the fields whose value differs from the field's
  baseline value in pipeline/key_baseline.py (the value that trains exactly as the keys were
  minted); a field not in the baseline is compared with its current default. Values compare
  after lists become tuples and whole floats ints (``16`` and ``16.0`` are one value).
- the method's ``config_version`` (adapters/registry.py) and key_baseline's TRAINING_VERSION /
  PROBES_VERSION, only when they are not 1.

What that gives:
- a new field with a neutral default: not hashed at its default, old keys are reused;
- a changed default: the baseline keeps the old value, so points using the new default differ
  from it and re-run, and a spec that sets the old value explicitly still finds its records;
- a default whose meaning changed with the same value: bump the version, every key of that
  method (or every key, for training / probes) changes.
The records keep the full resolved config (GridPoint.method_config / training / probes); only
the key is computed from the differences.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass

import adapters
from pipeline import key_baseline
from pipeline.multitask_config import MULTITASK_METHODS
from pipeline.spec import Probes, Spec, Training, languages_for


@dataclass(frozen=True)
class GridPoint:
    sweep: str
    model: str
    method: str
    method_config: dict
    task: str
    lr: float
    seed: int
    training: dict
    probes: dict
    data_dir: str | None
    trial_key: str

    @property
    def run_name(self) -> str:
        """The MLflow child run name: <method>/<task>/lr=<lr>/seed=<seed>."""
        return f"{self.method}/{self.task}/lr={self.lr:g}/seed={self.seed}"

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def trial_key(**identity) -> str:
    canonical = json.dumps(identity, sort_keys=True, separators=(",", ":"), default=list)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _canon(value):
    """One form per value: lists -> tuples, whole floats -> ints (recursively)."""
    if isinstance(value, (list, tuple)):
        return tuple(_canon(v) for v in value)
    if isinstance(value, dict):
        return {k: _canon(v) for k, v in value.items()}
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def defaults(cls) -> dict:
    """A config dataclass's field defaults ({} for None)."""
    out = {}
    for f in dataclasses.fields(cls) if cls is not None else ():
        if f.default is not dataclasses.MISSING:
            out[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            out[f.name] = f.default_factory()
    return out


def changed(values: dict, baseline: dict, cls) -> dict:
    """The fields of ``values`` that differ from their baseline value (or, for a field the
    baseline does not list, from the dataclass default), in canonical form."""
    reference = {**defaults(cls), **baseline}
    out = {}
    for name, value in values.items():
        value = _canon(value)
        if name not in reference or value != _canon(reference[name]):
            out[name] = value
    return out


def key_identity(model: str, method: str, method_config: dict, task: str, lr: float, seed: int,
                 training: dict, probes: dict) -> dict:
    """What trial_key hashes for one grid point (the rule in this module's docstring)."""
    # A spec method outside the adapter registry has no config class here: only its baseline
    # entry (if any) is left out of the key.
    registered = adapters.METHODS.get(method)
    identity = dict(model=model, method=method, task=task, lr=lr, seed=seed,
                    method_config=changed(method_config, key_baseline.METHODS.get(method, {}),
                                          registered.config_cls if registered else None),
                    training=changed(training, key_baseline.TRAINING, Training),
                    probes=changed(probes, key_baseline.PROBES, Probes))
    versions = dict(method=registered.config_version if registered else 1,
                    training=key_baseline.TRAINING_VERSION, probes=key_baseline.PROBES_VERSION)
    identity.update({f"{k}_version": v for k, v in versions.items() if v != 1})
    return identity


def expand(spec: Spec) -> list[GridPoint]:
    training = dataclasses.asdict(spec.training)
    probes = dataclasses.asdict(spec.probes)
    points = []
    for entry in spec.methods:
        # a multi-task method trains every task of the spec in one grid point ("sst2+rte")
        tasks = ["+".join(spec.tasks)] if entry.name in MULTITASK_METHODS else spec.tasks
        for task in tasks:
            # per-task zero-shot languages (a mapping in the spec): the point keeps its own only
            # (a multi-task point keeps the mapping: its trial evaluates each task's languages)
            own = training if not isinstance(spec.training.eval_languages, dict) \
                or entry.name in MULTITASK_METHODS else \
                dict(training, eval_languages=languages_for(spec.training, task))
            # everything but lr and seed is the same for the whole method × task (canonicalising
            # the configs once instead of per point: 2.4 of expand's 2.9 s for 10k points)
            common = key_identity(spec.model, entry.name, entry.config, task, 0.0, 0, own, probes)
            for lr in entry.lrs:
                for seed in spec.seeds:
                    identity = dict(common, lr=lr, seed=seed)
                    points.append(GridPoint(spec.name, spec.model, entry.name, entry.config, task,
                                            lr, seed, own, probes, spec.data_dir,
                                            trial_key(**identity)))
    return points
