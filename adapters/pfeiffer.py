"""Pfeiffer adapters (Pfeiffer et al., 2021a): one bottleneck adapter per layer, after the FFN
output projection (AdapterDrop Fig. 1, right). Same config as Houlsby."""

from adapters.configs import BottleneckConfig
from adapters.houlsby import insert_adapters


def _apply(model, config: BottleneckConfig) -> None:
    insert_adapters(model, config, ("ffn_output",))
