"""Training the layer norms, as the Compacter paper does for every adapter method it compares.

Compacter §2.2: adapter methods "only train adapters and layer normalizations"; App. B attributes
the share of trainable parameters to layer norms and biases. The Bias share it reports for T5-base
(23.51% of Compacter's 0.073%) is matched exactly when *every* layer norm trains, the stacks' final
ones included, so this unfreezes all of them (not only those inside blocks, which is what
``insert_adapters``'s ``train_layer_norm`` does for Houlsby/Pfeiffer).
"""

import torch.nn as nn


def unfreeze_layer_norms(model: nn.Module) -> None:
    for module in model.base_model.modules():
        # nn.LayerNorm (BERT family) and T5LayerNorm (scale only, no bias)
        if "layernorm" in type(module).__name__.lower():
            for p in module.parameters(recurse=False):
                p.requires_grad_(True)
