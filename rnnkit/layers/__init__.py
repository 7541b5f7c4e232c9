"""Sequence layers: RNN, LSTM, GRU (drop-ins for torch.nn), FeedbackRNN, and the cells people ask for:
LayerNormLSTM, LayerNormGRU, IndRNN, MinGRU, MinLSTM."""

from rnnkit.layers.base import SequenceLayer
from rnnkit.layers.factory import CELL_NAMES, make_layer
from rnnkit.layers.feedback import FeedbackRNN
from rnnkit.layers.gru import GRU
from rnnkit.layers.indrnn import IndRNN
from rnnkit.layers.layernorm import LayerNormGRU, LayerNormLSTM
from rnnkit.layers.lstm import LSTM
from rnnkit.layers.minimal import MinGRU, MinLSTM
from rnnkit.layers.rnn import RNN
from rnnkit.layers.stacked import StackedRNNBase

__all__ = ["SequenceLayer", "StackedRNNBase", "RNN", "LSTM", "GRU", "FeedbackRNN", "LayerNormLSTM", "LayerNormGRU",
           "IndRNN", "MinGRU", "MinLSTM", "make_layer", "CELL_NAMES"]
