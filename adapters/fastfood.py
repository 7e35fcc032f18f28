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


_HADAMARD: dict[tuple, torch.Tensor] = {}


def hadamard(n: int, dtype=torch.float32, device=None) -> torch.Tensor:
    """Dense Sylvester Hadamard matrix H_n = H_2 ⊗ H_{n/2} (cached; small n only)."""
    key = (n, dtype, str(device))
    if key not in _HADAMARD:
        H = torch.ones(1, 1, dtype=dtype, device=device)
        h2 = torch.tensor([[1.0, 1.0], [1.0, -1.0]], dtype=dtype, device=device)
        while H.shape[0] < n:
            H = torch.kron(h2, H)
        _HADAMARD[key] = H
    return _HADAMARD[key]


def fwht(x: torch.Tensor, max_bits: int = 6) -> torch.Tensor:
    """Unnormalised fast Walsh-Hadamard transform over the last dim (a power of 2): x @ H_L.

    H_L = H_{n_1} ⊗ ... ⊗ H_{n_m} (Sylvester order) for any split of log2 L into chunks. With x
    viewed as an [n_1, ..., n_m] array, the factor H_{n_j} acts on axis j alone, so each of the
    m = ceil(log2 L / max_bits) passes is one matmul with a dense H_n (n <= 2^max_bits) on the
    view [P, n_j, S] (P, S: the sizes before and after axis j): H_n @ X batched over P, or X @ H_n
    for the last axis. No pass transposes, so memory is read in order; that matters from L ~ 2^20
    on (strided transposes: 5.6x slower at L = 2^24 on this CPU, see the commit message)."""
    *batch, L = x.shape
    if L < 1 or L & (L - 1):
        raise ValueError(f"last dim must be a power of 2, got {L}")
    k = L.bit_length() - 1
    m = max(1, math.ceil(k / max_bits))
    chunks = [k // m + (1 if i < k % m else 0) for i in range(m)]  # balanced: 24 -> 6,6,6,6
    y = x.reshape(math.prod(batch), L)
    P, S = y.shape[0], L
    for bits in chunks:  # the most significant factor first
        n = 1 << bits
        S //= n
        H = hadamard(n, x.dtype, x.device)  # symmetric
        y = y.reshape(P, n) @ H if S == 1 else torch.matmul(H, y.reshape(P, n, S))
        P *= n
    return y.reshape(*batch, L)


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
