"""Cells: one time step each, written with the symbols of their docstring equations."""

from rnnkit.cells.base import CellBase
from rnnkit.cells.feedback import feedback_step
from rnnkit.cells.gru import GRUCell, gru_step
from rnnkit.cells.lstm import LSTMCell, lstm_step
from rnnkit.cells.simple import SimpleRNNCell, simple_rnn_step

__all__ = ["CellBase", "SimpleRNNCell", "LSTMCell", "GRUCell", "simple_rnn_step", "lstm_step", "gru_step",
           "feedback_step"]
