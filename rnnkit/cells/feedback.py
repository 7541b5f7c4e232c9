"""One time step of the Gated-Feedback RNN (Chung, Gulcehre, Cho & Bengio 2015, arXiv:1502.02367).

This is the tutorial's "RNN with recurrent connections from other neurons": a stack of ``L`` recurrent layers in which layer
``j`` reads, at time ``t``, not only its own previous state but *every* layer's previous state. With ``h^0_t = x_t`` and
``h*_{t-1} = [h^1_{t-1}; …; h^L_{t-1}]`` (all layers' previous states, concatenated):

    global reset gates   g^{i→j}_t = σ(w_g^{i→j} · h^{j-1}_t + u_g^{i→j} · h*_{t-1})      one scalar per example, i = 1..L
    feedback             f^j_t     = Σ_i g^{i→j}_t U^{i→j} h^i_{t-1}  =  U^j (ĝ^j_t ⊙ h*_{t-1})

where ``U^j = [U^{1→j} … U^{L→j}]`` (``weight_fb_l{j-1}``, shape (H, L·H)) and ``ĝ^j_t`` repeats each ``g^{i→j}_t`` over the
H units of block i. ``W_g^j`` (rows ``w_g^{i→j}``, ``weight_gx``, shape (L, in)) and ``U_g^j`` (rows ``u_g^{i→j}``,
``weight_gh``, shape (L, L·H)) carry no bias, as in the paper. With ``gated=False`` every ``g = 1``.

The layer update, for each inner cell (``xw^j_t = W_ih h^{j-1}_t + b_ih``, split by gate):

    tanh:  h^j_t = tanh(xw^j_t + f^j_t + b_hh)
           — with g = 1 this is exactly the tutorial's h_t = σ(W_hx x_t + W_hh h_{t-1} + W_hh' h'_{t-1} + b).
    gru:   r = σ(x_r + W_hr h^j_{t-1} + b_hr),  z = σ(x_z + W_hz h^j_{t-1} + b_hz)
           n = tanh(x_n + r ⊙ (f^j_t + b_hn)),  h^j_t = (1 - z) ⊙ n + z ⊙ h^j_{t-1}
    lstm:  i = σ(x_i + W_hi h^j_{t-1} + b_hi),  f = σ(x_f + W_hf h^j_{t-1} + b_hf),  o = σ(x_o + W_ho h^j_{t-1} + b_ho)
           g = tanh(x_g + f^j_t + b_hg),  c^j_t = f ⊙ c^j_{t-1} + i ⊙ g,  h^j_t = o ⊙ tanh(c^j_t)

As in the paper, the gates of the GRU and LSTM read only their own layer's previous state (``weight_hh``: 2H×H for r,z;
3H×H for i,f,o); the feedback from all layers enters the candidate (``n`` / ``g``).

The state is a flat tuple ``(h^1, …, h^L)`` (``(h^1, …, h^L, c^1, …, c^L)`` for lstm); the output at time t is ``h^L_t``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from rnnkit.cells.base import MatMul, State, Step, matmul

FEEDBACK_CELLS = {"tanh": 1, "gru": 3, "lstm": 4}  # cell -> number of gate blocks in weight_ih


def check_feedback_cell(cell: str) -> str:
    if cell not in FEEDBACK_CELLS:
        raise ValueError(f"unknown FeedbackRNN cell {cell!r}; expected one of {sorted(FEEDBACK_CELLS)}")
    return cell


@dataclass
class FeedbackLayerWeights:
    """The parameters of layer j (names as in ``FeedbackRNN``'s state_dict, without the ``_l{j}`` suffix)."""

    weight_ih: Tensor  # (G·H, in_j)
    weight_fb: Tensor  # (H, L·H): U^j
    weight_hh: Tensor | None = None  # gru (2H, H), lstm (3H, H), tanh: none
    bias_ih: Tensor | None = None  # (G·H)
    bias_hh: Tensor | None = None  # (G·H)
    weight_gx: Tensor | None = None  # (L, in_j): W_g^j, only when gated
    weight_gh: Tensor | None = None  # (L, L·H): U_g^j, only when gated


def feedback_step(cell: str, layers: list[FeedbackLayerWeights], hidden_size: int, gated: bool,
                  mm: MatMul = matmul) -> Step:
    """Return ``step(xw_t, state) -> (h^L_t, new_state)`` for the whole stack; ``mm(x, W) = x W^T``.

    ``xw_t`` is layer 1's input projection, computed for all steps before the loop: the tuple
    ``(W_ih^1 x_t + b_ih^1, W_g^1 x_t)`` when gated, ``(W_ih^1 x_t + b_ih^1,)`` otherwise.
    """
    check_feedback_cell(cell)
    L, H = len(layers), hidden_size
    # bias_hh split by role once, outside the loop: gru (b_hr, b_hz | b_hn), lstm (b_hi, b_hf, b_ho | b_hg)
    own_bias, cand_bias = [], []
    for w in layers:
        b = w.bias_hh
        if b is None or cell == "tanh":
            own_bias.append(None)
            cand_bias.append(b)
        elif cell == "gru":
            own_bias.append(b[:2 * H])
            cand_bias.append(b[2 * H:])
        else:
            own_bias.append(torch.cat([b[:2 * H], b[3 * H:]]))
            cand_bias.append(b[2 * H:3 * H])

    spread = torch.repeat_interleave(torch.eye(L, dtype=layers[0].weight_fb.dtype, device=layers[0].weight_fb.device),
                                     H, dim=1) if gated else None  # (L, L·H): row i is 1 on layer i's H units

    def step(xw_t: tuple[Tensor, ...], state: State) -> tuple[Tensor, State]:
        h_prev, c_prev = state[:L], state[L:]
        h_star = torch.cat(h_prev, dim=-1)  # h*_{t-1}, (B, L·H)
        new_h: list[Tensor] = []
        new_c: list[Tensor] = []
        below = None  # h^{j-1}_t
        for j, w in enumerate(layers):
            if j == 0:
                xw, gx = xw_t[0], (xw_t[1] if gated else None)
            else:
                xw = mm(below, w.weight_ih) if w.bias_ih is None else mm(below, w.weight_ih) + w.bias_ih
                gx = mm(below, w.weight_gx) if gated else None
            if gated:
                g = torch.sigmoid(gx + mm(h_star, w.weight_gh))  # g^{i→j}_t for i = 1..L, (B, L)
                # ĝ ⊙ h*: each layer's h^i_{t-1} scaled by its gate g^{i→j}_t, the gates spread over their H units by a
                # 0/1 matrix (exact; a reshape or slice here does not survive the ONNX export of a scan)
                fb_in = h_star * (g @ spread)
            else:
                fb_in = h_star
            f_fb = mm(fb_in, w.weight_fb)  # f^j_t = U^j (ĝ ⊙ h*_{t-1})
            if cand_bias[j] is not None:
                f_fb = f_fb + cand_bias[j]
            if cell == "tanh":
                h_j = torch.tanh(xw + f_fb)
            else:
                hw = mm(h_prev[j], w.weight_hh)  # own-layer gates: gru (r, z), lstm (i, f, o)
                if own_bias[j] is not None:
                    hw = hw + own_bias[j]
                if cell == "gru":
                    x_r, x_z, x_n = xw.chunk(3, dim=-1)
                    h_r, h_z = hw.chunk(2, dim=-1)
                    r = torch.sigmoid(x_r + h_r)
                    z = torch.sigmoid(x_z + h_z)
                    n = torch.tanh(x_n + r * f_fb)
                    h_j = n + z * (h_prev[j] - n)  # (1 - z) n + z h^j_{t-1}
                else:
                    x_i, x_f, x_g, x_o = xw.chunk(4, dim=-1)
                    h_i, h_f, h_o = hw.chunk(3, dim=-1)
                    i = torch.sigmoid(x_i + h_i)
                    f = torch.sigmoid(x_f + h_f)
                    o = torch.sigmoid(x_o + h_o)
                    g_cand = torch.tanh(x_g + f_fb)
                    c_j = f * c_prev[j] + i * g_cand
                    h_j = o * torch.tanh(c_j)
                    new_c.append(c_j)
            new_h.append(h_j)
            below = h_j
        return below, tuple(new_h) + tuple(new_c)

    return step
