"""Tiny models, batches and closed-form counts for the bottleneck-family tests (LowRank, PHM,
Compacter, shared adapter, AdapterDrop, fusion, multi-task)."""

import torch
from transformers import AutoModelForSequenceClassification, BertConfig, T5Config

from tiny_models import batch, inputs  # noqa: F401  (the batches are shared with these tests)

D = 32  # hidden size of every tiny model here
# Task heads: BERT pooler (D·D + D) + classifier (D·2 + 2); T5 dense (D·D + D) + out_proj (D·2 + 2).
HEAD = D * D + D + D * 2 + 2
EOS = 1  # T5's eos_token_id


def tiny_bert(layers=2, seed=0):
    torch.manual_seed(seed)
    config = BertConfig(hidden_size=D, num_hidden_layers=layers, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128, num_labels=2)
    return AutoModelForSequenceClassification.from_config(config)


def tiny_t5(layers=2, seed=0):
    torch.manual_seed(seed)
    config = T5Config(d_model=D, d_ff=64, num_layers=layers, num_decoder_layers=layers,
                      num_heads=2, d_kv=16, num_labels=2, decoder_start_token_id=0,
                      pad_token_id=0, eos_token_id=EOS)
    return AutoModelForSequenceClassification.from_config(config)


MODELS = {"bert": tiny_bert, "t5": tiny_t5}


def blocks_per_stack(arch, layers=2):
    return [layers] if arch == "bert" else [layers, layers]  # T5: encoder and decoder


def layer_norm_params(arch, layers=2):
    """BERT: embeddings LN + 2 per layer, weight and bias. T5: 2 per encoder block, 3 per decoder
    block, one final LN per stack; scale only."""
    if arch == "bert":
        return (1 + 2 * layers) * 2 * D
    return (2 * layers + 1 + 3 * layers + 1) * D


def logits(model, seed=0):
    model.eval()
    with torch.no_grad():
        return model(**inputs(batch(seed))).logits


def randomize_trainable(model, seed=1, std=0.1):
    """Non-zero adapter weights (fresh adapters are the identity, which would hide mistakes)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.add_(torch.randn(p.shape, generator=g) * std)


def trained_pfeiffer_states(seeds=(1, 2)) -> list[dict]:
    """Trainable state dicts of tiny-BERT Pfeiffer adapters with random non-zero weights, one per
    seed: the K "trained" adapters that fusion tests load."""
    import adapters

    states = []
    for seed in seeds:
        pfeiffer = tiny_bert()
        adapters.apply_method(pfeiffer, "pfeiffer")
        randomize_trainable(pfeiffer, seed=seed)
        states.append(adapters.trainable_state_dict(pfeiffer))
    return states


def assert_frozen_unchanged_after_step(model, lr=1e-2):
    """Two AdamW steps (the first moves only the zero-initialised up-projections' side): frozen
    tensors bit-identical, every trainable tensor moved."""
    frozen = {n: p.detach().clone() for n, p in model.named_parameters() if not p.requires_grad}
    trained = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)
    model.train()
    for _ in range(2):
        model(**batch()).loss.backward()
        opt.step()
        opt.zero_grad()
    params = dict(model.named_parameters())
    assert frozen and trained
    assert [n for n, v in frozen.items() if not torch.equal(params[n], v)] == []
    assert [n for n, v in trained.items() if torch.equal(params[n], v)] == []
