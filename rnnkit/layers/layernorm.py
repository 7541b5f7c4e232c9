"""``rnnkit.LayerNormLSTM`` / ``rnnkit.LayerNormGRU``: layer-normalised LSTM and GRU layers (equations and the choice
of variant in ``rnnkit.cells.layernorm``) with ``torch.nn.LSTM``/``GRU``'s arguments and forward contract.

Parameters: torch's ``weight_ih_l{k}``, ``weight_hh_l{k}``, ``bias_ih_l{k}``, ``bias_hh_l{k}``, plus the norms' gains
``ln_ih_weight_l{k}``, ``ln_hh_weight_l{k}`` (G·H, initialised to 1) and, for the LSTM, ``ln_c_weight_l{k}`` (1) and
``ln_c_bias_l{k}`` (0) (H; the shift only with ``bias=True``). The input norm runs on every step at once before the loop;
the recurrent part runs in a hand-written BPTT kernel (``rnnkit.recurrence.bptt_layernorm``) — or, for export and the
recorders, the loop / scan backends through the cell's step. No torch fused kernel computes these cells.

Under ``torch.autocast`` the kernel runs its matrix products (the input projection, the per-step recurrent products and
∂L/∂W_hh) in autocast's dtype — bfloat16 on CPU, as torch's fused LSTM does — and everything else (the norms, gates,
states and their gradients) in float32; outputs stay float32.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from rnnkit.cells.layernorm import layer_norm, layernorm_gru_step, layernorm_lstm_step
from rnnkit.layers.stacked import StackedRNNBase, check_no_projection
from rnnkit.recurrence import projection
from rnnkit.recurrence.bptt_layernorm import layernorm_gru_sequence, layernorm_lstm_sequence
from rnnkit.recurrence.packed import product_dtype


class _LayerNormRNN(StackedRNNBase):
    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, device=None,
                 dtype=None, *, backend: str = "auto", proj_size: int = 0, **regularizers) -> None:
        if proj_size:
            raise ValueError(f"{type(self).__name__}: proj_size is not supported")
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype, backend=backend, **regularizers)
        factory = {"device": device, "dtype": dtype}
        GH = self.num_gates * hidden_size
        for sfx in {n[len("weight_ih"):] for n in self._flat_weights_names if n.startswith("weight_ih")}:
            shapes = {"ln_ih_weight": GH, "ln_hh_weight": GH, **self._cell_norms()}
            for base, n in shapes.items():
                setattr(self, base + sfx, nn.Parameter(torch.empty(n, **factory)))
        self.reset_parameters()

    def _cell_norms(self) -> dict[str, int]:
        return {}

    def reset_parameters(self) -> None:
        super().reset_parameters()  # torch's U(-1/√H, 1/√H) for everything, then the norms' own start
        with torch.no_grad():
            for name, p in self.named_parameters():
                if name.startswith("ln_"):
                    p.fill_(0.0 if "_bias" in name else 1.0)

    def _fused_mode(self):
        return None

    def _project(self, x, weight_ih, bias, suffix):
        return self._normalized_input(x, weight_ih, bias, getattr(self, "ln_ih_weight" + suffix))

    @staticmethod
    def _normalized_input(x, weight_ih, bias, gain, low=None):
        """``LN(W_ih x; γ_ih) + b`` for all steps; with ``low`` (autocast's dtype, for the kernels) the product in it,
        the norm in float32."""
        z = projection.linear(x, weight_ih) if low is None else F.linear(x.to(low), weight_ih.to(low)).to(x.dtype)
        return layer_norm(z, gain, bias)  # γ ⊙ ẑ + b in the norm's own pass (and its backward's)


class LayerNormLSTM(_LayerNormRNN):
    """Multi-layer layer-normalised LSTM (Ba et al. 2016); state ``(h, c)``."""

    num_gates = 4

    def _cell_norms(self):
        return {"ln_c_weight": self.hidden_size, **({"ln_c_bias": self.hidden_size} if self.bias else {})}

    def _state_sizes(self):
        return (self.hidden_size, self.hidden_size)

    def _loop_params(self, suffix):
        return {"weight_hh": getattr(self, "weight_hh" + suffix), **{
            n: getattr(self, n + suffix, None) for n in ("ln_hh_weight", "ln_c_weight", "ln_c_bias", "ln_ih_weight")}}

    def _bind(self, params, mm):
        return layernorm_lstm_step(params["weight_hh"], params["ln_hh_weight"], params["ln_c_weight"],
                                   params["ln_c_bias"], mm)

    def _sequence(self, x, weight_ih, bias, state, params, mask):
        xw = self._normalized_input(x, weight_ih, bias, params["ln_ih_weight"], product_dtype())
        return layernorm_lstm_sequence(xw, *state, params["weight_hh"], params["ln_hh_weight"],
                                       params["ln_c_weight"], params["ln_c_bias"], mask)


class LayerNormGRU(_LayerNormRNN):
    """Multi-layer layer-normalised GRU (reset after the recurrent product, as torch.nn.GRU)."""

    num_gates = 3
    fold_bias_hh = False  # b_hn sits inside r ⊙ (...)

    def __init__(self, *args, proj_size: int = 0, **kwargs) -> None:
        check_no_projection(proj_size)
        super().__init__(*args, **kwargs)

    def _loop_params(self, suffix):
        return {"weight_hh": getattr(self, "weight_hh" + suffix), "bias_hh": getattr(self, "bias_hh" + suffix, None),
                "ln_hh_weight": getattr(self, "ln_hh_weight" + suffix),
                "ln_ih_weight": getattr(self, "ln_ih_weight" + suffix)}

    def _bind(self, params, mm):
        return layernorm_gru_step(params["weight_hh"], params["bias_hh"], params["ln_hh_weight"], mm)

    def _sequence(self, x, weight_ih, bias, state, params, mask):
        xw = self._normalized_input(x, weight_ih, bias, params["ln_ih_weight"], product_dtype())
        return layernorm_gru_sequence(xw, state[0], params["weight_hh"], params["ln_hh_weight"], params["bias_hh"],
                                      mask)


__all__ = ["LayerNormLSTM", "LayerNormGRU"]
