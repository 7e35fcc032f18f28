"""Where a trial's seconds went: named phases on one monotonic clock (issue 12).

Phases of a trial: load_model (tokenizer, weights, method, device), tokenize (splits to rows),
train_steps (optimizer steps, lease waits excluded), eval (every dev and zero-shot evaluation),
lease_wait (steps that waited for another trial's probe), probes, logging (weights + MLflow),
sources (AdapterFusion: training or loading the adapters it fuses, pipeline/fusion_sources.py).
Their sum is the trial's wall time less what no phase covers (record building, parameter
counts), which the run record keeps as ``wall_s``.
"""

from __future__ import annotations

import contextlib
import time

PHASES = ("load_model", "tokenize", "train_steps", "eval", "lease_wait", "probes", "logging",
          "sources")


class PhaseClock:
    def __init__(self):
        self.started = time.perf_counter()
        self.seconds = dict.fromkeys(PHASES, 0.0)

    @contextlib.contextmanager
    def __call__(self, name: str):
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - t0)

    def add(self, name: str, seconds: float) -> None:
        if name not in self.seconds:
            raise KeyError(f"unknown phase {name!r}; known: {', '.join(PHASES)}")
        self.seconds[name] += seconds

    def wall(self) -> float:
        return time.perf_counter() - self.started
