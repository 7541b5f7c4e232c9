"""rnnkit: recurrent neural networks to learn, build, train, understand and ship.

``rnnkit.RNN``, ``rnnkit.LSTM`` and ``rnnkit.GRU`` are drop-ins for their ``torch.nn`` namesakes; ``rnnkit.FeedbackRNN`` is
the Gated-Feedback RNN; ``LayerNormLSTM``, ``LayerNormGRU``, ``IndRNN``, ``MinGRU`` and ``MinLSTM`` are the cells users ask
for, with the same forward contract; ``rnnkit.cells`` holds one-step cells written as their equations.
"""

from rnnkit.cells import GRUCell, LSTMCell, SimpleRNNCell
from rnnkit.cells.minimal import MinGRUCell, MinLSTMCell
from rnnkit.layers import GRU, LSTM, RNN, FeedbackRNN, IndRNN, LayerNormGRU, LayerNormLSTM, MinGRU, MinLSTM
from rnnkit.layers.convert import quantize_dynamic

RNNCell = SimpleRNNCell  # torch.nn's name for it

__version__ = "0.1.0"

__all__ = ["RNN", "LSTM", "GRU", "FeedbackRNN", "LayerNormLSTM", "LayerNormGRU", "IndRNN", "MinGRU", "MinLSTM",
           "RNNCell", "SimpleRNNCell", "LSTMCell", "GRUCell", "MinGRUCell", "MinLSTMCell", "quantize_dynamic",
           "__version__"]
