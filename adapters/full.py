"""Full fine-tuning: every parameter trains (the baseline of both papers)."""


from adapters.configs import FullConfig


def _apply(model, config: FullConfig) -> None:
    for p in model.parameters():
        p.requires_grad_(True)
