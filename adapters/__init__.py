"""The adapter family. Importing this package registers every method in ``METHODS``
(adapters/configs.py) without importing torch; a method's modules load when it is applied."""

from adapters import configs  # noqa: F401  (registers every method)
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
