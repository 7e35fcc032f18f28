"""Intrinsic-SAID: trainable count d (Compacter §5.1), identity at θ=0, the projection itself."""

import math

import pytest
import torch
from tiny_models import (BERT_HEAD, T5_HEAD, assert_frozen_unchanged_after_step, batch, one_step,
                         tiny_bert, tiny_t5)


import adapters
from adapters.intrinsic_said import weight_tensor_count
from adapters.fastfood import fwht

D_SMALL = 500  # small d keeps the tests fast; the default (20000) is checked in test_default_d
VOCAB = 128  # small embeddings keep the projections small (L <= 4096)


def small_bert(seed=0):
    return tiny_bert(seed, vocab_size=VOCAB)


def small_t5(seed=0):
    return tiny_t5(seed, vocab_size=VOCAB)


def small_batch(seed=0):
    return batch(seed, vocab=(2, VOCAB))


def small_inputs(seed=0):
    return {k: v for k, v in small_batch(seed).items() if k != "labels"}

# m, the number of weight tensors SAID re-parameterises (the task head excluded):
# tiny BERT: embeddings (word, position, token type, LN w, LN b) = 5; per layer: q,k,v,o and
# their biases (8), attention LN (2), intermediate (2), output (2), output LN (2) = 16.
M_BERT = 5 + 2 * 16
# tiny T5: shared embedding (tied to both stacks' embed_tokens) = 1; encoder block: q,k,v,o, LN,
# wi, wo, LN = 8, + relative_attention_bias in block 0, + final LN; decoder block: self q,k,v,o,
# LN, cross q,k,v,o, LN, wi, wo, LN = 13, + relative_attention_bias in block 0, + final LN.
M_T5 = 1 + (2 * 8 + 1 + 1) + (2 * 13 + 1 + 1)


@pytest.mark.parametrize("make,head,m", [(tiny_bert, BERT_HEAD, M_BERT), (tiny_t5, T5_HEAD, M_T5)])
def test_trainable_count_is_d_plus_head(make, head, m):
    model = make()
    assert weight_tensor_count(model) == m
    base_total = sum(p.numel() for p in model.parameters())
    adapters.apply_method(model, "intrinsic_said", {"dimension": D_SMALL})
    said = model.base_model.intrinsic_said
    assert said.theta.numel() == D_SMALL - m and said.scales.numel() == m
    trainable, total = adapters.count_parameters(model)
    assert trainable == D_SMALL + head
    assert total == base_total + D_SMALL


def test_plain_did_has_no_scalars():
    model = tiny_bert()
    adapters.apply_method(model, "intrinsic_said", {"dimension": D_SMALL, "said": False})
    assert model.base_model.intrinsic_said.scales is None
    assert adapters.count_parameters(model)[0] == D_SMALL + BERT_HEAD


def test_default_d_and_too_small_d():
    assert adapters.make_config("intrinsic_said").dimension == 20000
    with pytest.raises(ValueError, match="must exceed"):
        adapters.apply_method(tiny_bert(), "intrinsic_said", {"dimension": M_BERT})


@pytest.mark.parametrize("make", [small_bert, small_t5])
def test_identity_at_theta_zero_and_not_after_a_step(make):
    base, model = make(), make()
    adapters.apply_method(model, "intrinsic_said", {"dimension": D_SMALL})
    base.eval(), model.eval()
    with torch.no_grad():
        assert torch.equal(base(**small_inputs()).logits, model(**small_inputs()).logits)
    # move only θ (the head stays): the outputs must change, so the projection is in the graph
    with torch.no_grad():
        model.base_model.intrinsic_said.theta.normal_(std=1.0)
        assert not torch.allclose(base(**small_inputs()).logits, model(**small_inputs()).logits)


@pytest.mark.parametrize("make", [small_bert, small_t5])
def test_frozen_weights_bit_identical_after_a_step(make):
    model = make()
    adapters.apply_method(model, "intrinsic_said", {"dimension": D_SMALL})
    assert_frozen_unchanged_after_step(model, small_batch())
    assert model.base_model.intrinsic_said.theta.abs().sum() > 0


def test_deltas_equal_dense_projection():
    model = small_bert()
    adapters.apply_method(model, "intrinsic_said", {"dimension": D_SMALL})
    said = model.base_model.intrinsic_said
    with torch.no_grad():
        said.theta.normal_()
        said.scales.uniform_(0.5, 1.5)
    checked = 0
    for L, indices in said.groups.items():
        params = said._params(L)[0]
        x = torch.nn.functional.pad(said.theta.detach().double(), (0, L - said.theta.numel()))
        if L > 2048:  # the dense check builds L x L matrices: small groups suffice
            continue
        checked += 1
        with torch.no_grad():
            deltas = said.group_deltas(L)
        H = fwht(torch.eye(L, dtype=torch.float64))  # rows of H
        for row, i in enumerate(indices):
            hbx = H @ (params.B[row].double() * x)
            dense = H @ (params.G[row].double() * hbx[params.Pi[row].long()])
            size = said.sizes[i]
            expected = said.scales[i].double() * dense[:size] / math.sqrt(
                size * params.G[row].double().pow(2).sum())
            assert torch.allclose(deltas[i].double(), expected, rtol=1e-4, atol=1e-6)
    assert checked >= 3


def test_effective_weights_move_and_t5_tied_embeddings_stay_tied():
    model = small_t5()
    adapters.apply_method(model, "intrinsic_said", {"dimension": D_SMALL})
    base = model.base_model
    before = base.encoder.block[0].layer[0].SelfAttention.q.weight.detach().clone()
    one_step(model, b=small_batch())
    after = base.encoder.block[0].layer[0].SelfAttention.q.weight.detach()
    assert not torch.equal(before, after)  # W = W0 + λ V θ moved
    assert torch.equal(base.encoder.embed_tokens.weight, base.decoder.embed_tokens.weight)
    assert torch.equal(base.shared.weight, base.encoder.embed_tokens.weight)


def test_projection_depends_on_seed():
    a, b = small_bert(), small_bert()
    adapters.apply_method(a, "intrinsic_said", {"dimension": D_SMALL, "projection_seed": 0})
    adapters.apply_method(b, "intrinsic_said", {"dimension": D_SMALL, "projection_seed": 1})
    for m in (a, b):
        with torch.no_grad():
            m.base_model.intrinsic_said.theta.fill_(0.1)
    assert not torch.equal(a.base_model.intrinsic_said.deltas()[0],
                           b.base_model.intrinsic_said.deltas()[0])


def test_no_grad_forwards_reuse_the_projections_until_theta_changes(monkeypatch):
    import adapters.intrinsic_said as said_module

    model = small_bert()
    adapters.apply_method(model, "intrinsic_said", {"dimension": D_SMALL})
    said = model.base_model.intrinsic_said
    calls = []
    real_fastfood = said_module.fastfood
    monkeypatch.setattr(said_module, "fastfood", lambda *a: calls.append(1) or real_fastfood(*a))
    model.eval()
    with torch.no_grad():
        said.theta.normal_(generator=torch.Generator().manual_seed(1))
        first = model(**small_inputs()).logits
        projections_per_forward = len(calls)
        again = model(**small_inputs()).logits
    assert projections_per_forward == len(said.groups)
    assert len(calls) == projections_per_forward  # the second forward projected nothing
    assert torch.equal(first, again)

    with torch.no_grad():
        said.theta.mul_(2.0)  # an optimizer step changes θ in place, as here
        after = model(**small_inputs()).logits
    fresh = model(**small_inputs()).logits  # with gradients: always projects anew
    assert len(calls) == 3 * projections_per_forward
    assert not torch.allclose(after, first)
    assert torch.allclose(after, fresh, atol=1e-6)


def test_a_training_forward_drops_the_no_grad_cache():
    """The evaluation cache holds one delta per weight tensor (a model's worth): training
    after an evaluation must not keep it alive through its epochs."""
    model = small_bert()
    adapters.apply_method(model, "intrinsic_said", {"dimension": D_SMALL})
    said = model.base_model.intrinsic_said
    model.eval()
    with torch.no_grad():
        model(**small_inputs())
    assert said._frozen is not None and len(said._frozen[1]) == M_BERT
    model.train()
    model(**small_batch()).loss.backward()
    assert said._frozen is None
