"""PHM-Adapter: W = Σ A_i ⊗ B_i (Compacter eq. 4), counts (Compacter §4), identity, frozen base."""

import pytest
import torch

import adapters
from adapters.phm import PHMConfig, PHMLinear
from family_models import (D, HEAD, MODELS, assert_frozen_unchanged_after_step, blocks_per_stack,
                           layer_norm_params, logits)

TINY = {"phm_dim": 4, "reduction_factor": 8}  # n = 4 divides d = 32 and m = 4


@pytest.mark.parametrize("arch", ["bert", "t5"])
@pytest.mark.parametrize("n", [2, 4])
def test_count_matches_compacter_section_4(arch, n):
    model = MODELS[arch]()
    adapters.apply_method(model, "phm", {"phm_dim": n, "reduction_factor": 8})
    m = D // 8
    # Compacter §4: each PHM adapter has 2·(k·d/n + n³) weights; plus biases d + m
    per_adapter = 2 * (m * D // n + n ** 3) + D + m
    expected = 2 * sum(blocks_per_stack(arch)) * per_adapter + layer_norm_params(arch) + HEAD
    assert adapters.count_parameters(model)[0] == expected


def test_weight_is_a_sum_of_kronecker_products():
    torch.manual_seed(0)
    layer = PHMLinear(12, 8, n=4)  # out 8, in 12: B_i is [2, 3]
    expected = sum(torch.kron(layer.rule[i], layer.B[i]) for i in range(4))
    assert torch.allclose(layer.weight(), expected, atol=0, rtol=1e-6)
    x = torch.randn(5, 12)
    assert torch.allclose(layer(x), x @ expected.T + layer.bias, atol=1e-7)


def test_defaults_and_validation():
    c = PHMConfig()
    assert (c.phm_dim, c.reduction_factor, c.activation, c.train_layer_norm) == \
        (12, 32, "gelu", True)
    with pytest.raises(ValueError):
        PHMConfig(phm_dim=0)
    with pytest.raises(ValueError, match="must divide"):  # n = 12 does not divide d = 32
        adapters.apply_method(MODELS["bert"](), "phm", {"reduction_factor": 8})


@pytest.mark.parametrize("arch", ["bert", "t5"])
def test_identity_at_init_and_frozen_base(arch):
    base, model = MODELS[arch](), MODELS[arch]()
    adapters.apply_method(model, "phm", TINY)
    assert torch.equal(logits(model), logits(base))
    assert_frozen_unchanged_after_step(model)
    assert not torch.equal(logits(model), logits(base))
