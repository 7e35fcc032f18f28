"""Cross-layer shared adapter (AdapterDrop App. D): one adapter, every layer."""

import pytest
import torch

import adapters
from adapters.bottleneck import AdaptedLinear
from adapters.shared import SharedAdapterConfig, shared_bottleneck_size
from family_models import D, HEAD, MODELS, assert_frozen_unchanged_after_step, logits


@pytest.mark.parametrize("arch", ["bert", "t5"])
@pytest.mark.parametrize("rate", [16, 4, 4 / 3])
def test_count_is_one_adapter_whatever_the_depth(arch, rate):
    for layers in (2, 3):
        model = MODELS[arch](layers=layers)
        adapters.apply_method(model, "shared_adapter", {"reduction_factor": rate})
        m = {16: 2, 4: 8, 4 / 3: 24}[rate]  # floor(32 / rate)
        assert adapters.count_parameters(model)[0] == 2 * D * m + D + m + HEAD


def test_table6_bottlenecks_on_roberta_base_width():
    # AdapterDrop Table 6 (weights only, d = 768): 884k at 1.33 (= 4/3), 295k at 4, 74k at 16
    weights = {r: 2 * 768 * shared_bottleneck_size(768, r) for r in (4 / 3, 4, 16)}
    assert weights == {4 / 3: 884_736, 4: 294_912, 16: 73_728}
    assert shared_bottleneck_size(768, 1.33) == 577  # the rounded rate is not 4/3
    assert SharedAdapterConfig().reduction_factor == 16
    with pytest.raises(ValueError):
        SharedAdapterConfig(reduction_factor=0.5)


@pytest.mark.parametrize("arch", ["bert", "t5"])
def test_every_layer_uses_the_same_weights(arch):
    model = MODELS[arch]()
    adapters.apply_method(model, "shared_adapter")
    wrapped = [m for m in model.modules() if isinstance(m, AdaptedLinear)]
    assert len(wrapped) == (2 if arch == "bert" else 4)  # Pfeiffer: after each FFN
    assert all(w.adapter is wrapped[0].adapter for w in wrapped)


@pytest.mark.parametrize("arch", ["bert", "t5"])
def test_identity_at_init_and_frozen_base(arch):
    base, model = MODELS[arch](), MODELS[arch]()
    adapters.apply_method(model, "shared_adapter")
    assert torch.equal(logits(model), logits(base))
    assert_frozen_unchanged_after_step(model)
    assert not torch.equal(logits(model), logits(base))
