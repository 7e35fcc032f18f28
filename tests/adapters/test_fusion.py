"""AdapterFusion (Pfeiffer et al. 2021a) with AdapterDrop's fusion dropout, pruning and removal."""

import pytest
import torch

import adapters
from adapters.adapterdrop import set_dropped_layers
from adapters.fusion import (FusionConfig, fusion_layers, load_fusion_adapter, prune_fusion,
                             record_fusion_activations)
from family_models import (D, HEAD, MODELS, assert_frozen_unchanged_after_step, batch,
                           blocks_per_stack, inputs, logits, randomize_trainable,
                           trained_pfeiffer_states)

FUSION = 3 * (D * D + D)  # query, key, value per layer


@pytest.mark.parametrize("arch", ["bert", "t5"])
@pytest.mark.parametrize("k,drop_first_n", [(2, 0), (4, 1)])
def test_only_fusion_trains_and_count_matches(arch, k, drop_first_n):
    model = MODELS[arch]()
    adapters.apply_method(model, "fusion", {"num_adapters": k, "drop_first_n": drop_first_n})
    layers = sum(s - drop_first_n for s in blocks_per_stack(arch))
    assert len(fusion_layers(model)) == layers
    assert adapters.count_parameters(model)[0] == layers * FUSION + HEAD  # adapters frozen
    m = D // 16
    total_adapter = sum(p.numel() for f in fusion_layers(model) for p in f.adapters.parameters())
    assert total_adapter == layers * k * (2 * D * m + D + m)


def test_config_defaults_and_validation():
    c = FusionConfig()
    assert (c.num_adapters, c.fusion_dropout, c.reduction_factor, c.drop_first_n) == (8, 0.0, 16, 0)
    for bad in ({"num_adapters": 0}, {"fusion_dropout": 1.0}, {"robust": True, "drop_first_n": 1}):
        with pytest.raises(ValueError):
            FusionConfig(**bad)


@pytest.mark.parametrize("arch", ["bert", "t5"])
def test_identity_with_identity_adapters_and_frozen_adapters(arch):
    base, model = MODELS[arch](), MODELS[arch]()
    adapters.apply_method(model, "fusion", {"num_adapters": 3})
    # V = I and Σ_k s_k = 1: equal up to the rounding of the softmax sum
    assert torch.allclose(logits(model), logits(base), rtol=0, atol=1e-6)
    assert_frozen_unchanged_after_step(model)


def _fusion_with_known_favourite(k=4, favourites=(2, 0)):
    """Per layer, adapter favourites[layer] gets by far the largest fusion weight: query = h + 10,
    key = z, and the favourite's output is z = h + 10 (up bias 10, up weight 0), so its score
    exceeds the others' (h + 10)·h by 10·Σ(h + 10) ≈ 10·(Σh + 320)."""
    model = MODELS["bert"]()
    adapters.apply_method(model, "fusion", {"num_adapters": k})
    with torch.no_grad():
        for layer, fav in zip(fusion_layers(model), favourites):
            for lin in (layer.query, layer.key):
                lin.weight.copy_(torch.eye(D))
                lin.bias.zero_()
            layer.query.bias.fill_(10.0)
            layer.adapters[fav].up.bias.fill_(10.0)
    return model


def test_recorded_activations_and_pruning_keep_the_most_activated():
    model = _fusion_with_known_favourite()
    acts = record_fusion_activations(model, [batch(0), batch(1)])
    assert len(acts) == 2
    for a, fav in zip(acts, (2, 0)):
        assert torch.allclose(a.sum(), torch.tensor(1.0), atol=1e-5)  # averages of a softmax
        assert a.argmax().item() == fav and a[fav] > 0.9
    assert prune_fusion(model, keep=1) == [[2], [0]]
    assert [len(f.adapters) for f in fusion_layers(model)] == [1, 1]
    model(**inputs(batch()))  # still runs


def test_pruning_removes_exactly_the_least_activated_per_layer():
    model = MODELS["bert"]()
    adapters.apply_method(model, "fusion", {"num_adapters": 5})
    known = [torch.tensor([0.10, 0.30, 0.05, 0.40, 0.15]),
             torch.tensor([0.50, 0.02, 0.20, 0.08, 0.20])]  # tie at 0.20: lower index stays
    for layer, a in zip(fusion_layers(model), known):
        layer.act_sum.copy_(a * 7)
        layer.act_count.fill_(7)
    adapters_before = [list(f.adapters) for f in fusion_layers(model)]
    assert prune_fusion(model, keep=3) == [[1, 3, 4], [0, 2, 4]]
    for f, before, kept in zip(fusion_layers(model), adapters_before, ([1, 3, 4], [0, 2, 4])):
        assert list(f.adapters) == [before[i] for i in kept]  # the same modules, in order
    assert prune_fusion(model, keep=1) == [[3], [0]]  # averages follow the kept adapters
    with pytest.raises(ValueError):
        prune_fusion(model, keep=2)


def test_pruning_needs_recorded_activations():
    model = MODELS["bert"]()
    adapters.apply_method(model, "fusion", {"num_adapters": 3})
    with pytest.raises(RuntimeError):
        prune_fusion(model, keep=1)


def test_fusion_dropout_drops_adapters_in_training_only():
    torch.manual_seed(0)
    model = MODELS["bert"]()
    adapters.apply_method(model, "fusion", {"num_adapters": 4, "fusion_dropout": 0.5})
    layer = fusion_layers(model)[0]
    ran = []
    for a in layer.adapters:
        a.register_forward_hook(lambda *args: ran.append(1))
    counts = []
    model.train()
    for _ in range(30):
        ran.clear()
        model(**inputs(batch(n=2)))
        counts.append(len(ran))
    assert min(counts) >= 1 and max(counts) <= 4 and len(set(counts)) > 1
    assert 1.0 < sum(counts) / len(counts) < 3.0  # about half of 4
    model.eval()
    ran.clear()
    model(**inputs(batch(n=2)))
    assert len(ran) == 4


def test_removing_fusion_from_lower_layers_at_evaluation():
    model = MODELS["bert"]()
    adapters.apply_method(model, "fusion", {"num_adapters": 2})
    randomize_trainable(model)
    for f in fusion_layers(model):
        for a in f.adapters:
            torch.nn.init.normal_(a.up.weight, std=0.5)
    full = logits(model)
    set_dropped_layers(model, 1)
    dropped = logits(model)
    removed = MODELS["bert"]()
    adapters.apply_method(removed, "fusion", {"num_adapters": 2, "drop_first_n": 1})
    removed.load_state_dict(model.state_dict(), strict=False)
    assert not torch.equal(dropped, full)
    assert torch.equal(dropped, logits(removed))


def test_load_trained_pfeiffer_adapters_into_fusion():
    trained = trained_pfeiffer_states()
    model = MODELS["bert"]()
    adapters.apply_method(model, "fusion", {"num_adapters": 2})
    for k, state in enumerate(trained):
        load_fusion_adapter(model, k, state)
    params = dict(model.named_parameters())
    for k, state in enumerate(trained):
        for name, value in state.items():
            if ".adapter." in name:
                target = name.replace(".adapter.", f".adapter.adapters.{k}.")
                assert torch.equal(params[target], value) and not params[target].requires_grad
    broken = {n: v for n, v in trained[0].items() if not n.endswith("up.bias")}
    with pytest.raises(ValueError, match="missing"):
        load_fusion_adapter(model, 0, broken)
