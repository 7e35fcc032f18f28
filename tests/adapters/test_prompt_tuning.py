"""Prompt tuning: count P·d, both inits, the mask extension, and the same numbers as peft."""

import copy

import pytest
import torch
from peft import PromptTuningConfig, PromptTuningInit, TaskType, get_peft_model
from tiny_models import (BERT_HEAD, D, T5_HEAD, assert_frozen_unchanged_after_step, batch,
                         inputs, tiny_bert, tiny_t5)

import adapters

P = 5


def prompt_of(model):
    return model.base_model.prompt_tuning.weight


@pytest.mark.parametrize("make,head", [(tiny_bert, BERT_HEAD), (tiny_t5, T5_HEAD)])
def test_count_is_prompt_plus_head(make, head):
    model = make()
    base_total = sum(p.numel() for p in model.parameters())
    adapters.apply_method(model, "prompt_tuning", {"num_tokens": P})
    assert adapters.count_parameters(model) == (P * D + head, base_total + P * D)


def test_default_length_is_100():
    assert adapters.make_config("prompt_tuning").num_tokens == 100


def test_random_init_is_uniform_in_range():
    model = tiny_bert()
    adapters.apply_method(model, "prompt_tuning", {"num_tokens": 50, "init_range": 0.25})
    w = prompt_of(model)
    assert w.abs().max() <= 0.25 and w.std() > 0.25 / 4  # uniform(-a, a) has std a/sqrt(3)


def test_vocab_init_copies_token_embeddings():
    model = tiny_bert()
    adapters.apply_method(model, "prompt_tuning", {"num_tokens": P, "init": "vocab"})
    vocab = model.base_model.get_input_embeddings().weight
    for row in prompt_of(model):
        assert (vocab == row).all(dim=1).any()  # each prompt vector is one token's embedding


@pytest.mark.parametrize("make", [tiny_bert, tiny_t5])
def test_prompt_changes_outputs_and_padding_stays_masked(make):
    base, model = make().eval(), make()
    adapters.apply_method(model, "prompt_tuning", {"num_tokens": P})
    model.eval()
    b = inputs(batch())
    with torch.no_grad():
        out = model(**b).logits
        assert not torch.allclose(base(**b).logits, out)
        # changing the ids under the attention mask changes nothing: the mask was extended
        # in step with the prompt, not shifted onto real tokens
        padded = dict(b, input_ids=b["input_ids"].clone())
        padded["input_ids"][0, -3:] = 1500
        assert torch.allclose(model(**padded).logits, out, atol=1e-6)


@pytest.mark.parametrize("make", [tiny_bert, tiny_t5])
def test_frozen_weights_bit_identical_after_a_step(make):
    model = make()
    adapters.apply_method(model, "prompt_tuning", {"num_tokens": P})
    before = prompt_of(model).detach().clone()
    assert_frozen_unchanged_after_step(model)
    assert not torch.equal(prompt_of(model), before)


def test_same_trainable_count_and_outputs_as_peft():
    """peft prompts one level up (its model wrapper builds inputs_embeds); we hook the base model.
    With the same prompt vectors and head the logits must agree. (BERT only: peft cannot prompt
    T5ForSequenceClassification, which refuses inputs_embeds; our T5 path is covered by the
    count, mask and step tests above.)"""
    base = tiny_bert()
    ours = copy.deepcopy(base)
    adapters.apply_method(ours, "prompt_tuning", {"num_tokens": P})
    theirs = get_peft_model(copy.deepcopy(base), PromptTuningConfig(
        task_type=TaskType.SEQ_CLS, num_virtual_tokens=P, prompt_tuning_init=PromptTuningInit.RANDOM,
        modules_to_save=["classifier", "pooler"]))
    assert adapters.count_parameters(ours)[0] == theirs.get_nb_trainable_parameters()[0]
    with torch.no_grad():
        theirs.prompt_encoder["default"].embedding.weight.copy_(prompt_of(ours))
    ours.eval(), theirs.eval()
    b = dict(inputs(batch()), token_type_ids=torch.zeros_like(batch()["input_ids"]))
    with torch.no_grad():
        assert torch.allclose(ours(**b).logits, theirs(**b).logits, atol=1e-6, rtol=1e-5)
