"""``rnnkit.LSTM``: a drop-in for ``torch.nn.LSTM`` (projections included) built from ``LSTMCell`` steps."""

from __future__ import annotations

from rnnkit.cells.lstm import lstm_step
from rnnkit.layers.stacked import StackedRNNBase
from rnnkit.recurrence.bptt import lstm_sequence


class LSTM(StackedRNNBase):
    """Multi-layer LSTM; see ``rnnkit.cells.lstm`` for the equations. State is ``(h, c)``.

    Same arguments (``proj_size`` included), parameters and forward contract as ``torch.nn.LSTM``; extras: ``lengths=``
    in forward, ``backend="auto"|"fused"|"loop"``.
    """

    num_gates = 4

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device=None, dtype=None, *, backend: str = "auto", **regularizers) -> None:
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, proj_size,
                         device=device, dtype=dtype, backend=backend, **regularizers)

    def _state_sizes(self):
        return (self.proj_size or self.hidden_size, self.hidden_size)

    def _fused_mode(self):
        return "LSTM"

    def _bind(self, params, mm):
        return lstm_step(params["weight_hh"], params["bias_hh"], params["weight_hr"], mm)

    def _sequence(self, x, weight_ih, bias, state, params, mask):
        if params["weight_hr"] is not None:
            return None
        return lstm_sequence(x, weight_ih, bias, *state, params["weight_hh"], mask)
