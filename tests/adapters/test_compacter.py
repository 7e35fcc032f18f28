"""Compacter / Compacter++: shared slow A_i, rank-r fast B_i (Compacter eq. 5), counts (§4)."""

import pytest
import torch

import adapters
from adapters.compacter import CompacterConfig
from adapters.phm import PHMLinear
from family_models import (D, HEAD, MODELS, assert_frozen_unchanged_after_step, blocks_per_stack,
                           layer_norm_params, logits)

TINY = {"reduction_factor": 8}  # m = 4: n = 4 divides d and m


@pytest.mark.parametrize("arch", ["bert", "t5"])
@pytest.mark.parametrize("method,positions", [("compacter", 2), ("compacterpp", 1)])
@pytest.mark.parametrize("rank", [1, 2])
def test_count_matches_compacter_section_4(arch, method, positions, rank):
    model = MODELS[arch]()
    adapters.apply_method(model, method, {**TINY, "rank": rank})
    n, m, layers = 4, D // 8, sum(blocks_per_stack(arch))
    # Compacter §4 (r = 1, two adapters per layer): 4·L·(k + d) + n³ weights. In general the
    # shared A_i once (n³) and per adapter 2·r·(d + m) fast weights, plus biases d + m.
    expected = (n ** 3 + positions * layers * (2 * rank * (D + m) + D + m)
                + layer_norm_params(arch) + HEAD)
    assert adapters.count_parameters(model)[0] == expected
    if rank == 1 and positions == 2:
        weights_only = expected - 2 * layers * (D + m) - layer_norm_params(arch) - HEAD
        assert weights_only == 4 * layers * (m + D) + n ** 3  # the paper's formula


def _phm_layers(model):
    return [m for m in model.modules() if isinstance(m, PHMLinear)]


@pytest.mark.parametrize("arch", ["bert", "t5"])
def test_slow_weights_shared_by_every_layer_and_position(arch):
    model = MODELS[arch]()
    adapters.apply_method(model, "compacter", TINY)
    layers = _phm_layers(model)
    assert len(layers) == 2 * 2 * sum(blocks_per_stack(arch))  # down + up, two positions
    assert all(layer.rule is layers[0].rule for layer in layers)
    assert layers[0].rule.shape == (4, 4, 4)


def test_weight_is_kronecker_of_shared_rule_and_rank_one_factors():
    torch.manual_seed(0)
    rule = torch.nn.Parameter(torch.randn(4, 4, 4))
    layer = PHMLinear(8, 12, n=4, rule=rule, rank=1)  # B_i = s_i t_i^T: [3, 2]
    expected = sum(torch.kron(rule[i], layer.s[i] @ layer.t[i]) for i in range(4))
    assert torch.linalg.matrix_rank(layer.s[0] @ layer.t[0]) == 1
    assert torch.allclose(layer.weight(), expected, atol=0, rtol=1e-6)


def test_defaults_follow_the_paper():
    c = CompacterConfig()
    assert (c.phm_dim, c.rank, c.reduction_factor, c.activation, c.train_layer_norm) == \
        (4, 1, 32, "gelu", True)
    with pytest.raises(ValueError):
        CompacterConfig(rank=0)


@pytest.mark.parametrize("arch", ["bert", "t5"])
@pytest.mark.parametrize("method", ["compacter", "compacterpp"])
def test_identity_at_init_and_frozen_base(arch, method):
    base, model = MODELS[arch](), MODELS[arch]()
    adapters.apply_method(model, method, TINY)
    assert torch.equal(logits(model), logits(base))
    assert_frozen_unchanged_after_step(model)
    assert not torch.equal(logits(model), logits(base))
