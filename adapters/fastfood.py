"""The Fastfood transform (Le et al., 2013) in pure torch, as Intrinsic-SAID uses it.

A random projection R^d -> R^D that never materialises a D x d matrix:
    V x = (1 / sqrt(D · ||G||^2)) · [H G Π H B · pad_L(x)][:D]
with L = 2^k >= max(d, D), B a random ±1 diagonal, H the (unnormalised, Sylvester-ordered)
L x L Walsh-Hadamard matrix applied in O(L log L), Π a random permutation, G a Gaussian
diagonal. The scale is the one of Li et al. (2018)'s intrinsic-dimension code, which Aghajanyan
et al. (2021) build on: divisor sqrt(L · ||G||^2) times sqrt(D / L). That code pads to
L = 2^ceil(log2 D) and silently drops the coordinates of x beyond L when d > D; we pad to
L >= max(d, D) instead, so every coordinate of x reaches every output.
Storage per projection: B (int8), Π (int32), G (float32): 9 bytes per padded coordinate.
"""

from __future__ import annotations

import math

import torch


def next_pow2(n: int) -> int:
    return 1 << max(0, math.ceil(math.log2(n)))


def fwht(x: torch.Tensor) -> torch.Tensor:
    """Unnormalised fast Walsh-Hadamard transform over the last dim (a power of 2): x @ H_L.

    H_{2n} = [[H_n, H_n], [H_n, -H_n]] (Sylvester order). Each of the log2 L butterfly stages
    pairs elements h apart; only adds and subtracts, so autograd saves nothing."""
    *batch, L = x.shape
    if L & (L - 1):
        raise ValueError(f"last dim must be a power of 2, got {L}")
    h = 1
    while h < L:
        x = x.reshape(*batch, L // (2 * h), 2, h)  # [..., blocks, pair, h]
        a, b = x.select(-2, 0), x.select(-2, 1)
        x = torch.stack((a + b, a - b), dim=-2)
        h *= 2
    return x.reshape(*batch, L)


class FastfoodParams:
    """B, Π, G for n projections of one padded size L, stacked: [n, L] each."""

    def __init__(self, n: int, L: int, seeds: list[int], device: torch.device):
        gens = [torch.Generator().manual_seed(s) for s in seeds]
        # Generated on CPU from per-projection seeds so every device gets the same projection.
        self.B = torch.stack([torch.randint(0, 2, (L,), generator=g, dtype=torch.int8) * 2 - 1
                              for g in gens]).to(device)
        self.Pi = torch.stack([torch.randperm(L, generator=g).to(torch.int32) for g in gens]
                              ).to(device)  # gather takes int32 indices
        self.G = torch.stack([torch.randn(L, generator=g) for g in gens]).to(device)
        self.G_sq = (self.G ** 2).sum(dim=1)  # [n]


def fastfood(x: torch.Tensor, params: FastfoodParams) -> torch.Tensor:
    """[H G Π H B · pad(x)] for each of the n projections: x [d] -> [n, L] (unscaled, untruncated)."""
    L = params.B.shape[1]
    x = torch.nn.functional.pad(x, (0, L - x.shape[0]))  # [L]
    y = fwht(params.B.to(x.dtype) * x)                    # [n, L]  H B x
    y = torch.gather(y, 1, params.Pi)                     # Π H B x
    return fwht(y * params.G)                              # H G Π H B x
