"""Full fine-tuning: every parameter trains (the baseline of both papers)."""

from dataclasses import dataclass

from adapters.registry import Method, register


@dataclass
class FullConfig:
    pass


def _apply(model, config: FullConfig) -> None:
    for p in model.parameters():
        p.requires_grad_(True)


register(Method("full", FullConfig, _apply, default_lrs=(5e-5,),
                description="full fine-tuning (all parameters)"))
