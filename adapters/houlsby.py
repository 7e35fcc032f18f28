"""Houlsby adapters (Houlsby et al., 2019): a bottleneck adapter after the attention output
projection and after the FFN output projection of every layer (AdapterDrop Fig. 1, left)."""

from dataclasses import dataclass

from adapters.bottleneck import AdaptedLinear, BottleneckAdapter
from adapters.insertion import points_for, replace_submodule, transformer_layers
from adapters.registry import Method, register


@dataclass
class BottleneckConfig:
    # Reduction factor 16: AdapterDrop §2 / App. D "the standard compression rate is 16".
    reduction_factor: int = 16
    # ReLU: AdapterHub's default non-linearity for Houlsby and Pfeiffer configs (used by AdapterDrop).
    activation: str = "relu"
    # Layer norms stay frozen as in AdapterHub's configs (AdapterDrop's setting); Houlsby §3.1
    # and Compacter §5 train them: set True for that variant.
    train_layer_norm: bool = False

    def __post_init__(self):
        if self.reduction_factor < 1:
            raise ValueError("reduction_factor must be >= 1")
        if self.activation not in ("relu", "gelu", "swish"):
            raise ValueError("activation must be one of relu, gelu, swish")


def insert_adapters(model, config: BottleneckConfig, positions: tuple[str, ...]) -> None:
    """Wrap the Linear at each named position of every layer with a fresh adapter."""
    points = points_for(model)
    d = model.config.hidden_size
    m = max(1, d // config.reduction_factor)
    for layer in transformer_layers(model):
        for position in positions:
            path = getattr(points, position)
            linear = layer.get_submodule(path)
            adapter = BottleneckAdapter(d, m, config.activation).to(linear.weight.device)
            replace_submodule(layer, path, AdaptedLinear(linear, adapter))
        if config.train_layer_norm:
            for name, p in layer.named_parameters():
                if "LayerNorm" in name:
                    p.requires_grad_(True)


def _apply(model, config: BottleneckConfig) -> None:
    insert_adapters(model, config, ("attention_output", "ffn_output"))


register(Method("houlsby", BottleneckConfig, _apply, default_lrs=(1e-3,),
                description="Houlsby adapters after attention and FFN"))
