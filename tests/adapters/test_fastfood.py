"""The Walsh-Hadamard transform and the Fastfood projection against dense matrices."""

import pytest
import torch

from adapters.fastfood import FastfoodParams, fastfood, fwht, next_pow2


def hadamard(L):
    """Dense Sylvester Hadamard matrix H_L = H_2 ⊗ H_{L/2}."""
    H = torch.ones(1, 1, dtype=torch.float64)
    h2 = torch.tensor([[1.0, 1.0], [1.0, -1.0]], dtype=torch.float64)
    while H.shape[0] < L:
        H = torch.kron(h2, H)
    return H


@pytest.mark.parametrize("L", [1, 2, 4, 8, 64, 512])
def test_fwht_equals_dense_hadamard(L):
    x = torch.randn(3, L, dtype=torch.float64, generator=torch.Generator().manual_seed(L))
    assert torch.allclose(fwht(x), x @ hadamard(L), atol=1e-10)


@pytest.mark.parametrize("max_bits", [1, 2, 3, 7])
def test_fwht_any_split_into_kronecker_factors(max_bits):
    x = torch.randn(2, 1024, dtype=torch.float64)
    assert torch.allclose(fwht(x, max_bits=max_bits), x @ hadamard(1024), atol=1e-9)


def test_fwht_is_its_own_inverse_up_to_L():
    x = torch.randn(1024, dtype=torch.float64)
    assert torch.allclose(fwht(fwht(x)), 1024 * x, atol=1e-8)


def test_fwht_rejects_non_power_of_two():
    with pytest.raises(ValueError, match="power of 2"):
        fwht(torch.randn(6))


def test_next_pow2():
    assert [next_pow2(n) for n in (1, 2, 3, 4, 5, 1000, 1024, 1025)] == [1, 2, 4, 4, 8, 1024,
                                                                        1024, 2048]


def test_fastfood_equals_dense_H_G_Pi_H_B():
    d, L = 5, 16
    params = FastfoodParams(2, L, seeds=[3, 4], device=torch.device("cpu"))
    x = torch.randn(d, dtype=torch.float64)
    H = hadamard(L)
    for row in range(2):
        B = torch.diag(params.B[row].double())
        Pi = torch.eye(L, dtype=torch.float64)[params.Pi[row].long()]  # (Pi y)[j] = y[Pi[j]]
        G = torch.diag(params.G[row].double())
        V = H @ G @ Pi @ H @ B  # L x L; x is zero-padded to L
        expected = V[:, :d] @ x
        got = fastfood(x.float(), params)[row].double()
        assert torch.allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_fastfood_params_are_a_function_of_the_seed():
    a = FastfoodParams(1, 64, [7], torch.device("cpu"))
    b = FastfoodParams(1, 64, [7], torch.device("cpu"))
    c = FastfoodParams(1, 64, [8], torch.device("cpu"))
    assert torch.equal(a.Pi, b.Pi) and torch.equal(a.G, b.G) and torch.equal(a.B, b.B)
    assert not torch.equal(a.G, c.G)
    assert sorted(a.Pi[0].tolist()) == list(range(64))  # a permutation
    assert set(a.B.unique().tolist()) == {-1, 1}
