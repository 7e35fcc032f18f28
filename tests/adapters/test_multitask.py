"""Multi-task parallel inference (AdapterDrop §3, Table 2): same logits as each task alone, with
the layers below the first adapter computed once."""

import copy

import pytest
import torch

import adapters
from adapters.insertion import blocks
from adapters.multitask import check_same_base, from_method, from_task_models
from family_models import MODELS, batch, inputs, logits, randomize_trainable


def _task_models(arch, n_tasks, method, overrides, layers=3):
    models = []
    for t in range(n_tasks):
        model = MODELS[arch](layers=layers, seed=0)  # the same base for every task
        adapters.apply_method(model, method, overrides)
        randomize_trainable(model, seed=10 + t, std=0.3)  # each task its own adapters and head
        models.append(model)
    return models


def _rows_per_block(parallel):
    rows = []
    for _, block in blocks(parallel.model):
        block.register_forward_hook(lambda m, args, out, r=rows: r.append(
            (out[0] if isinstance(out, tuple) else out).shape[0]))
    return rows


@pytest.mark.parametrize("arch", ["bert", "t5"])
@pytest.mark.parametrize("method,overrides,shared", [
    ("adapterdrop", {"drop_first_n": 2}, 2),   # AdapterDrop: the first two layers run once
    ("adapterdrop", {"drop_first_n": 1, "architecture": "houlsby"}, 1),
    ("pfeiffer", {}, 0),
    # Compacter++ without its layer norms: trained layer norms would differ per task (see below)
    ("compacterpp", {"reduction_factor": 8, "train_layer_norm": False}, 0),
])
def test_parallel_logits_equal_each_task_alone(arch, method, overrides, shared):
    n_tasks, b = 3, 4
    models = _task_models(arch, n_tasks, method, overrides)
    alone = torch.stack([logits(m) for m in models])  # [N, B, labels]
    parallel = from_task_models(models).eval()
    assert parallel.num_shared == shared
    rows = _rows_per_block(parallel)
    with torch.no_grad():
        together = parallel(**inputs(batch()))
    assert together.shape == (n_tasks, b, 2)
    assert torch.allclose(together, alone, rtol=0, atol=1e-5)
    assert not torch.allclose(alone[0], alone[1], atol=1e-3)  # the tasks really differ
    n_blocks = len(list(blocks(parallel.model)))
    # shared layers see the batch once, the others the N stacked copies
    assert rows == [b] * shared + [n_tasks * b] * (n_blocks - shared)


def test_tasks_with_different_dropped_layers():
    models = _task_models("bert", 2, "adapterdrop", {"drop_first_n": 1})
    models += _task_models("bert", 1, "adapterdrop", {"drop_first_n": 2})
    alone = torch.stack([logits(m) for m in models])
    parallel = from_task_models(models).eval()
    assert parallel.num_shared == 1  # the lowest adapter of any task is in layer 1
    with torch.no_grad():
        assert torch.allclose(parallel(**inputs(batch())), alone, rtol=0, atol=1e-5)


def test_task_models_must_share_the_base():
    models = _task_models("bert", 2, "pfeiffer", {})
    with torch.no_grad():
        next(p for n, p in models[1].named_parameters() if "embeddings" in n).add_(1.0)
    with pytest.raises(ValueError, match="base"):
        check_same_base(models)


def test_task_models_stay_usable_and_from_method_builds_n_tasks():
    models = _task_models("bert", 2, "pfeiffer", {})
    before = logits(models[0])
    from_task_models(models)
    assert torch.equal(logits(models[0]), before)
    base = MODELS["bert"](layers=3)
    reference = copy.deepcopy(base)
    parallel = from_method(base, "adapterdrop", 4, {"drop_first_n": 1}).eval()
    with torch.no_grad():
        out = parallel(**inputs(batch()))
    # fresh adapters are the identity and every copy has the base's head: all tasks = the base
    assert out.shape == (4, 4, 2)
    assert torch.allclose(out, logits(reference).expand(4, -1, -1), rtol=0, atol=1e-5)


def test_methods_that_train_base_weights_are_refused():
    # Compacter trains the layer norms: each task has its own, so no layer is shared
    models = _task_models("bert", 2, "compacterpp", {"reduction_factor": 8})
    with pytest.raises(ValueError, match="base"):
        from_task_models(models)
