"""BitFit (Ben Zaken et al., 2021): train only the bias terms (plus the task head)."""

from dataclasses import dataclass

from adapters.registry import Method, register


@dataclass
class BitFitConfig:
    pass


def _apply(model, config: BitFitConfig) -> None:
    for name, p in model.base_model.named_parameters():
        if name.endswith(".bias"):
            p.requires_grad_(True)


# LR: BitFit trains few parameters, like adapters (Compacter App. A searches 1e-4..3e-3 for them).
register(Method("bitfit", BitFitConfig, _apply, default_lrs=(1e-3,),
                description="BitFit: biases only"))
