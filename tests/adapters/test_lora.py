"""LoRA: closed-form counts, identity at init (B = 0), frozen base, and the same numbers as peft."""

import copy

import pytest
import torch
from peft import LoraConfig, TaskType, get_peft_model
from tiny_models import (BERT_HEAD, BERT_LAYERS, D, T5_HEAD, assert_frozen_unchanged_after_step,
                         batch, inputs, tiny_bert, tiny_t5)

import adapters
from adapters.lora import LoRALinear, lora_params

R = 8  # LoraConfig default rank

# tiny T5: 2 encoder blocks with one attention, 2 decoder blocks with self + cross attention;
# every q/v projection is D -> heads·d_kv = 32 -> 32.
T5_ATTENTIONS = 2 * 1 + 2 * 2


def test_default_config_cites_the_paper():
    config = adapters.make_config("lora")
    assert (config.rank, config.alpha, config.dropout, config.target_modules) == (
        8, 8.0, 0.0, ("query", "value"))


def test_count_bert_query_value():
    model = tiny_bert()
    base_total = sum(p.numel() for p in model.parameters())
    adapters.apply_method(model, "lora")
    trainable, total = adapters.count_parameters(model)
    lora = BERT_LAYERS * 2 * lora_params(D, D, R)
    assert trainable == lora + BERT_HEAD
    assert total == base_total + lora


def test_count_t5_query_value_in_both_stacks():
    model = tiny_t5()
    adapters.apply_method(model, "lora")
    assert adapters.count_parameters(model)[0] == T5_ATTENTIONS * 2 * lora_params(32, 32, R) + T5_HEAD


def test_count_all_roles_rank_2():
    model = tiny_bert()
    roles = ["query", "key", "value", "attention_output", "ffn_input", "ffn_output"]
    adapters.apply_method(model, "lora", {"rank": 2, "target_modules": roles})
    per_layer = 4 * lora_params(D, D, 2) + lora_params(D, 64, 2) + lora_params(64, D, 2)
    assert adapters.count_parameters(model)[0] == BERT_LAYERS * per_layer + BERT_HEAD


def test_bad_config():
    with pytest.raises(ValueError, match="target_modules"):
        adapters.make_config("lora", {"target_modules": ["qkv"]})
    with pytest.raises(ValueError, match="rank"):
        adapters.make_config("lora", {"rank": 0})


@pytest.mark.parametrize("make", [tiny_bert, tiny_t5])
def test_identity_at_init_and_not_after_moving_B(make):
    base, model = make(), make()
    adapters.apply_method(model, "lora")
    base.eval(), model.eval()
    with torch.no_grad():
        assert torch.equal(base(**inputs(batch())).logits, model(**inputs(batch())).logits)
        for module in model.modules():
            if isinstance(module, LoRALinear):
                module.lora_B.weight.normal_(std=0.5)
        assert not torch.allclose(base(**inputs(batch())).logits, model(**inputs(batch())).logits)


@pytest.mark.parametrize("make", [tiny_bert, tiny_t5])
def test_frozen_weights_bit_identical_after_a_step(make):
    model = make()
    adapters.apply_method(model, "lora")
    assert_frozen_unchanged_after_step(model)


# ---- cross-check against peft --------------------------------------------------------------

def _ours_and_peft(make, peft_targets, modules_to_save):
    base = make()
    ours = copy.deepcopy(base)
    adapters.apply_method(ours, "lora")
    theirs = get_peft_model(copy.deepcopy(base), LoraConfig(
        task_type=TaskType.SEQ_CLS, r=R, lora_alpha=8, lora_dropout=0.0,
        target_modules=peft_targets, modules_to_save=modules_to_save))
    return ours, theirs


def _copy_lora_weights(ours, theirs) -> int:
    """Give our LoRA A/B random values and copy them into peft's modules at the same path."""
    peft_modules = dict(theirs.base_model.model.named_modules())
    copied = 0
    with torch.no_grad():
        for path, module in ours.named_modules():
            if not isinstance(module, LoRALinear):
                continue
            module.lora_B.weight.normal_(std=0.2)
            target = peft_modules[path]
            target.lora_A["default"].weight.copy_(module.lora_A.weight)
            target.lora_B["default"].weight.copy_(module.lora_B.weight)
            copied += 1
    return copied


@pytest.mark.parametrize("make,targets,save,n_lora", [
    (tiny_bert, ["query", "value"], ["classifier", "pooler"], BERT_LAYERS * 2),
    (tiny_t5, ["q", "v"], ["classification_head"], T5_ATTENTIONS * 2),
])
def test_same_trainable_count_and_outputs_as_peft(make, targets, save, n_lora):
    ours, theirs = _ours_and_peft(make, targets, save)
    assert adapters.count_parameters(ours)[0] == theirs.get_nb_trainable_parameters()[0]
    assert _copy_lora_weights(ours, theirs) == n_lora
    ours.eval(), theirs.eval()
    with torch.no_grad():
        a = ours(**inputs(batch())).logits
        b = theirs(**inputs(batch())).logits
    assert torch.allclose(a, b, atol=1e-6, rtol=1e-5)
    assert not torch.allclose(a, make().eval()(**inputs(batch())).logits)  # LoRA is active
