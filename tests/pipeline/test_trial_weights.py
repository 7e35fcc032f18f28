"""The weights a trial logs to MLflow load back into a fresh base model (adapters/io.py format)."""

import torch

import adapters
from adapters.io import load_trainable
from pipeline.grid import GridPoint
from pipeline.models import load_model
from pipeline.trial import _save_weights


def test_trial_weights_file_rebuilds_the_trained_model():
    model = load_model("tiny-bert", num_labels=2)
    config = adapters.apply_method(model, "pfeiffer", {"reduction_factor": 8})
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.add_(0.1)  # "trained": not the identity at init
    point = GridPoint("s", "tiny-bert", "pfeiffer", config.__dict__, "sst2", 1e-3, 0, {}, {}, None,
                      "k")
    path = _save_weights(model, point)
    fresh = load_model("tiny-bert", num_labels=2)
    load_trainable(fresh, path)
    ids = torch.randint(1000, 2000, (2, 8))
    model.eval(), fresh.eval()
    with torch.no_grad():
        assert torch.equal(model(input_ids=ids).logits, fresh(input_ids=ids).logits)
