"""Pfeiffer adapters (Pfeiffer et al., 2021a): one bottleneck adapter per layer, after the FFN
output projection (AdapterDrop Fig. 1, right). Same config as Houlsby."""

from adapters.houlsby import BottleneckConfig, insert_adapters
from adapters.registry import Method, register


def _apply(model, config: BottleneckConfig) -> None:
    insert_adapters(model, config, ("ffn_output",))


# LR 1e-4 is Pfeiffer et al.'s default; 1e-3 trains faster on short CPU budgets.
register(Method("pfeiffer", BottleneckConfig, _apply, default_lrs=(1e-3,),
                description="Pfeiffer adapter after FFN"))
