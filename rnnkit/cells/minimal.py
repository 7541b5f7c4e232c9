"""minGRU and minLSTM (Feng et al. 2024, "Were RNNs All We Needed?"): gates from the input only, so the state update
is linear in h and a whole sequence is a parallel scan.

    minGRU:   z_t = σ(W_z x_t + b_z)           h̃_t = g(W_h x_t + b_h)
              h_t = (1 − z_t) ⊙ h_{t−1} + z_t ⊙ h̃_t
    minLSTM:  f_t = σ(W_f x_t + b_f)   i_t = σ(W_i x_t + b_i)   h̃_t = g(W_h x_t + b_h)
              f'_t = f_t / (f_t + i_t)   i'_t = i_t / (f_t + i_t)
              h_t = f'_t ⊙ h_{t−1} + i'_t ⊙ h̃_t

with the paper's ``g(v) = v + ½`` for v ≥ 0 and ``σ(v)`` below, which keeps h̃ > 0 so the scan can run in log space
(``rnnkit.recurrence.diagonal``). Both are ``h_t = a_t ⊙ h_{t−1} + b_t``; ``coefficients`` gives (a, b) and
``log_coefficients`` (log a, log b) computed stably: ``log σ(k) = −softplus(−k)``, ``log(1 − σ(k)) = −softplus(k)``,
and for minLSTM with ``d = softplus(−k_f) − softplus(−k_i) = log(i/f)``: ``log f' = −softplus(d)``,
``log i' = −softplus(−d)``.

Parameters as torch names them: ``weight_ih`` (G·H, I) with row blocks (z, h) for minGRU and (f, i, h) for minLSTM,
``bias_ih`` (G·H). There is no ``weight_hh``: nothing multiplies h but the gate.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.cells.base import (
    check_bool,
    check_cell_state,
    check_dtype,
    check_floating,
    check_input,
    check_int,
    init_uniform_,
)


def g(v: Tensor) -> Tensor:
    return torch.where(v >= 0, v + 0.5, torch.sigmoid(v))


def log_g(v: Tensor) -> Tensor:
    return torch.where(v >= 0, torch.log(F.relu(v) + 0.5), -F.softplus(-v))


def mingru_coefficients(xw: Tensor) -> tuple[Tensor, Tensor]:
    k, v = xw.chunk(2, dim=-1)
    return torch.sigmoid(-k), torch.sigmoid(k) * g(v)


def mingru_log_coefficients(xw: Tensor) -> tuple[Tensor, Tensor]:
    k, v = xw.chunk(2, dim=-1)
    return -F.softplus(k), -F.softplus(-k) + log_g(v)


def minlstm_log_ratio(kf: Tensor, ki: Tensor) -> Tensor:
    """d = log(i / f) = softplus(−k_f) − softplus(−k_i), finite for any pre-activations: f' = f / (f + i) = σ(−d)
    and i' = σ(d) without the 0 / 0 of f = i = 0 when both gates underflow (k_f, k_i ≪ 0)."""
    return F.softplus(-kf) - F.softplus(-ki)


def minlstm_coefficients(xw: Tensor) -> tuple[Tensor, Tensor]:
    kf, ki, v = xw.chunk(3, dim=-1)
    d = minlstm_log_ratio(kf, ki)
    return torch.sigmoid(-d), torch.sigmoid(d) * g(v)


def minlstm_log_coefficients(xw: Tensor) -> tuple[Tensor, Tensor]:
    kf, ki, v = xw.chunk(3, dim=-1)
    d = minlstm_log_ratio(kf, ki)
    return -F.softplus(d), -F.softplus(-d) + log_g(v)


#: name → (number of row blocks in weight_ih, (a, b), (log a, log b))
MINIMAL_CELLS = {"mingru": (2, mingru_coefficients, mingru_log_coefficients),
                 "minlstm": (3, minlstm_coefficients, minlstm_log_coefficients)}


class _MinimalCell(nn.Module):
    kind = ""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        name = type(self).__name__
        self.input_size = check_int(name, "input_size", input_size, 0)
        self.hidden_size = check_int(name, "hidden_size", hidden_size, 0)
        self.bias = check_bool(name, "bias", bias)
        G = MINIMAL_CELLS[self.kind][0]
        self.weight_ih = nn.Parameter(torch.empty(G * hidden_size, input_size, device=device, dtype=dtype))
        self.bias_ih = nn.Parameter(torch.empty(G * hidden_size, device=device, dtype=dtype)) if bias else None
        init_uniform_(self, hidden_size)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        """One step: ``h_t`` from ``x_t`` (B, I) or (I,) and ``h_{t−1}`` (zeros when omitted)."""
        name = type(self).__name__
        check_input(name, input, self.input_size)
        batched = input.dim() == 2
        x = input if batched else input.unsqueeze(0)
        if hx is not None:
            check_floating(f"{name} hidden", hx)
            check_cell_state(name, 0, "hidden", hx, x.shape[0], self.hidden_size, batched)
            check_dtype(f"{name} hidden", hx, self.weight_ih)
        check_dtype(f"{name} input", input, self.weight_ih)
        h = x.new_zeros(x.shape[0], self.hidden_size) if hx is None else (hx if batched else hx.unsqueeze(0))
        a, b = MINIMAL_CELLS[self.kind][1](F.linear(x, self.weight_ih, self.bias_ih))
        h = torch.addcmul(b, a, h)
        return h if batched else h.squeeze(0)


class MinGRUCell(_MinimalCell):
    """One minGRU step (equations in the module docstring)."""

    kind = "mingru"


class MinLSTMCell(_MinimalCell):
    """One minLSTM step (equations in the module docstring)."""

    kind = "minlstm"


__all__ = ["MinGRUCell", "MinLSTMCell", "MINIMAL_CELLS", "g", "log_g", "minlstm_log_ratio"]
