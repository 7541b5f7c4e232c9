"""rnnkit: recurrent neural networks to learn, build, train, understand and ship.

``rnnkit.RNN``, ``rnnkit.LSTM`` and ``rnnkit.GRU`` are drop-ins for their ``torch.nn`` namesakes; ``rnnkit.FeedbackRNN`` is
the Gated-Feedback RNN; ``rnnkit.cells`` holds one-step cells written as their equations.
"""

from rnnkit.cells import GRUCell, LSTMCell, SimpleRNNCell
from rnnkit.layers import GRU, LSTM, RNN, FeedbackRNN
from rnnkit.layers.convert import quantize_dynamic

RNNCell = SimpleRNNCell  # torch.nn's name for it

__version__ = "0.1.0"

__all__ = ["RNN", "LSTM", "GRU", "FeedbackRNN", "RNNCell", "SimpleRNNCell", "LSTMCell", "GRUCell", "quantize_dynamic",
           "__version__"]
