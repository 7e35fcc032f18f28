"""AdapterFusion (Pfeiffer et al., 2021a) with the AdapterDrop paper's efficiency variants (§4–5).

In each layer, K frozen Pfeiffer adapters see the FFN output h; a trained attention mixes their
outputs z_k per token (Pfeiffer et al. 2021a, §3.2):
    s = softmax_k(h^T Q · (z_k^T K)),   o = Σ_k s_k · (z_k^T V)
Q, K, V: [d, d] with biases, per layer; V starts at the identity, so with identity adapters the
layer is the identity at init (up to the rounding of Σ_k s_k = 1).

AdapterDrop variants:
- fusion dropout (App. E): in training, each layer drops each adapter with probability p, per
  batch (at least one is kept; p = 0.75 drops 6 of 8 on average), and does not compute it;
- pruning (§5.2): ``record_fusion_activations`` averages s_k per adapter and layer over given
  batches (the paper: the training set), ``prune_fusion(model, keep)`` keeps the ``keep`` most
  activated adapters of each layer and deletes the rest;
- removing fusion from the first n layers (§5.1): ``drop_first_n`` (in training) and
  ``set_dropped_layers`` from adapterdrop.py (at evaluation), robust training with ``robust``;
- iterative vs parallel adapters (App. H "Parallel Implementation of AdapterFusion", Table 12,
  Figure 11): ``implementation="parallel"`` computes the K adapters at once (see
  ``parallel_adapters``); the K adapter modules stay the parameter owners, so loading, pruning,
  dropout and dropped layers are the same code for both.
"""

from __future__ import annotations

import re

import torch
import torch.nn as nn
import torch.nn.functional as F

from adapters.adapterdrop import LayerDrop, remove_adapters_below
from adapters.bottleneck import BottleneckAdapter
from adapters.configs import FUSION_IMPLEMENTATIONS, FusionConfig
from adapters.houlsby import bottleneck_size, insert_adapters



def parallel_adapters(h: torch.Tensor, adapters: list[BottleneckAdapter]) -> torch.Tensor:
    """The outputs z_k = adapter_k(h) of k bottleneck adapters at once: [k, B, S, d].

    The adapters own their weights (loading and pruning see K ordinary modules); they are stacked
    here, per forward: a copy of 2·k·d·m numbers, about a tenth of this function's time at MiniLM
    size (d = 384, K = 8, batch 8 × seq 64, 2 CPU cores: 0.17 of 1.7 ms).
      down: one product with the K down weights concatenated, [K·m, d] (App. H's first
            convolution: kernel d, K·m output channels);
      up:   one batched product over [K, m, d] (App. H's grouped convolution, groups = K)."""
    k, m = len(adapters), adapters[0].down.out_features
    w_down = torch.cat([a.down.weight for a in adapters])  # [k·m, d]
    b_down = torch.cat([a.down.bias for a in adapters])  # [k·m]
    w_up = torch.stack([a.up.weight.t() for a in adapters])  # [k, m, d]
    b_up = torch.stack([a.up.bias for a in adapters]).unsqueeze(1)  # [k, 1, d]
    x = adapters[0].act(F.linear(h, w_down, b_down))  # [B, S, k·m]
    x = x.reshape(-1, k, m).transpose(0, 1)  # [k, B·S, m]
    z = torch.baddbmm(b_up, x, w_up)  # [k, B·S, d]
    return h.unsqueeze(0) + z.view(k, *h.shape)  # [k, B, S, d]


class FusionLayer(nn.Module):
    def __init__(self, d: int, adapters: list[nn.Module], dropout: float = 0.0,
                 implementation: str = "iterative"):
        super().__init__()
        if implementation not in FUSION_IMPLEMENTATIONS:
            raise ValueError(f"implementation must be one of {', '.join(FUSION_IMPLEMENTATIONS)}")
        if implementation == "parallel" and not all(
                isinstance(a, BottleneckAdapter) and isinstance(a.down, nn.Linear)
                and isinstance(a.up, nn.Linear) and type(a.act) is type(adapters[0].act)
                for a in adapters):
            raise ValueError("parallel fusion stacks plain bottleneck adapters (Linear down/up, "
                             "one activation)")
        self.implementation = implementation
        self.adapters = nn.ModuleList(adapters)
        self.adapter_ids = list(range(len(adapters)))  # original index of each kept adapter
        self.query, self.key, self.value = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)
        for lin in (self.query, self.key):
            nn.init.normal_(lin.weight, std=0.02)  # BERT's init, as AdapterHub's fusion layers
            nn.init.zeros_(lin.bias)
        nn.init.eye_(self.value.weight)
        nn.init.zeros_(self.value.bias)
        self.dropout = dropout
        self.recording = False
        self.mask: torch.Tensor | None = None  # [batch, seq] token mask while recording
        self.register_buffer("act_sum", torch.zeros(len(adapters)), persistent=False)
        self.register_buffer("act_count", torch.zeros(()), persistent=False)

    def active(self) -> list[int]:
        """Indices (into self.adapters) used in this forward. Fusion dropout (training only):
        "each adapter has a p chance of not being used as input to the fusion layer" (AdapterDrop
        Table 7); if every adapter is dropped, one drawn at random stays."""
        k = len(self.adapters)
        if not (self.training and self.dropout):
            return list(range(k))
        keep = (torch.rand(k) >= self.dropout).nonzero().flatten().tolist()
        return keep or [int(torch.randint(k, ()))]

    def forward(self, h: torch.Tensor) -> torch.Tensor:  # h: [B, S, d]
        idx = self.active()
        if self.implementation == "parallel":
            z = parallel_adapters(h, [self.adapters[i] for i in idx])  # [k, B, S, d]
        else:
            z = torch.stack([self.adapters[i](h) for i in idx])  # [k, B, S, d]
        scores = (self.query(h).unsqueeze(0) * self.key(z)).sum(-1)  # [k, B, S]
        s = scores.softmax(dim=0)
        if self.recording:
            self._record(s.detach(), idx)
        return (s.unsqueeze(-1) * self.value(z)).sum(0)  # [B, S, d]

    def _record(self, s: torch.Tensor, idx: list[int]) -> None:
        w = torch.ones_like(s[0])  # [B, S]: weight of each token
        if self.mask is not None and self.mask.shape == w.shape:
            w = self.mask.to(w.dtype)  # padding does not count; other sequences count every token
        self.act_sum[idx] += (s * w).sum(dim=(1, 2))
        self.act_count += w.sum()

    def mean_activation(self) -> torch.Tensor:  # [k]
        if self.act_count == 0:
            raise RuntimeError("no fusion activations recorded; run record_fusion_activations")
        return self.act_sum / self.act_count

    def prune(self, keep: int) -> None:
        if not 1 <= keep <= len(self.adapters):
            raise ValueError(f"keep must be in 1..{len(self.adapters)}")
        order = torch.argsort(self.mean_activation(), descending=True, stable=True)
        kept = sorted(order[:keep].tolist())
        self.adapters = nn.ModuleList([self.adapters[i] for i in kept])
        self.adapter_ids = [self.adapter_ids[i] for i in kept]
        self.act_sum = self.act_sum[kept]


def fusion_layers(model) -> list[FusionLayer]:
    """Bottom to top (the order of blocks), only layers that still have fusion."""
    return [m for m in model.modules() if isinstance(m, FusionLayer)]


@torch.no_grad()
def record_fusion_activations(model, batches) -> list[torch.Tensor]:
    """Average fusion weight s_k per adapter, per fusion layer, over ``batches`` (dicts of model
    inputs, e.g. the training set; labels are ignored). Returns one [k] tensor per layer, in the
    order of ``fusion_layers``; the averages stay in the layers for ``prune_fusion``."""
    layers = fusion_layers(model)
    was_training = model.training
    model.eval()  # no fusion dropout, no dropout: the activations of the deployed model
    for layer in layers:
        layer.act_sum.zero_()
        layer.act_count.zero_()
        layer.recording = True
    try:
        for batch in batches:
            inputs = {k: v for k, v in batch.items() if k != "labels"}
            for layer in layers:
                layer.mask = inputs.get("attention_mask")
            model(**inputs)
    finally:
        for layer in layers:
            layer.recording, layer.mask = False, None
        model.train(was_training)
    return [layer.mean_activation() for layer in layers]


def prune_fusion(model, keep: int) -> list[list[int]]:
    """Keep the ``keep`` most activated adapters in every fusion layer (AdapterDrop §5.2; ties:
    the lower index stays). Returns the original indices kept, per layer."""
    layers = fusion_layers(model)
    for layer in layers:
        layer.prune(keep)
    return [layer.adapter_ids for layer in layers]


def load_fusion_adapter(model, k: int, state_dict: dict[str, torch.Tensor]) -> None:
    """Load adapter k of every fusion layer from a Pfeiffer model's trained weights (the keys of
    ``trainable_state_dict`` after ``apply_method(model, "pfeiffer")``; the head is ignored).
    Load before pruning: k is the position in each layer's adapter list."""
    # "...output.dense.adapter.down.weight" -> "...output.dense.adapter.adapters.<k>.down.weight"
    src = {re.sub(r"\.adapter\.", f".adapter.adapters.{k}.", key, count=1): v
           for key, v in state_dict.items() if ".adapter." in key}
    params = dict(model.named_parameters())
    ours = {n for n in params if f".adapter.adapters.{k}." in n}
    fused = {n.split(".adapter.adapters.")[0] for n in ours}  # layers that have fusion
    # layers without fusion (drop_first_n) do not need their adapter weights: ignored
    unexpected = sorted(n for n in src if n.split(".adapter.")[0] in fused and n not in ours)
    missing = sorted(ours - set(src))
    if missing or unexpected:
        raise ValueError(f"adapter {k}: missing {missing[:3]}, unexpected {unexpected[:3]}")
    with torch.no_grad():
        for name in ours:
            params[name].copy_(src[name])


def _apply(model, config: FusionConfig) -> None:
    def make_layer(d: int) -> FusionLayer:
        m = bottleneck_size(d, config.reduction_factor)
        adapters = [BottleneckAdapter(d, m, config.activation) for _ in range(config.num_adapters)]
        for p in (p for a in adapters for p in a.parameters()):
            p.requires_grad_(False)  # the fused adapters are trained beforehand and stay frozen
        return FusionLayer(d, adapters, config.fusion_dropout, config.implementation)

    insert_adapters(model, config, ("ffn_output",), make_adapter=make_layer)
    if config.drop_first_n:
        remove_adapters_below(model, config.drop_first_n)
    model.adapter_layer_drop = LayerDrop(model, robust=config.robust)
