"""AdapterFusion's parallel implementation (AdapterDrop App. H, Table 12): the K adapters in one
batched down and up product give what running them one after another gives, and everything built
on the adapter modules (counts, freezing, loading, pruning, dropout, dropped layers) still holds."""

import pytest
import torch

import adapters
from adapters.adapterdrop import set_dropped_layers
from adapters.bottleneck import BottleneckAdapter
from adapters.fusion import (FusionConfig, FusionLayer, fusion_layers, load_fusion_adapter,
                             parallel_adapters, prune_fusion, record_fusion_activations)
from family_models import (assert_frozen_unchanged_after_step, batch, inputs, logits,
                           randomize_trainable, tiny_t5, trained_pfeiffer_states)
from pipeline.models import load_model

MODELS = {"bert": lambda: load_model("tiny-bert", 2), "t5": tiny_t5}
ATOL = 1e-5  # float32 rounding of a different product order; a wrong adapter is ~1e-2 off


def _pair(arch, **config):
    """The same weights (random adapters and fusion, non-identity) in both implementations."""
    models = {}
    for impl in ("iterative", "parallel"):
        model = MODELS[arch]()
        adapters.apply_method(model, "fusion", {**config, "implementation": impl})
        models[impl] = model
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for layer in fusion_layers(models["iterative"]):
            for p in layer.parameters():  # frozen adapters too: fresh ones are the identity
                p.add_(torch.randn(p.shape, generator=g) * 0.2)
    models["parallel"].load_state_dict(models["iterative"].state_dict())
    return models["iterative"], models["parallel"]


def test_config_validates_implementation():
    assert FusionConfig().implementation == "iterative"
    assert FusionConfig(implementation="parallel").implementation == "parallel"
    with pytest.raises(ValueError, match="implementation"):
        FusionConfig(implementation="grouped")


def test_parallel_adapters_equal_each_adapter_run_alone():
    torch.manual_seed(0)
    d, m, k = 16, 4, 3
    ads = [BottleneckAdapter(d, m, "gelu") for _ in range(k)]
    for a in ads:
        torch.nn.init.normal_(a.up.weight, std=0.5)
        torch.nn.init.normal_(a.down.bias, std=0.5)
        torch.nn.init.normal_(a.up.bias, std=0.5)
    h = torch.randn(2, 5, d)
    z = parallel_adapters(h, ads)
    assert z.shape == (k, 2, 5, d)
    for i, a in enumerate(ads):
        assert torch.allclose(z[i], a(h), rtol=0, atol=ATOL)
        assert not torch.allclose(z[i], h, atol=1e-2)  # the adapters do something


def test_parallel_rejects_adapters_it_cannot_stack():
    d = 16
    odd = BottleneckAdapter(d, 4, down=torch.nn.Sequential(torch.nn.Linear(d, 4)))
    with pytest.raises(ValueError, match="parallel"):
        FusionLayer(d, [BottleneckAdapter(d, 4), odd], implementation="parallel")
    with pytest.raises(ValueError, match="parallel"):
        FusionLayer(d, [BottleneckAdapter(d, 4, "relu"), BottleneckAdapter(d, 4, "gelu")],
                    implementation="parallel")


@pytest.mark.parametrize("arch", ["bert", "t5"])
def test_parallel_equals_iterative_outputs_and_gradients(arch):
    iterative, parallel = _pair(arch, num_adapters=3)
    out_i, out_p = logits(iterative), logits(parallel)
    assert torch.allclose(out_i, out_p, rtol=0, atol=ATOL)
    assert not torch.allclose(out_i, logits(MODELS[arch]()), atol=1e-3)  # fusion is not a no-op
    grads = []
    for model in (iterative, parallel):
        model.train()
        torch.manual_seed(7)  # the same model dropout masks in both
        model(**batch()).loss.backward()
        grads.append({n: p.grad for n, p in model.named_parameters() if p.requires_grad})
    assert grads[0].keys() == grads[1].keys()
    for name, g in grads[0].items():
        assert torch.allclose(g, grads[1][name], rtol=1e-4, atol=ATOL), name


@pytest.mark.parametrize("arch", ["bert", "t5"])
def test_same_parameters_trainable_count_and_frozen_after_a_step(arch):
    iterative, parallel = _pair(arch, num_adapters=4, drop_first_n=1)
    shapes = [{n: p.shape for n, p in m.named_parameters()} for m in (iterative, parallel)]
    assert shapes[0] == shapes[1]
    assert adapters.count_parameters(iterative) == adapters.count_parameters(parallel)
    assert_frozen_unchanged_after_step(parallel)  # adapters bit-identical, fusion moved


def test_fusion_dropout_drops_the_same_adapters_in_both():
    iterative, parallel = _pair("bert", num_adapters=4, fusion_dropout=0.5)
    outs = []
    for model in (iterative, parallel):
        model.train()
        torch.manual_seed(11)  # the same fusion-dropout draws and model dropout masks
        outs.append([model(**inputs(batch(n=2))).logits for _ in range(4)])
    for a, b in zip(*outs):
        assert torch.allclose(a, b, rtol=0, atol=ATOL)
    parallel.train()
    torch.manual_seed(12)  # other draws: other adapters kept, other outputs
    assert not torch.allclose(outs[1][0], parallel(**inputs(batch(n=2))).logits, atol=1e-4)


def test_dropped_fusion_layers_in_both():
    iterative, parallel = _pair("bert", num_adapters=2)
    set_dropped_layers(iterative, 1)
    set_dropped_layers(parallel, 1)
    dropped = logits(parallel)
    assert torch.allclose(logits(iterative), dropped, rtol=0, atol=ATOL)
    removed = MODELS["bert"]()
    adapters.apply_method(removed, "fusion",
                          {"num_adapters": 2, "drop_first_n": 1, "implementation": "parallel"})
    removed.load_state_dict(parallel.state_dict(), strict=False)
    assert torch.equal(logits(removed), dropped)
    set_dropped_layers(parallel, 0)
    assert not torch.allclose(logits(parallel), dropped, atol=1e-4)


def test_pruning_gives_the_same_result_in_both():
    iterative, parallel = _pair("bert", num_adapters=5)
    acts = [record_fusion_activations(m, [batch(0), batch(1)]) for m in (iterative, parallel)]
    for a_i, a_p in zip(*acts):
        assert torch.allclose(a_i, a_p, rtol=0, atol=1e-6)
        gaps = a_i.sort().values.diff()
        assert gaps.min() > 1e-4  # no near-tie that rounding could flip
    kept = prune_fusion(iterative, keep=2)
    assert prune_fusion(parallel, keep=2) == kept
    assert kept != [[0, 1], [0, 1]]  # the activations chose, not the order
    assert torch.allclose(logits(iterative), logits(parallel), rtol=0, atol=ATOL)
    assert [len(f.adapters) for f in fusion_layers(parallel)] == [2, 2]


def test_load_trained_pfeiffer_adapters_into_parallel_fusion():
    trained = trained_pfeiffer_states()
    models = []
    for impl in ("iterative", "parallel"):
        model = MODELS["bert"]()
        adapters.apply_method(model, "fusion", {"num_adapters": 2, "implementation": impl})
        for k, state in enumerate(trained):
            load_fusion_adapter(model, k, state)
        randomize_trainable(model, seed=5)  # the same fusion weights; V = I hides mix-ups
        models.append(model)
    params = dict(models[1].named_parameters())
    for k, state in enumerate(trained):
        for name, value in state.items():
            if ".adapter." in name:
                assert torch.equal(params[name.replace(".adapter.", f".adapter.adapters.{k}.")],
                                   value)
    assert torch.allclose(logits(models[0]), logits(models[1]), rtol=0, atol=ATOL)
