"""Cross-layer shared adapter (AdapterDrop App. D): one Pfeiffer adapter whose weights every layer
uses (ALBERT-style sharing, specialised to adapters), so its size no longer grows with depth.

Trainable: 2·d·m + d + m once, m = floor(d / reduction_factor). AdapterDrop Table 6 counts the
weights only (RoBERTa-base: 884k at rate 16 without sharing, 295k shared at 4, 74k shared at 16).
"""

from __future__ import annotations

from dataclasses import dataclass

from adapters.bottleneck import BottleneckAdapter
from adapters.houlsby import BottleneckConfig, insert_adapters
from adapters.registry import Method, register


@dataclass
class SharedAdapterConfig(BottleneckConfig):
    # Compression rate 16, AdapterDrop App. D: "The standard compression rate is 16"; Table 6 also
    # runs 4 and 1.33. A float because of 1.33, which stands for 4/3: 884k = 2·768·576 needs
    # m = 768·3/4, so write 1.3333333333333333 to reproduce it (1.33 gives m = 577).
    reduction_factor: float = 16.0
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


register(Method("shared_adapter", SharedAdapterConfig, _apply, default_lrs=(1e-3,),
                description="one Pfeiffer adapter shared by all layers (AdapterDrop App. D)"))
