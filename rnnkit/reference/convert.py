"""Converters between the reference engine and PyTorch modules — the only place in ``rnnkit.reference`` that imports torch.

``from_torch(module)`` accepts ``torch.nn.RNN/LSTM/GRU`` and rnnkit's ``RNN/LSTM/GRU/FeedbackRNN`` and returns the reference
model with the same weights (as float64). ``to_torch(model)`` returns the rnnkit module (a drop-in for torch.nn's) with
the reference model's weights.
"""

from __future__ import annotations

import numpy as np


def from_torch(module):
    import torch

    from rnnkit.layers import GRU, LSTM, RNN, FeedbackRNN, IndRNN, LayerNormLSTM, MinGRU
    from rnnkit.reference.feedback_model import ReferenceFeedbackRNN
    from rnnkit.reference.stacked import ReferenceRNN

    params = {n: p.detach().to("cpu", torch.float64).numpy().copy() for n, p in module.named_parameters()}
    if isinstance(module, FeedbackRNN):
        return ReferenceFeedbackRNN(module.input_size, module.hidden_size, module.num_layers, module.cell, module.gated,
                                    module.batch_first, module.bias, params=params)
    if isinstance(module, LayerNormLSTM):
        mode = "layernorm-lstm"
    elif isinstance(module, IndRNN):
        if module.nonlinearity != "relu" or module.recurrent_max is not None:
            raise ValueError("from_torch: the reference engine has the ReLU IndRNN without recurrent_max")
        mode = "indrnn"
    elif isinstance(module, MinGRU):
        mode = "mingru"
    elif isinstance(module, (torch.nn.RNN, RNN)):
        mode = module.nonlinearity
    elif isinstance(module, (torch.nn.LSTM, LSTM)):
        mode = "lstm"
    elif isinstance(module, (torch.nn.GRU, GRU)):
        mode = "gru"
    else:
        raise TypeError(f"from_torch: unsupported module {type(module).__name__}; expected torch.nn.RNN/LSTM/GRU or "
                        "rnnkit.RNN/LSTM/GRU/FeedbackRNN/LayerNormLSTM/IndRNN/MinGRU")
    if getattr(module, "dropout", 0) and module.num_layers > 1:
        raise ValueError(f"from_torch: the module has dropout={module.dropout}; the reference engine has no dropout "
                         "(set module.dropout = 0 to compare evaluation-mode numbers)")
    return ReferenceRNN(mode, module.input_size, module.hidden_size, module.num_layers, module.bias, module.batch_first,
                        module.bidirectional, getattr(module, "proj_size", 0), getattr(module, "reset_after", True),
                        params=params)


def to_torch(model, dtype=None):
    import torch

    from rnnkit.layers import GRU, LSTM, RNN, FeedbackRNN, IndRNN, LayerNormLSTM, MinGRU

    dtype = dtype or torch.float64
    newer = {"layernorm-lstm": LayerNormLSTM, "indrnn": IndRNN, "mingru": MinGRU}
    if model.mode in newer:
        m = newer[model.mode](model.input_size, model.hidden_size, model.num_layers, bias=model.bias,
                              batch_first=model.batch_first, bidirectional=model.bidirectional)
    elif model.mode == "feedback":
        m = FeedbackRNN(model.input_size, model.hidden_size, model.num_layers, model.cell, model.gated,
                        model.batch_first, model.bias)
    elif model.mode in ("tanh", "relu"):
        m = RNN(model.input_size, model.hidden_size, model.num_layers, model.mode, model.bias, model.batch_first,
                bidirectional=model.bidirectional)
    elif model.mode == "lstm":
        m = LSTM(model.input_size, model.hidden_size, model.num_layers, model.bias, model.batch_first,
                 bidirectional=model.bidirectional, proj_size=model.proj_size)
    else:
        m = GRU(model.input_size, model.hidden_size, model.num_layers, model.bias, model.batch_first,
                bidirectional=model.bidirectional, reset_after=model.reset_after)
    m = m.to(dtype)
    m.load_state_dict({n: torch.from_numpy(np.asarray(v)).to(dtype) for n, v in model.params.items()})
    return m
