"""Bad input to a sequence layer raises ValueError/TypeError that names what was expected and what came — in torch.nn's
words where torch refuses the same input (its message is part of rnnkit's: code and tests written for torch match it)."""

from __future__ import annotations

import pytest
import torch

import rnnkit


@pytest.fixture(params=["fused", "loop"])
def lstm(request):
    return rnnkit.LSTM(4, 5, num_layers=2, backend=request.param)


def torch_message(module, *args) -> str:
    with pytest.raises(Exception) as raised:
        module(*args)
    return str(raised.value)


def test_wrong_feature_size(lstm):
    x = torch.randn(6, 2, 3)
    with pytest.raises(ValueError) as raised:
        lstm(x)
    assert torch_message(torch.nn.LSTM(4, 5, num_layers=2), x) in str(raised.value)  # "input.size(-1) must be …"
    assert "input shape (6, 2, 3)" in str(raised.value)


def test_wrong_rank():
    with pytest.raises(ValueError, match=r"Expected input to be 2D or 3D, got 1D.*3-D input \(seq, batch, feature\)"
                                         r".*got shape \(6,\)"):
        rnnkit.GRU(4, 5)(torch.randn(6))


def test_integer_input_is_a_type_error(lstm):
    with pytest.raises(TypeError, match="floating-point.*torch.int64"):
        lstm(torch.ones(6, 2, 4, dtype=torch.long))


def test_wrong_hx_shape(lstm):
    h, c, x = torch.zeros(2, 2, 5), torch.zeros(2, 2, 5), torch.randn(6, 2, 4)
    with pytest.raises(ValueError) as raised:
        lstm(x, (h[:1], c))
    assert torch_message(torch.nn.LSTM(4, 5, num_layers=2), x, (h[:1], c)) in str(raised.value)
    assert "Expected hidden[0] size (2, 2, 5), got [1, 2, 5]" in str(raised.value)
    with pytest.raises(ValueError, match="tuple of 2 tensors"):
        lstm(x, h)
    x, h = torch.randn(6, 3, 4), torch.zeros(1, 2, 5)  # mismatched batch
    with pytest.raises(ValueError) as raised:
        rnnkit.RNN(4, 5)(x, h)
    assert torch_message(torch.nn.RNN(4, 5), x, h) in str(raised.value)  # "Expected hidden size (1, 3, 5), got …"
    with pytest.raises(ValueError) as raised:  # a 2-D state for a batched input
        rnnkit.GRU(4, 5)(x, h[0])
    assert torch_message(torch.nn.GRU(4, 5), x, h[0]) in str(raised.value)


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
    with pytest.raises(ValueError, match="hidden_size must be greater than zero"):  # torch's words
        rnnkit.LSTM(4, 0)
    with pytest.raises(ValueError, match="unknown backend 'cuda'"):
        rnnkit.LSTM(4, 5, backend="cuda")
    with pytest.raises(ValueError, match="proj_size"):
        rnnkit.LSTM(4, 5, proj_size=5)
    with pytest.raises(ValueError, match="dropout"):
        rnnkit.GRU(4, 5, dropout=1.5)


@pytest.mark.parametrize("name, kwargs", [("GRU", {"dropout": 1.5}), ("RNN", {"dropout": True}),
                                          ("LSTM", {"proj_size": -1}), ("LSTM", {"proj_size": 5})])
def test_constructor_errors_carry_torch_nn_messages(name, kwargs):
    # the same arguments to torch.nn's layer: its message is part of rnnkit's, with the same exception type
    with pytest.raises(ValueError) as theirs:
        getattr(torch.nn, name)(4, 5, **kwargs)
    with pytest.raises(ValueError) as ours:
        getattr(rnnkit, name)(4, 5, **kwargs)
    assert str(theirs.value) in str(ours.value)


@pytest.mark.parametrize("name", ["RNN", "GRU", "LSTM", "MinGRU"])
def test_dropout_on_one_layer_warns_as_torch_nn_does(name):
    # torch.nn warns that dropout acts between stacked layers only; so does every rnnkit layer with that argument
    import warnings

    with pytest.warns(UserWarning) as theirs:
        torch.nn.GRU(4, 5, dropout=0.5, num_layers=1)
    with pytest.warns(UserWarning, match="dropout option adds dropout after all but last recurrent layer") as ours:
        getattr(rnnkit, name)(4, 5, dropout=0.5, num_layers=1)
    assert str(theirs[0].message) in str(ours[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        getattr(rnnkit, name)(4, 5, dropout=0.5, num_layers=2)  # two layers: dropout between them, no warning


def test_an_unknown_nonlinearity_is_refused_in_torch_nn_words():
    # torch's test_RNN_nonlinearity: assertRaisesRegex(ValueError, "Unknown nonlinearity")
    with pytest.raises(ValueError) as theirs:
        torch.nn.RNN(1, 10, nonlinearity="garbage")
    for make in (lambda: rnnkit.RNN(1, 10, nonlinearity="garbage"), lambda: rnnkit.IndRNN(1, 10, nonlinearity="garbage"),
                 lambda: rnnkit.SimpleRNNCell(1, 10, nonlinearity="garbage")):
        with pytest.raises(ValueError, match="Unknown nonlinearity") as ours:
            make()
        assert str(theirs.value) in str(ours.value)
    assert rnnkit.RNN(1, 10, 1, "relu").nonlinearity == "relu"  # positional, as torch.nn takes it
