"""``ReferenceFeedbackRNN``: the Gated-Feedback RNN in NumPy with hand-written BPTT (parameters as ``rnnkit.FeedbackRNN``).

The whole stack is one step (``rnnkit.reference.feedback``), so BPTT runs over the stack's state
(h^1..h^L[, c^1..c^L]); the output is h^L_t. ``dh_steps["l{j}"]`` holds the total ∂L/∂h^j_t of every layer j.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from rnnkit.reference import feedback
from rnnkit.reference.common import Array, as_float64, sequence_input

CELLS = {"tanh": 1, "gru": 3, "lstm": 4}


class ReferenceFeedbackRNN:
    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 2, cell: str = "tanh", gated: bool = True,
                 batch_first: bool = False, bias: bool = True, params: dict[str, Array] | None = None,
                 seed: int = 0) -> None:
        if cell not in CELLS:
            raise ValueError(f"unknown FeedbackRNN cell {cell!r}; expected one of {sorted(CELLS)}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.cell, self.gated, self.batch_first, self.bias = cell, gated, batch_first, bias
        self.mode = "feedback"
        if params is None:
            rng = np.random.default_rng(seed)
            k = 1.0 / np.sqrt(hidden_size)
            self.params = {n: rng.uniform(-k, k, s) for n, s in self.param_shapes().items()}
        else:
            shapes = self.param_shapes()
            if set(params) != set(shapes):
                raise ValueError(f"parameters do not match this model: missing {sorted(set(shapes) - set(params))}, "
                                 f"unexpected {sorted(set(params) - set(shapes))}")
            self.params = {}
            for n, s in shapes.items():
                a = as_float64(f"parameter {n}", params[n])
                if a.shape != s:
                    raise ValueError(f"parameter {n} has shape {a.shape}, expected {s}")
                self.params[n] = a
        self._tape = None
        self.dh_steps: dict[str, Array] = {}

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        G, H, L = CELLS[self.cell], self.hidden_size, self.num_layers
        own = {"tanh": 0, "gru": 2, "lstm": 3}[self.cell]
        shapes = {}
        for j in range(L):
            in_j = self.input_size if j == 0 else H
            shapes[f"weight_ih_l{j}"] = (G * H, in_j)
            shapes[f"weight_fb_l{j}"] = (H, L * H)
            if own:
                shapes[f"weight_hh_l{j}"] = (own * H, H)
            if self.bias:
                shapes[f"bias_ih_l{j}"] = (G * H,)
                shapes[f"bias_hh_l{j}"] = (G * H,)
            if self.gated:
                shapes[f"weight_gx_l{j}"] = (L, in_j)
                shapes[f"weight_gh_l{j}"] = (L, L * H)
        return shapes

    @property
    def n_state(self) -> int:
        return 2 if self.cell == "lstm" else 1

    def forward(self, x, h0=None):
        x = sequence_input(x, self.batch_first, self.input_size)
        T, B, I = x.shape
        L, H = self.num_layers, self.hidden_size
        if h0 is None:
            parts = [np.zeros((L, B, H))] * self.n_state
        else:
            parts = list(h0) if self.cell == "lstm" else [h0]
            parts = [as_float64(n, p, (3,)) for n, p in zip(("h0", "c0"), parts)]
            for n, p in zip(("h0", "c0"), parts):
                if p.shape != (L, B, H):
                    raise ValueError(f"{n} has shape {p.shape}, expected {(L, B, H)}")
        state = tuple(p[j] for p in parts for j in range(L))
        step = partial(feedback.forward, self.params, cell=self.cell, num_layers=L, gated=self.gated)
        outs, caches = [], []
        for t in range(T):
            y, state, cache = step(x[t], state)
            outs.append(y)
            caches.append(cache)
        self._tape = (caches, x.shape)
        y = np.stack(outs)
        finals = tuple(np.stack(state[i * L:(i + 1) * L]) for i in range(self.n_state))
        return (y.transpose(1, 0, 2) if self.batch_first else y), (finals if self.cell == "lstm" else finals[0])

    def backward(self, d_outputs, d_final=None) -> dict[str, Array]:
        if self._tape is None:
            raise RuntimeError("call forward() before backward()")
        caches, (T, B, I) = self._tape
        L, H = self.num_layers, self.hidden_size
        d_out = as_float64("d_outputs", d_outputs, (3,))
        if self.batch_first:
            d_out = d_out.transpose(1, 0, 2)
        if d_out.shape != (T, B, H):
            raise ValueError(f"d_outputs has shape {d_out.shape} (time-major), expected {(T, B, H)}")
        if d_final is None:
            d_state = tuple(np.zeros((B, H)) for _ in range(L * self.n_state))
        else:
            parts = list(d_final) if self.cell == "lstm" else [d_final]
            d_state = tuple(as_float64("d_final", p, (3,))[j] for p in parts for j in range(L))
        grads: dict[str, Array] = {}
        dx = np.zeros((T, B, I))
        dh = np.zeros((L, T, B, H))
        bwd = partial(feedback.backward, self.params, grads=grads, cell=self.cell, num_layers=L, gated=self.gated)
        for t in reversed(range(T)):
            d_state = tuple(d_state[j] + d_out[t] if j == L - 1 else d_state[j] for j in range(len(d_state)))
            dx[t], d_state, totals = bwd(caches[t], d_state)
            for j in range(L):
                dh[j, t] = totals[j]
        self.dh_steps = {f"l{j}": dh[j] for j in range(L)}
        grads["input"] = dx.transpose(1, 0, 2) if self.batch_first else dx
        grads["h0"] = np.stack(d_state[:L])
        if self.cell == "lstm":
            grads["c0"] = np.stack(d_state[L:])
        return grads

    def to_torch(self, dtype=None):
        from rnnkit.reference.convert import to_torch

        return to_torch(self, dtype=dtype)
