"""rnnkit layers to and from ``torch.nn``, and dynamic quantization.

rnnkit's ``RNN``/``LSTM``/``GRU`` are not subclasses of ``torch.nn.RNNBase``: torch's class owns the flat cuDNN weight
buffer and its forward, and code that tests ``isinstance(m, nn.LSTM)`` usually goes on to call torch's kernels or to
rebuild the module as torch's type (``quantize_dynamic`` asserts the exact class). So instead of pretending, they
convert, losslessly, both ways: ``layer.to_torch()`` gives the ``torch.nn`` module with the same weights (for torch
tooling: pruning utilities, initialisers that test the type, quantization), ``rnnkit.LSTM.from_torch(m)`` the other way.

``quantize_dynamic(model)`` quantizes every rnnkit LSTM/GRU (and ``nn.Linear``) of a model to int8 weights with torch's
dynamic quantization, keeping rnnkit's forward contract — ``lengths=`` included (through a packed sequence, which torch's
quantized modules take) — so a ``TextClassifier`` or ``LanguageModel`` runs quantized as it is.
"""

from __future__ import annotations

import copy
import warnings

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnnkit.layers.base import SequenceLayer


def torch_class(layer) -> type[nn.RNNBase]:
    from rnnkit.layers.gru import GRU
    from rnnkit.layers.lstm import LSTM
    from rnnkit.layers.rnn import RNN

    if isinstance(layer, GRU):
        if not layer.reset_after:
            raise ValueError("torch.nn.GRU has no reset_after=False form (Cho et al. 2014); this GRU has no torch twin")
        return nn.GRU
    if isinstance(layer, LSTM):
        return nn.LSTM
    if isinstance(layer, RNN):
        return nn.RNN
    raise TypeError(f"{type(layer).__name__} has no torch.nn twin (only rnnkit.RNN, LSTM and GRU do)")


def to_torch(layer) -> nn.RNNBase:
    """The ``torch.nn`` module with ``layer``'s configuration and (copied) weights."""
    cls = torch_class(layer)
    kwargs = {"num_layers": layer.num_layers, "bias": layer.bias, "batch_first": layer.batch_first,
              "dropout": layer.dropout, "bidirectional": layer.bidirectional}
    if cls is nn.LSTM:
        kwargs["proj_size"] = layer.proj_size
    if cls is nn.RNN:
        kwargs["nonlinearity"] = layer.nonlinearity
    p = layer.weight_ih_l0
    module = cls(layer.input_size, layer.hidden_size, **kwargs, device=p.device, dtype=p.dtype)
    module.load_state_dict(layer.state_dict())
    return module.train(layer.training)


def scriptable(layer) -> nn.RNNBase:
    """What ``torch.jit.script`` compiles for ``layer`` (its ``__prepare_scriptable__``): the ``torch.nn`` twin holding
    the same ``Parameter`` objects, so the script runs torch's kernels on these weights and trains them. TorchScript
    cannot compile rnnkit's hand-written kernels (autograd Functions); the script takes torch.nn's ``forward(input,
    hx)`` (no ``lengths=``: pack the batch)."""
    name = type(layer).__name__
    try:
        torch_class(layer)
    except (TypeError, ValueError) as e:
        raise TypeError(f"torch.jit.script cannot compile {name}: {e}; torch.jit.trace, torch.export and "
                        "torch.compile can") from None
    if layer.regularizers.active():
        raise TypeError(f"torch.jit.script cannot compile {name} with {', '.join(layer.regularizers.active())}: "
                        "torch.nn's twin has no such regulariser; torch.jit.trace, torch.export and torch.compile can")
    module = to_torch(layer)
    for weight in module._flat_weights_names:
        p = layer._parameters.get(weight)
        if p is None:  # e.g. under torch.nn.utils.parametrize (torch.nn's own layers cannot be scripted so either)
            raise TypeError(f"torch.jit.script cannot compile {name}: its {weight} is not a plain Parameter "
                            "(parametrized?); torch.jit.trace can")
        setattr(module, weight, p)
    return module


def from_torch(cls, module: nn.RNNBase, **kwargs):
    """An rnnkit layer of class ``cls`` with ``module``'s configuration and (copied) weights."""
    config = {"num_layers": module.num_layers, "bias": module.bias, "batch_first": module.batch_first,
              "dropout": module.dropout, "bidirectional": module.bidirectional}
    if isinstance(module, nn.LSTM):
        config["proj_size"] = module.proj_size
    elif isinstance(module, nn.RNN):  # (nn.GRU is not an nn.RNN: it has neither)
        config["nonlinearity"] = module.nonlinearity
    p = module.weight_ih_l0
    layer = cls(module.input_size, module.hidden_size, **config, **kwargs, device=p.device, dtype=p.dtype)
    layer.load_state_dict(module.state_dict())
    return layer.train(module.training)


class QuantizedRecurrent(SequenceLayer):
    """torch's dynamically quantized LSTM/GRU behind rnnkit's forward contract (``lengths=``, ``batch_first``)."""

    def __init__(self, layer, dtype=torch.qint8) -> None:
        super().__init__()
        self.inner = _torch_quantize(nn.Sequential(to_torch(layer).eval()), {nn.LSTM, nn.GRU}, dtype)[0]
        self.input_size, self.batch_first = layer.input_size, layer.batch_first
        self.rows, self.sizes = layer._state_rows(), layer._state_sizes()
        self.backend = "quantized"

    def _state_rows(self):
        return self.rows

    def _state_sizes(self):
        return self.sizes

    def _run(self, x, state, lengths):
        hx = state if len(state) > 1 else state[0]
        if lengths is None:
            y, h = self.inner(x, hx)
        else:
            packed = pack_padded_sequence(x, lengths, enforce_sorted=False)
            y, h = self.inner(packed, hx)
            y, _ = pad_packed_sequence(y, total_length=x.shape[0])
        return y, (tuple(h) if isinstance(h, tuple) else (h,))


def quantize_dynamic(model: nn.Module, dtype=torch.qint8) -> nn.Module:
    """A copy of ``model`` with int8 weights (torch's dynamic quantization) in every rnnkit LSTM/GRU and nn.Linear; the
    rnnkit layers keep their forward contract. CPU inference only, like torch's."""
    from rnnkit.layers.gru import GRU
    from rnnkit.layers.lstm import LSTM

    model = copy.deepcopy(model).eval()
    if isinstance(model, (LSTM, GRU)):
        return QuantizedRecurrent(model, dtype)
    for child in list(model.modules()):
        for attr, sub in list(child.named_children()):
            if isinstance(sub, (LSTM, GRU)) and not isinstance(sub, QuantizedRecurrent):
                setattr(child, attr, QuantizedRecurrent(sub, dtype))
    return _torch_quantize(model, {nn.Linear}, dtype)


def _torch_quantize(model, types, dtype):
    """torch's eager dynamic quantization (torch.ao warns that it moves to the torchao package; it works in this torch)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*quantize_per_tensor.*")
        return torch.ao.quantization.quantize_dynamic(model, types, dtype=dtype)


__all__ = ["to_torch", "from_torch", "quantize_dynamic", "QuantizedRecurrent"]
