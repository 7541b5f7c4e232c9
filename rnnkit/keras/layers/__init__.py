"""``rnnkit.keras.layers``: the Keras layers the tutorial's models use, on rnnkit's engine."""

from rnnkit.keras.layers.base import Input, KerasTensor, Layer
from rnnkit.keras.layers.bidirectional import Bidirectional
from rnnkit.keras.layers.cells import GRUCell, LSTMCell, SimpleRNNCell
from rnnkit.keras.layers.core import (
    Activation,
    Dense,
    Dropout,
    Embedding,
    Masking,
    RepeatVector,
    TimeDistributed,
    Wrapper,
)
from rnnkit.keras.layers.recurrent import GRU, LSTM, RNN, SimpleRNN
from rnnkit.keras.layers.stacked import StackedRNNCells

__all__ = ["Input", "KerasTensor", "Layer", "Bidirectional", "SimpleRNNCell", "LSTMCell", "GRUCell", "StackedRNNCells",
           "Activation", "Dense", "Dropout", "Embedding", "Masking", "RepeatVector", "TimeDistributed", "RNN", "SimpleRNN",
           "LSTM", "GRU", "Wrapper"]
