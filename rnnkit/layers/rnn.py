"""``rnnkit.RNN``: a drop-in for ``torch.nn.RNN`` built from ``SimpleRNNCell`` steps (tanh or relu)."""

from __future__ import annotations

from rnnkit.cells.simple import check_nonlinearity, simple_rnn_step
from rnnkit.layers.stacked import StackedRNNBase, check_no_projection
from rnnkit.recurrence.bptt import simple_rnn_sequence


class RNN(StackedRNNBase):
    """Multi-layer Elman RNN: ``h_t = σ(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)`` per layer and direction.

    Same arguments, parameters and ``forward(input, hx=None)`` contract as ``torch.nn.RNN``; extras: ``lengths=`` in forward,
    ``backend="auto"|"fused"|"loop"`` (``auto`` runs rnnkit's hand-written BPTT on CPU, torch's fused kernel on GPUs).
    """

    cpu_prefers_loop = True

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device=None, dtype=None, *, backend: str = "auto", proj_size: int = 0, **regularizers) -> None:
        check_no_projection(proj_size)
        self.nonlinearity = check_nonlinearity(nonlinearity)
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype, backend=backend, **regularizers)

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s if self.nonlinearity == "tanh" else s + f", nonlinearity={self.nonlinearity!r}"

    def _fused_mode(self):
        return "RNN_TANH" if self.nonlinearity == "tanh" else "RNN_RELU"

    def _bind(self, params, mm):
        return simple_rnn_step(params["weight_hh"], params["bias_hh"], self.nonlinearity, mm)

    def _sequence(self, x, weight_ih, bias, state, params, mask):
        return simple_rnn_sequence(x, weight_ih, bias, state[0], params["weight_hh"], self.nonlinearity, mask)
