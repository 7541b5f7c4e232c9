"""Bad input to a sequence layer raises ValueError/TypeError that names what was expected and what came."""

from __future__ import annotations

import pytest
import torch

import rnnkit


@pytest.fixture(params=["fused", "loop"])
def lstm(request):
    return rnnkit.LSTM(4, 5, num_layers=2, backend=request.param)


def test_wrong_feature_size(lstm):
    with pytest.raises(ValueError, match=r"input has 3 features .* expected input_size=4"):
        lstm(torch.randn(6, 2, 3))


def test_wrong_rank():
    with pytest.raises(ValueError, match=r"3-D input \(seq, batch, feature\).*got shape \(6,\)"):
        rnnkit.GRU(4, 5)(torch.randn(6))


def test_integer_input_is_a_type_error(lstm):
    with pytest.raises(TypeError, match="floating-point.*torch.int64"):
        lstm(torch.ones(6, 2, 4, dtype=torch.long))


def test_wrong_hx_shape(lstm):
    h, c = torch.zeros(2, 2, 5), torch.zeros(2, 2, 5)
    with pytest.raises(ValueError, match=r"hx\[0\] has shape \(1, 2, 5\), expected \(2, 2, 5\)"):
        lstm(torch.randn(6, 2, 4), (h[:1], c))
    with pytest.raises(ValueError, match="tuple of 2 tensors"):
        lstm(torch.randn(6, 2, 4), h)
    with pytest.raises(ValueError, match=r"hx has shape \(1, 2, 5\), expected \(1, 3, 5\)"):
        rnnkit.RNN(4, 5)(torch.randn(6, 3, 4), torch.zeros(1, 2, 5))  # mismatched batch


def test_hx_dtype_must_match_input():
    with pytest.raises(TypeError, match="dtype torch.float64 but the input has dtype torch.float32"):
        rnnkit.RNN(4, 5)(torch.randn(6, 3, 4), torch.zeros(1, 3, 5, dtype=torch.float64))


def test_bad_lengths(lstm):
    x = torch.randn(6, 3, 4)
    with pytest.raises(ValueError, match=r"lengths\[1\] = 7 is longer than the padded sequence \(6 steps\)"):
        lstm(x, lengths=[6, 7, 2])
    with pytest.raises(ValueError, match=r"lengths\[2\] = 0: every sequence must have at least one step"):
        lstm(x, lengths=[6, 1, 0])
    with pytest.raises(ValueError, match="lengths has 2 entries but the batch has 3"):
        lstm(x, lengths=[6, 1])
    with pytest.raises(TypeError, match="integers"):
        lstm(x, lengths=torch.tensor([1.0, 2.0, 3.0]))


def test_empty_sequence():
    with pytest.raises(ValueError, match="no time steps"):
        rnnkit.GRU(4, 5)(torch.randn(0, 2, 4))


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="hidden_size must be a positive integer"):
        rnnkit.LSTM(4, 0)
    with pytest.raises(ValueError, match="unknown backend 'cuda'"):
        rnnkit.LSTM(4, 5, backend="cuda")
    with pytest.raises(ValueError, match="proj_size"):
        rnnkit.LSTM(4, 5, proj_size=5)
    with pytest.raises(ValueError, match="dropout"):
        rnnkit.GRU(4, 5, dropout=1.5)
