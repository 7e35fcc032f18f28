"""Intrinsic-SAID (Aghajanyan et al., 2021): train the base model in a random d-dim subspace.

Every weight tensor i of the base model (the task head trains directly) is re-parameterised as
    W_i = W_i^0 + λ_i · reshape(V_i θ),
with θ ∈ R^{d-m} shared by all tensors, V_i a Fastfood projection R^{d-m} -> R^{|W_i|}
(adapters/fastfood.py; one independent projection per tensor), and one scalar λ_i per tensor.
As in Compacter §5.1, the m scalars are traded from the d dimensions, so the trained count is
exactly (d − m) + m = d. θ = 0 at init, so the model is unchanged; λ = 1 (a zero λ would give θ
no gradient). The projections are generated lazily, on the first forward, from
``projection_seed`` (listing and counting allocate nothing; a saved θ reloads exactly).
The re-parameterisation uses torch.nn.utils.parametrize; the projections are computed once per
forward of the base model (batched per padded size) and cached until it returns; without
gradients they are kept until θ or λ change or a forward with gradients (training) drops them.
"""

from __future__ import annotations

import torch
import torch.nn as nn
from torch.nn.utils import parametrize

from adapters.configs import IntrinsicSAIDConfig
from adapters.fastfood import FastfoodParams, fastfood, next_pow2
from adapters.registry import head_parameters


class IntrinsicSAID(nn.Module):
    def __init__(self, tensors: list[torch.Tensor], config: IntrinsicSAIDConfig):
        super().__init__()
        m = len(tensors)
        d_low = config.dimension - m if config.said else config.dimension
        if d_low < 1:
            raise ValueError(f"dimension {config.dimension} must exceed the {m} weight tensors")
        ref = tensors[0]
        self.theta = nn.Parameter(torch.zeros(d_low, dtype=ref.dtype, device=ref.device))
        self.scales = (nn.Parameter(torch.ones(m, dtype=ref.dtype, device=ref.device))
                       if config.said else None)
        self.sizes = [t.numel() for t in tensors]
        self.seed = config.projection_seed
        self.groups: dict[int, list[int]] = {}  # padded size L -> tensor indices
        for i, size in enumerate(self.sizes):
            self.groups.setdefault(next_pow2(max(size, d_low)), []).append(i)
        self._fastfood: dict[int, tuple] = {}  # L -> (params, norm, index), built on first use
        self._group_of = {i: L for L, indices in self.groups.items() for i in indices}
        self._cache: dict[int, torch.Tensor] | None = None
        self._frozen: tuple[tuple, dict[int, torch.Tensor]] | None = None  # no-grad deltas

    def _params(self, L: int) -> tuple[FastfoodParams, torch.Tensor, torch.Tensor]:
        """The group's projections, their normalisation [n] and tensor indices [n], on theta's
        device (built once: no host-to-device copies in the step)."""
        cached = self._fastfood.get(L)
        if cached is None or cached[0].B.device != self.theta.device:
            indices = self.groups[L]
            device = self.theta.device
            params = FastfoodParams(len(indices), L,
                                    [self.seed * 1_000_003 + i for i in indices], device)
            sizes = torch.tensor([self.sizes[i] for i in indices], device=device)
            norm = torch.rsqrt(sizes * params.G_sq)  # Li et al.'s normalisation, [n]
            cached = self._fastfood[L] = (params, norm, torch.tensor(indices, device=device))
        return cached

    def group_deltas(self, L: int) -> dict[int, torch.Tensor]:
        """λ_i · V_i θ, flat, for every tensor i whose projection is padded to L."""
        params, norm, index = self._params(L)
        y = fastfood(self.theta, params)  # [n, L]
        scale = norm.to(y.dtype)
        if self.scales is not None:
            scale = scale * self.scales[index]
        rows = (y * scale[:, None]).unbind(0)  # n x [L]
        # unbind, not y[row, :size]: indexing rows makes backward build a zero [n, L] gradient
        # per tensor (n^2·L fills: 13% of a MiniLM SAID step); unbind's backward is one stack.
        return {i: rows[r][: self.sizes[i]] for r, i in enumerate(self.groups[L])}

    def deltas(self) -> list[torch.Tensor]:
        """λ_i · V_i θ for every tensor i, flat, in tensor order."""
        out: dict[int, torch.Tensor] = {}
        for L in self.groups:
            out.update(self.group_deltas(L))
        return [out[i] for i in range(len(self.sizes))]

    def delta(self, i: int) -> torch.Tensor:
        L = self._group_of[i]
        if self._cache is None:  # outside a forward of the base model: compute on demand
            return self.group_deltas(L)[i]
        if i not in self._cache:  # one projection per group and forward, shared by its tensors
            self._cache.update(self.group_deltas(L))
        return self._cache[i]

    def open_cache(self, *_):
        if torch.is_grad_enabled():
            # training: the deltas change every step; a no-grad cache from an earlier
            # evaluation (one model-sized set of deltas) is dropped, not carried through it
            self._frozen = None
            self._cache = {}
            return
        # Without gradients (evaluation, inference probes) the deltas depend only on θ and λ:
        # keep them across forwards until an optimizer step or a load changes either (their
        # version counters move) or they move to another tensor (.to(device)). Inference then
        # costs the frozen model plus one add per weight, not two Fastfood transforms.
        key = tuple((t.data_ptr(), t._version) for t in (self.theta, self.scales) if t is not None)
        if self._frozen is None or self._frozen[0] != key:
            self._frozen = (key, {})
        self._cache = self._frozen[1]

    def close_cache(self, *_):
        self._cache = None


class _AddDelta(nn.Module):
    """Parametrization W = W^0 + delta_i (the SAID module is referenced, not owned)."""

    def __init__(self, said: IntrinsicSAID, index: int):
        super().__init__()
        self._said = (said,)  # a tuple hides it from Module registration (no duplicate params)
        self.index = index

    def forward(self, w0: torch.Tensor) -> torch.Tensor:
        return w0 + self._said[0].delta(self.index).view_as(w0).to(w0.dtype)


def _apply(model, config: IntrinsicSAIDConfig) -> None:
    base = model.base_model
    head = {id(p) for p in head_parameters(model)}
    # Every (module, name) holding a base weight; tied weights (T5's shared embedding) appear
    # under several modules and share one index.
    index: dict[int, int] = {}
    tensors, sites = [], []
    for module_name, module in base.named_modules():
        for name, p in module.named_parameters(recurse=False):
            if id(p) in head:
                continue
            if id(p) not in index:
                index[id(p)] = len(tensors)
                tensors.append(p)
            sites.append((module, name, index[id(p)]))
    said = IntrinsicSAID(tensors, config)
    for module, name, i in sites:
        parametrize.register_parametrization(module, name, _AddDelta(said, i), unsafe=True)
    base.add_module("intrinsic_said", said)
    base.register_forward_pre_hook(said.open_cache)
    base.register_forward_hook(said.close_cache, always_call=True)  # also when forward raises


def weight_tensor_count(model) -> int:
    """m: the number of distinct base-model tensors SAID re-parameterises (head excluded)."""
    head = {id(p) for p in head_parameters(model)}
    return len({id(p) for p in model.base_model.parameters()} - head)
