"""AdapterDrop (Rücklé et al. 2021, §3): specialized and robust, evaluation at every n."""

import copy

import pytest
import torch

import adapters
from adapters.adapterdrop import (AdapterDropConfig, adapted_linears, remove_adapters_below,
                                  set_dropped_layers, stack_blocks)
from family_models import (D, HEAD, MODELS, assert_frozen_unchanged_after_step, batch,
                           blocks_per_stack, inputs, logits, randomize_trainable)

M = D // 16  # Pfeiffer bottleneck at reduction 16
PER_ADAPTER = 2 * D * M + D + M


def test_config_modes():
    assert AdapterDropConfig().drop_first_n == 5  # specialized default (AdapterDrop §3)
    assert AdapterDropConfig(robust=True).drop_first_n == 0
    with pytest.raises(ValueError):
        AdapterDropConfig(robust=True, drop_first_n=2)
    with pytest.raises(ValueError):
        AdapterDropConfig(architecture="parallel")


@pytest.mark.parametrize("arch", ["bert", "t5"])
@pytest.mark.parametrize("n", [0, 1, 2])
def test_specialized_has_no_adapters_in_first_n_layers(arch, n):
    model = MODELS[arch](layers=3)
    adapters.apply_method(model, "adapterdrop", {"drop_first_n": n})
    stacks = blocks_per_stack(arch, layers=3)
    # Pfeiffer: one adapter in each layer from n up, in every stack (T5: encoder and decoder)
    assert adapters.count_parameters(model)[0] == sum(s - n for s in stacks) * PER_ADAPTER + HEAD
    for stack in stack_blocks(model):
        assert [len(adapted_linears(b)) for b in stack] == [0] * n + [1] * (3 - n)
    houlsby = MODELS[arch](layers=3)
    adapters.apply_method(houlsby, "adapterdrop", {"drop_first_n": n, "architecture": "houlsby"})
    assert adapters.count_parameters(houlsby)[0] == \
        2 * sum(s - n for s in stacks) * PER_ADAPTER + HEAD


def test_drop_first_n_must_leave_a_layer():
    with pytest.raises(ValueError):
        adapters.apply_method(MODELS["bert"](), "adapterdrop", {"drop_first_n": 2})


@pytest.mark.parametrize("arch", ["bert", "t5"])
def test_specialized_frozen_base_and_identity(arch):
    base, model = MODELS[arch](), MODELS[arch]()
    adapters.apply_method(model, "adapterdrop", {"drop_first_n": 1})
    assert torch.equal(logits(model), logits(base))
    assert_frozen_unchanged_after_step(model)


def _record_calls(model):
    """Per stack, per layer: how many times its adapters ran."""
    calls = [[[0] for _ in stack] for stack in stack_blocks(model)]
    for s, stack in enumerate(stack_blocks(model)):
        for i, block in enumerate(stack):
            for _, adapted in adapted_linears(block):
                adapted.adapter.register_forward_hook(
                    lambda *a, c=calls[s][i]: c.__setitem__(0, c[0] + 1))
    return calls


@pytest.mark.parametrize("arch", ["bert", "t5"])
def test_robust_draws_every_n_per_batch_and_eval_uses_all_layers(arch):
    L = 4
    torch.manual_seed(0)
    model = MODELS[arch](layers=L)
    adapters.apply_method(model, "adapterdrop", {"robust": True})
    drop = model.adapter_layer_drop
    calls = _record_calls(model)
    seen = []
    model.train()
    for step in range(40):
        before = [[c[0] for c in stack] for stack in calls]
        model(**inputs(batch(n=2)))
        n = drop.last_n
        seen.append(n)
        for s, stack in enumerate(calls):  # exactly the layers from n up ran their adapter
            assert [c[0] - b for c, b in zip(stack, before[s])] == [int(i >= n) for i in range(L)]
    assert set(seen) == set(range(L))  # every n in 0..L−1 (seeded; P(miss) = 4·0.75^40 ≈ 4e-5)
    model.eval()
    before = [[c[0] for c in stack] for stack in calls]
    model(**inputs(batch(n=2)))
    assert [[c[0] - b for c, b in zip(st, bf)] for st, bf in zip(calls, before)] == \
        [[1] * L for _ in calls]


def test_robust_step_trains_only_layers_from_n_up():
    torch.manual_seed(3)
    model = MODELS["bert"](layers=4)
    adapters.apply_method(model, "adapterdrop", {"robust": True})
    randomize_trainable(model)
    model.train()
    ns = set()
    for _ in range(20):
        model.zero_grad(set_to_none=True)
        model(**batch()).loss.backward()
        n = model.adapter_layer_drop.last_n
        ns.add(n)
        for i, block in enumerate(stack_blocks(model)[0]):
            grads = [p.grad for _, a in adapted_linears(block) for p in a.adapter.parameters()]
            assert all((g is None) == (i < n) for g in grads), (i, n)
    assert len(ns) > 1


@pytest.mark.parametrize("arch", ["bert", "t5"])
def test_evaluating_at_n_equals_removing_the_lower_adapters(arch):
    model = MODELS[arch](layers=3)
    adapters.apply_method(model, "adapterdrop", {"robust": True})
    randomize_trainable(model)
    full = logits(model)
    for n in range(3):
        reference = copy.deepcopy(model)
        remove_adapters_below(reference, n)
        set_dropped_layers(model, n)
        assert torch.equal(logits(model), logits(reference))
        assert (n == 0) == torch.equal(logits(model), full)
    set_dropped_layers(model, 0)  # back to all layers
    assert torch.equal(logits(model), full)


def test_set_dropped_layers_works_on_plain_pfeiffer_and_training_restores():
    model = MODELS["bert"]()
    adapters.apply_method(model, "pfeiffer")
    randomize_trainable(model)
    full = logits(model)
    set_dropped_layers(model, 1)
    dropped = logits(model)
    assert not torch.equal(dropped, full)
    model.train()
    model(**inputs(batch()))  # training (not robust) uses every adapter
    assert all(a.enabled for st in stack_blocks(model) for b in st for _, a in adapted_linears(b))
    assert torch.equal(logits(model), dropped)  # eval keeps the chosen n
    with pytest.raises(ValueError):
        set_dropped_layers(model, 3)
