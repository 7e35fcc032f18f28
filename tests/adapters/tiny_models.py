"""Tiny random-init models and batches shared by the LoRA / prompt / SAID / BitFit-T5 tests."""

import torch
from transformers import AutoModelForSequenceClassification, BertConfig, T5Config

from pipeline.models import BUILTIN_CONFIGS, load_model

D = 32  # hidden size of both tiny models
BERT_LAYERS = 2
# BertForSequenceClassification's head: pooler (D×D + D) and classifier (D×2 + 2).
BERT_HEAD = D * D + D + D * 2 + 2
# T5ForSequenceClassification's head: dense (D×D + D) and out_proj (D×2 + 2).
T5_HEAD = D * D + D + D * 2 + 2
T5_CONFIG = dict(d_model=32, d_ff=64, num_layers=2, num_decoder_layers=2, num_heads=2, d_kv=16,
                 num_labels=2, decoder_start_token_id=0)
EOS = 1  # T5Config's eos_token_id


def tiny_bert(seed=0, vocab_size=None):
    """The built-in tiny-bert; ``vocab_size`` shrinks its embeddings (Intrinsic-SAID's
    projection of a 30522 x 32 embedding is most of a tiny model's step time)."""
    if vocab_size is None:
        return load_model("tiny-bert", num_labels=2, seed=seed)
    torch.manual_seed(seed)
    config = BertConfig(num_labels=2, vocab_size=vocab_size, **BUILTIN_CONFIGS["tiny-bert"])
    return AutoModelForSequenceClassification.from_config(config)


def tiny_t5(seed=0, vocab_size=32128):
    torch.manual_seed(seed)
    return AutoModelForSequenceClassification.from_config(
        T5Config(**T5_CONFIG, vocab_size=vocab_size))


def batch(seed=0, n=4, seq=8, eos=True, labels=True, vocab=(1000, 2000)):
    """Token ids in ``vocab`` (default 1000..1999: no special ids), one padded row; with ``eos`` every row's last
    real token is T5's EOS (T5ForSequenceClassification pools there)."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(*vocab, (n, seq), generator=g)
    mask = torch.ones_like(ids)
    mask[0, seq - 3:] = 0
    ids[0, seq - 3:] = 0
    if eos:
        ids[0, seq - 4] = EOS
        ids[1:, -1] = EOS
    out = {"input_ids": ids, "attention_mask": mask}
    if labels:
        out["labels"] = torch.randint(0, 2, (n,), generator=g)
    return out


def inputs(b):
    return {k: v for k, v in b.items() if k != "labels"}


def one_step(model, lr=1e-2, b=None):
    """One AdamW step on the trainable parameters (train mode, a fixed batch)."""
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)
    model.train()
    model(**(b or batch())).loss.backward()
    opt.step()
    opt.zero_grad()
    model.eval()


def assert_frozen_unchanged_after_step(model, b=None):
    """Frozen tensors bit-identical after a step; at least one trainable tensor moved."""
    frozen = {n: p.detach().clone() for n, p in model.named_parameters() if not p.requires_grad}
    trained = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    one_step(model, b=b)
    params = dict(model.named_parameters())
    assert frozen, "nothing frozen"
    changed = [n for n, v in frozen.items() if not torch.equal(params[n], v)]
    assert not changed, changed
    assert any(not torch.equal(params[n], v) for n, v in trained.items())
