"""Save only the trainable weights with the method config; reload into a fresh base model."""

import json

import pytest
import torch
from safetensors import safe_open
from tiny_models import batch, inputs, one_step, tiny_bert, tiny_t5

import adapters
from adapters.io import load_trainable, read_metadata, save_trainable

SMALL = 128  # small vocabularies keep Intrinsic-SAID's projections small

CASES = [
    ("lora", {"rank": 4}),
    ("prompt_tuning", {"num_tokens": 3, "init": "vocab"}),
    ("intrinsic_said", {"dimension": 300, "projection_seed": 5}),
    ("bitfit", {}),
    ("houlsby", {}),
]


def models(make):
    if make == "bert":
        return (lambda seed: tiny_bert(seed, vocab_size=SMALL)), batch(vocab=(2, SMALL))
    return (lambda seed: tiny_t5(seed, vocab_size=SMALL)), batch(vocab=(2, SMALL))


@pytest.mark.parametrize("arch", ["bert", "t5"])
@pytest.mark.parametrize("method,overrides", CASES)
def test_round_trip_reproduces_outputs_exactly(tmp_path, arch, method, overrides):
    make, b = models(arch)
    trained = make(0)
    config = adapters.apply_method(trained, method, overrides)
    one_step(trained, b=b)  # trained weights differ from their init
    path = tmp_path / "adapter.safetensors"
    save_trainable(trained, path, method, config)

    fresh = make(0)  # the same base weights (random init from the same seed) ...
    with torch.no_grad():
        for p in adapters.head_parameters(fresh):
            p.add_(0.01)  # ... and a different head, which the file must overwrite
    loaded_config = load_trainable(fresh, path)
    assert loaded_config == config

    trained.eval(), fresh.eval()
    with torch.no_grad():
        assert torch.equal(trained(**inputs(b)).logits, fresh(**inputs(b)).logits)


def test_file_holds_only_trainable_tensors_and_the_config(tmp_path):
    model = tiny_bert()
    config = adapters.apply_method(model, "lora", {"rank": 2, "target_modules": ["value"]})
    path = tmp_path / "a.safetensors"
    save_trainable(model, path, "lora", config)
    with safe_open(str(path), framework="pt") as f:
        keys = set(f.keys())
        meta = f.metadata()
    assert keys == {n for n, p in model.named_parameters() if p.requires_grad}
    assert json.loads(meta["config"])["target_modules"] == ["value"]
    assert read_metadata(path) == ("lora", {"alpha": 8.0, "dropout": 0.0, "rank": 2,
                                            "target_modules": ["value"]})


def test_loading_into_a_mismatched_model_fails(tmp_path):
    model = tiny_bert()
    config = adapters.apply_method(model, "lora")
    path = tmp_path / "a.safetensors"
    save_trainable(model, path, "lora", config)
    with pytest.raises(ValueError, match="trainable tensors differ"):
        load_trainable(tiny_t5(), path)
