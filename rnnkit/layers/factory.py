"""Build a recurrent layer from a short cell name, the way a config file or the CLI names it."""

from __future__ import annotations

from rnnkit.layers.base import SequenceLayer
from rnnkit.layers.feedback import FeedbackRNN
from rnnkit.layers.gru import GRU
from rnnkit.layers.indrnn import IndRNN
from rnnkit.layers.layernorm import LayerNormGRU, LayerNormLSTM
from rnnkit.layers.lstm import LSTM
from rnnkit.layers.minimal import MinGRU, MinLSTM
from rnnkit.layers.rnn import RNN

CELL_NAMES = ("rnn", "relu", "lstm", "gru", "feedback", "feedback-gru", "feedback-lstm", "layernorm-lstm",
              "layernorm-gru", "indrnn", "mingru", "minlstm")
NEW_CELLS = {"layernorm-lstm": LayerNormLSTM, "layernorm-gru": LayerNormGRU, "indrnn": IndRNN, "mingru": MinGRU,
             "minlstm": MinLSTM}


def make_layer(cell: str, input_size: int, hidden_size: int, num_layers: int = 1, *, batch_first: bool = True,
               **kwargs) -> SequenceLayer:
    """Cell names: ``rnn`` (tanh), ``relu``, ``lstm``, ``gru``, ``feedback`` (tanh), ``feedback-gru``, ``feedback-lstm``,
    ``layernorm-lstm``, ``layernorm-gru``, ``indrnn`` (ReLU), ``mingru``, ``minlstm``.

    Extra keyword arguments go to the layer's constructor (``bidirectional``, ``dropout``, ``backend``, ``gated``, ...).
    """
    name = cell.lower()
    common = {"batch_first": batch_first, **kwargs}
    if name == "rnn":
        return RNN(input_size, hidden_size, num_layers, nonlinearity="tanh", **common)
    if name == "relu":
        return RNN(input_size, hidden_size, num_layers, nonlinearity="relu", **common)
    if name == "lstm":
        return LSTM(input_size, hidden_size, num_layers, **common)
    if name == "gru":
        return GRU(input_size, hidden_size, num_layers, **common)
    if name in NEW_CELLS:
        return NEW_CELLS[name](input_size, hidden_size, num_layers, **common)
    if name.startswith("feedback"):
        inner = name.partition("-")[2] or "tanh"
        return FeedbackRNN(input_size, hidden_size, num_layers, cell=inner, **common)
    raise ValueError(f"unknown cell {cell!r}; expected one of {', '.join(CELL_NAMES)}")
