"""The adapter family. Importing this package registers every method in ``METHODS``."""

from adapters import bitfit, full, houlsby, pfeiffer  # noqa: F401  (each registers itself)
from adapters import adapterdrop, compacter, fusion, lowrank, phm, shared  # noqa: F401
from adapters import intrinsic_said, lora, prompt_tuning  # noqa: F401
from adapters.registry import (
    METHODS,
    apply_method,
    count_parameters,
    get_method,
    head_parameters,
    make_config,
    trainable_state_dict,
)

__all__ = ["METHODS", "apply_method", "count_parameters", "get_method", "head_parameters",
           "make_config", "trainable_state_dict"]
