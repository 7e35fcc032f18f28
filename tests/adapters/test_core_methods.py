"""Full fine-tuning, BitFit, Houlsby and Pfeiffer on a tiny random-init BERT and a tiny T5."""

import pytest
import torch
from transformers import AutoModelForSequenceClassification, T5Config

import adapters
from adapters.bottleneck import adapter_params
from pipeline.models import load_model

D, LAYERS, INTERMEDIATE = 32, 2, 64  # tiny-bert
M = D // 16  # bottleneck at the default reduction factor 16
# Task head of BertForSequenceClassification: pooler (D×D + D) and classifier (D×2 + 2).
HEAD = D * D + D + D * 2 + 2


def tiny_bert(seed=0):
    return load_model("tiny-bert", num_labels=2, seed=seed)


def tiny_t5():
    torch.manual_seed(0)
    config = T5Config(d_model=32, d_ff=64, num_layers=2, num_decoder_layers=2, num_heads=2,
                      d_kv=16, num_labels=2)
    return AutoModelForSequenceClassification.from_config(config)


def batch(seed=0, n=4, seq=8):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(1000, 2000, (n, seq), generator=g)
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids),
            "labels": torch.randint(0, 2, (n,), generator=g)}


def test_houlsby_and_pfeiffer_counts_match_closed_form():
    for name, per_layer in (("houlsby", 2), ("pfeiffer", 1)):
        model = tiny_bert()
        adapters.apply_method(model, name)
        trainable, _ = adapters.count_parameters(model)
        assert trainable == LAYERS * per_layer * (2 * D * M + D + M) + HEAD, name


def test_houlsby_count_on_t5_encoder_and_decoder():
    model = tiny_t5()
    base_total = sum(p.numel() for p in model.parameters())
    head = sum(p.numel() for p in model.classification_head.parameters())
    adapters.apply_method(model, "houlsby")
    trainable, total = adapters.count_parameters(model)
    n_adapters = 2 * (2 + 2)  # two per block, 2 encoder + 2 decoder blocks
    assert trainable == n_adapters * adapter_params(32, 2) + head
    assert total == base_total + n_adapters * adapter_params(32, 2)


def test_reduction_factor_override_changes_bottleneck():
    model = tiny_bert()
    adapters.apply_method(model, "pfeiffer", {"reduction_factor": 4})
    assert adapters.count_parameters(model)[0] == LAYERS * adapter_params(D, D // 4) + HEAD


def test_bitfit_trains_only_biases_and_head():
    model = tiny_bert()
    adapters.apply_method(model, "bitfit")
    head_ids = {id(p) for p in adapters.head_parameters(model)}
    for name, p in model.named_parameters():
        expected = name.endswith(".bias") or id(p) in head_ids
        assert p.requires_grad == expected, name
    biases = sum(p.numel() for n, p in model.base_model.named_parameters()
                 if n.endswith(".bias") and not n.startswith("pooler"))
    assert adapters.count_parameters(model)[0] == biases + HEAD


def test_full_trains_everything():
    model = tiny_bert()
    adapters.apply_method(model, "full")
    trainable, total = adapters.count_parameters(model)
    assert trainable == total == sum(p.numel() for p in tiny_bert().parameters())


@pytest.mark.parametrize("name", ["bitfit", "houlsby", "pfeiffer"])
def test_frozen_weights_bit_identical_after_a_step(name):
    model = tiny_bert()
    adapters.apply_method(model, name)
    frozen = {n: p.detach().clone() for n, p in model.named_parameters() if not p.requires_grad}
    trained = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    model.train()
    model(**batch()).loss.backward()
    opt.step()
    params = dict(model.named_parameters())
    assert frozen and all(torch.equal(params[n], v) for n, v in frozen.items())
    # and the step did something: some trainable weight moved
    assert any(not torch.equal(params[n], v) for n, v in trained.items())


@pytest.mark.parametrize("name", ["houlsby", "pfeiffer"])
def test_zero_initialized_adapter_leaves_outputs_unchanged(name):
    base, adapted = tiny_bert(), tiny_bert()
    adapters.apply_method(adapted, name)
    base.eval(), adapted.eval()
    inputs = {k: v for k, v in batch().items() if k != "labels"}
    with torch.no_grad():
        assert torch.equal(base(**inputs).logits, adapted(**inputs).logits)


def test_trained_adapter_changes_outputs():
    """The identity test above would pass if adapters were never called: check they are."""
    base, adapted = tiny_bert(), tiny_bert()
    adapters.apply_method(adapted, "pfeiffer")
    for name, p in adapted.named_parameters():
        if "adapter.up" in name:
            torch.nn.init.normal_(p, std=0.5)
    inputs = {k: v for k, v in batch().items() if k != "labels"}
    with torch.no_grad():
        assert not torch.allclose(base(**inputs).logits, adapted(**inputs).logits)


def test_unknown_method_and_config_key_name_the_valid_ones():
    with pytest.raises(KeyError, match="known methods: .*houlsby"):
        adapters.apply_method(tiny_bert(), "hulsby")
    with pytest.raises(ValueError, match="valid: .*reduction_factor"):
        adapters.make_config("houlsby", {"reduction": 8})
