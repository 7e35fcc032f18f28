"""Grid expansion: one GridPoint per (method entry, task, lr, seed), each with a stable trial_key.

trial_key hashes everything that changes a point's result (model, method + resolved config, task,
lr, seed, training budget, probe spec) and nothing that does not (sweep name, resources), so
re-running a spec finds the points it already finished.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass

from pipeline.spec import Spec


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


def expand(spec: Spec) -> list[GridPoint]:
    training = dataclasses.asdict(spec.training)
    probes = dataclasses.asdict(spec.probes)
    points = []
    for entry in spec.methods:
        for task in spec.tasks:
            for lr in entry.lrs:
                for seed in spec.seeds:
                    identity = dict(model=spec.model, method=entry.name, method_config=entry.config,
                                    task=task, lr=lr, seed=seed, training=training, probes=probes)
                    points.append(GridPoint(spec.name, spec.model, entry.name, entry.config, task,
                                            lr, seed, training, probes, spec.data_dir,
                                            trial_key(**identity)))
    return points
