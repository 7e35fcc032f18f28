"""BitFit on T5: the biases T5 lacks are added (Compacter §5.1 fn. 7), zero, and trained."""

import pytest
import torch
from tiny_models import (BERT_HEAD, T5_CONFIG, T5_HEAD, assert_frozen_unchanged_after_step,
                         batch, inputs, tiny_bert, tiny_t5)

import adapters

d, d_ff, inner = T5_CONFIG["d_model"], T5_CONFIG["d_ff"], T5_CONFIG["num_heads"] * T5_CONFIG["d_kv"]
ATTENTION = 3 * inner + d  # q, k, v (-> heads·d_kv) and o (-> d_model) biases
FFN = d_ff + d             # wi and wo biases
ENCODER_BLOCK = ATTENTION + FFN + 2 * d       # + 2 layer norms
DECODER_BLOCK = 2 * ATTENTION + FFN + 3 * d   # self + cross attention, 3 layer norms
# 2 blocks per stack, + each stack's final layer norm
ADDED = 2 * ENCODER_BLOCK + d + 2 * DECODER_BLOCK + d


def test_count_of_added_biases_matches_closed_form():
    model = tiny_t5()
    base_total = sum(p.numel() for p in model.parameters())
    adapters.apply_method(model, "bitfit")
    assert adapters.count_parameters(model) == (ADDED + T5_HEAD, base_total + ADDED)


def test_without_adding_only_the_head_trains():
    model = tiny_t5()
    adapters.apply_method(model, "bitfit", {"add_missing_biases": False})
    assert adapters.count_parameters(model)[0] == T5_HEAD


def test_bert_gets_nothing_added():
    model = tiny_bert()
    total = sum(p.numel() for p in model.parameters())
    adapters.apply_method(model, "bitfit")
    biases = sum(p.numel() for n, p in model.base_model.named_parameters()
                 if n.endswith(".bias") and not n.startswith("pooler"))
    assert adapters.count_parameters(model) == (biases + BERT_HEAD, total)


def test_outputs_unchanged_at_init():
    base, model = tiny_t5().eval(), tiny_t5()
    adapters.apply_method(model, "bitfit")
    model.eval()
    with torch.no_grad():
        assert torch.equal(base(**inputs(batch())).logits, model(**inputs(batch())).logits)


@pytest.mark.parametrize("kind", ["linear", "layer_norm"])
def test_added_biases_are_used(kind):
    """Non-zero biases change the outputs: for Linears (nn.Linear uses .bias itself) and for
    T5LayerNorm (which does not: a forward hook adds it)."""
    base, model = tiny_t5().eval(), tiny_t5()
    adapters.apply_method(model, "bitfit")
    model.eval()
    with torch.no_grad():
        for name, p in model.base_model.named_parameters():
            if name.endswith(".bias") and (("layer_norm" in name) == (kind == "layer_norm")):
                p.normal_(std=0.5)
        assert not torch.allclose(base(**inputs(batch())).logits, model(**inputs(batch())).logits)


def test_frozen_weights_bit_identical_after_a_step():
    model = tiny_t5()
    adapters.apply_method(model, "bitfit")
    assert_frozen_unchanged_after_step(model)
    moved = [n for n, p in model.base_model.named_parameters() if n.endswith(".bias") and p.abs().sum() > 0]
    assert any("layer_norm" in n for n in moved) and any(n.endswith(".q.bias") for n in moved)
