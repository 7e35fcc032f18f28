"""``train_output_layer`` (Compacter App. C / Table 7): T5's LM head trains beside the method,
exactly one vocab × d_model matrix more (tied to the input embeddings); without it the head
stays frozen; a classification model refuses it (its head always trains), and so does a spec.
Tiny random-init T5 (the test suite's fast T5)."""

from __future__ import annotations

import dataclasses

import pytest
import torch

import adapters
from adapters.houlsby import BottleneckConfig
from pipeline import key_baseline
from pipeline.grid import changed
from pipeline.kinds import kind_for
from pipeline.spec import SpecError, parse_spec
from pipeline.tasks import get_task


def _t5(method: str, config: dict):
    task = get_task("sst2")
    model = kind_for(task, "text2text").load_model("tiny-t5", task, 0)
    adapters.apply_method(model, method, config)
    return model


@pytest.mark.parametrize("method", ["pfeiffer", "bitfit", "lowrank"])
def test_output_layer_adds_exactly_the_lm_head(method):
    without = _t5(method, {})
    with_head = _t5(method, {"train_output_layer": True})
    cfg = with_head.config
    trained_without, total = adapters.count_parameters(without)
    trained_with, total_with = adapters.count_parameters(with_head)
    assert total_with == total
    assert trained_with - trained_without == cfg.vocab_size * cfg.d_model
    head = with_head.get_output_embeddings().weight
    assert head.requires_grad and not without.get_output_embeddings().weight.requires_grad
    # T5 v1.0 ties the head to the input embeddings: one parameter, trained once
    assert head is with_head.get_input_embeddings().weight
    # the body stays frozen either way
    frozen = [n for n, p in with_head.named_parameters()
              if ".layer." in n and "adapter" not in n and not p.requires_grad]
    assert frozen


def test_one_step_moves_the_head_only_when_asked():
    task = get_task("sst2")
    for flag in (False, True):
        model = _t5("pfeiffer", {"train_output_layer": flag})
        before = model.get_output_embeddings().weight.detach().clone()
        params = [p for p in model.parameters() if p.requires_grad]
        opt = torch.optim.SGD(params, lr=1.0)
        ids = torch.randint(5, 100, (2, 6))
        labels = torch.tensor([[3, model.config.eos_token_id]] * 2)
        model(input_ids=ids, attention_mask=torch.ones_like(ids), labels=labels).loss.backward()
        opt.step()
        moved = not torch.equal(before, model.get_output_embeddings().weight)
        assert moved == flag, (task.name, flag)


def test_classification_models_and_head_specs_refuse_it():
    task = get_task("sst2")
    model = kind_for(task, "head").load_model("tiny-bert", task, 0)
    with pytest.raises(ValueError, match="has no output layer"):
        adapters.apply_method(model, "pfeiffer", {"train_output_layer": True})
    spec = dict(name="ol", model="tiny-bert", tasks=["sst2"],
                methods=[{"name": "pfeiffer", "config": {"train_output_layer": True}}],
                training={"epochs": 1})
    with pytest.raises(SpecError, match="train_output_layer .* needs training.objective text2text"):
        parse_spec(spec)
    spec.update(model="tiny-t5", training={"epochs": 1, "objective": "text2text"})
    assert parse_spec(spec).methods[0].config["train_output_layer"] is True


def test_the_new_field_keeps_old_trial_keys():
    for method in ("pfeiffer", "houlsby", "compacter", "bitfit"):
        cls = adapters.METHODS[method].config_cls
        values = dataclasses.asdict(cls())
        assert changed(values, key_baseline.METHODS[method], cls) == {}, method
        values["train_output_layer"] = True
        assert changed(values, key_baseline.METHODS[method], cls) == \
            {"train_output_layer": True}, method
    # keyword-only: positional construction keeps its old meaning
    assert BottleneckConfig(8).reduction_factor == 8
