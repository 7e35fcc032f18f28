"""Cross-layer shared adapter (AdapterDrop App. D): one Pfeiffer adapter whose weights every layer
uses (ALBERT-style sharing, specialised to adapters), so its size no longer grows with depth.

Trainable: 2·d·m + d + m once, m = floor(d / reduction_factor). AdapterDrop Table 6 counts the
weights only (RoBERTa-base: 884k at rate 16 without sharing, 295k shared at 4, 74k shared at 16).
"""

from __future__ import annotations


from adapters.bottleneck import BottleneckAdapter
from adapters.configs import SharedAdapterConfig
from adapters.houlsby import insert_adapters


    # activation (ReLU) and frozen layer norms: the Pfeiffer setting of AdapterDrop App. A.2,
    # inherited from BottleneckConfig (whose __post_init__ checks reduction_factor >= 1).


def shared_bottleneck_size(d: int, rate: float) -> int:
    # + 1e-9: 768 / (4/3 rounded to a double) must give 576, not 575.
    return max(1, int(d / rate + 1e-9))


def _apply(model, config: SharedAdapterConfig) -> None:
    shared = {}

    def make_adapter(d: int) -> BottleneckAdapter:
        if "adapter" not in shared:  # the first call creates it; every later layer reuses it
            shared["adapter"] = BottleneckAdapter(
                d, shared_bottleneck_size(d, config.reduction_factor), config.activation)
        return shared["adapter"]

    # Pfeiffer position (after the FFN), AdapterDrop App. D.
    insert_adapters(model, config, ("ffn_output",), make_adapter=make_adapter)
