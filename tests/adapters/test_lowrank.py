"""Adapter-LowRank: counts, rank, identity at init, frozen base."""

import pytest
import torch

import adapters
from adapters.lowrank import LowRankConfig, LowRankLinear
from family_models import (D, HEAD, MODELS, assert_frozen_unchanged_after_step, blocks_per_stack,
                           layer_norm_params, logits)


@pytest.mark.parametrize("arch", ["bert", "t5"])
@pytest.mark.parametrize("overrides", [{}, {"rank": 2, "reduction_factor": 8}])
def test_count_matches_closed_form(arch, overrides):
    model = MODELS[arch]()
    config = adapters.apply_method(model, "lowrank", overrides)
    m, r = max(1, D // config.reduction_factor), config.rank
    # two adapters per layer; per adapter: down r·(d+m) + m, up r·(m+d) + d
    per_adapter = 2 * r * (D + m) + D + m
    expected = 2 * sum(blocks_per_stack(arch)) * per_adapter + layer_norm_params(arch) + HEAD
    assert adapters.count_parameters(model)[0] == expected


def test_defaults_follow_compacter():
    c = LowRankConfig()
    assert (c.reduction_factor, c.rank, c.activation, c.train_layer_norm) == (32, 1, "gelu", True)
    with pytest.raises(ValueError):
        LowRankConfig(rank=0)


def test_weight_has_the_rank_after_training():
    layer = LowRankLinear(16, 8, rank=2)
    w = layer.u @ layer.v.T
    assert w.shape == (8, 16) and torch.linalg.matrix_rank(w) == 2
    x = torch.randn(3, 16)
    assert torch.allclose(layer(x), x @ w.T + layer.bias)


@pytest.mark.parametrize("arch", ["bert", "t5"])
def test_identity_at_init_and_frozen_base(arch):
    base, model = MODELS[arch](), MODELS[arch]()
    adapters.apply_method(model, "lowrank", {"rank": 2, "reduction_factor": 8})
    assert torch.equal(logits(model), logits(base))
    assert_frozen_unchanged_after_step(model)
    assert not torch.equal(logits(model), logits(base))
