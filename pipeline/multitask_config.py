"""The multi-task methods' config (pipeline/multitask.py trains them), torch-free so that a spec
can be validated and planned without importing torch (pipeline/spec.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

import adapters

SAMPLING = ("proportional", "temperature")


@dataclass(frozen=True)
class MultitaskConfig:
    # proportional: p_t ∝ n_t; temperature: p_t ∝ n_t^(1/T), which flattens the mixture toward
    # small tasks as T grows (T = 1 is proportional; Arivazhagan et al. 2019's multilingual
    # sampling, as multi-task setups commonly use).
    sampling: str = "proportional"
    temperature: float = 2.0
    adapter: str = "full"  # multitask_adapter: the adapter method every task gets
    adapter_config: dict = field(default_factory=dict)
    # multitask_add (the paper's extensibility experiment): the task added to a model trained
    # on the others, and the share of the old tasks' data replayed while it is added.
    new_task: str | None = None
    replay: float = 0.0

    def __post_init__(self):
        if self.sampling not in SAMPLING:
            raise ValueError(f"sampling {self.sampling!r}; valid: {', '.join(SAMPLING)}")
        if not isinstance(self.temperature, (int, float)) or self.temperature <= 0:
            raise ValueError(f"temperature must be positive, got {self.temperature!r}")
        if self.adapter not in adapters.METHODS:
            raise ValueError(f"adapter {self.adapter!r}; known: {', '.join(sorted(adapters.METHODS))}")
        adapters.make_config(self.adapter, self.adapter_config)  # raises on unknown keys
        if not isinstance(self.replay, (int, float)) or not 0 <= self.replay <= 1:
            raise ValueError(f"replay is a share of the old tasks' data in [0, 1], got {self.replay!r}")


# spec method name -> the adapter it forces (None: from the config)
MULTITASK_METHODS = {"multitask_full": "full", "multitask_adapter": None, "multitask_add": "full"}


def make_config(method: str, overrides: dict) -> MultitaskConfig:
    config = MultitaskConfig(**overrides)
    forced = MULTITASK_METHODS[method]
    if forced is not None and config.adapter != forced:
        raise ValueError(f"{method} trains every parameter: its adapter is {forced!r}")
    if forced is None and config.adapter == "full":
        raise ValueError("multitask_adapter needs an adapter method (config: {adapter: pfeiffer})")
    if (method == "multitask_add") != (config.new_task is not None):
        raise ValueError("new_task (and replay) belong to multitask_add, which needs new_task")
    return config
