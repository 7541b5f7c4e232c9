"""``ReferenceRNN``: multi-layer, optionally bidirectional SimpleRNN / LSTM / GRU — and the layer-normalised LSTM,
IndRNN (ReLU) and minGRU (``mode="layernorm-lstm"|"indrnn"|"mingru"``) — in NumPy with hand-written BPTT.

Same parameter names, shapes and layouts as ``torch.nn.RNN/LSTM/GRU`` (and rnnkit's layers), so one set of weights runs on
both engines (``from_torch`` / ``to_torch``). ``forward(x, h0)`` returns ``(outputs, final_state)`` in torch's layout;
``backward(d_outputs, d_final)`` returns the gradients of every parameter (by torch name), of ``"input"``, ``"h0"``
(and ``"c0"``), and records ``dh_steps[layer]``: the total ∂L/∂h_t at every step, time-major (T, B, H).

Layers are stacked as in torch: layer k reads the concatenated outputs of both directions of layer k-1; the reverse
direction reads the sequence backwards and its outputs are put back in forward order. No dropout (evaluation semantics).
"""

from __future__ import annotations

from functools import partial

import numpy as np

from rnnkit.reference import gru, lstm, newcells, simple
from rnnkit.reference.bptt import backward_through_time, forward_through_time
from rnnkit.reference.common import Array, as_float64, sequence_input

MODES = ("tanh", "relu", "lstm", "gru", "layernorm-lstm", "indrnn", "mingru")
GATES = {"tanh": 1, "relu": 1, "lstm": 4, "gru": 3, "layernorm-lstm": 4, "indrnn": 1, "mingru": 2}
TWO_STATES = ("lstm", "layernorm-lstm")


class ReferenceRNN:
    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, bidirectional: bool = False, proj_size: int = 0, reset_after: bool = True,
                 params: dict[str, Array] | None = None, seed: int = 0) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown cell {mode!r}; expected one of {MODES}")
        if proj_size and mode != "lstm":
            raise ValueError("proj_size is only for mode='lstm'")
        if not (isinstance(input_size, int) and input_size > 0 and isinstance(hidden_size, int) and hidden_size > 0
                and isinstance(num_layers, int) and num_layers > 0):
            raise ValueError(f"input_size, hidden_size and num_layers must be positive integers, got "
                             f"{input_size!r}, {hidden_size!r}, {num_layers!r}")
        self.mode, self.input_size, self.hidden_size, self.num_layers = mode, input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.bidirectional = bias, batch_first, bidirectional
        self.proj_size, self.reset_after = proj_size, reset_after
        self.params = self._init_params(np.random.default_rng(seed)) if params is None else self._check_params(params)
        self._tape = None
        self.dh_steps: dict[str, Array] = {}

    # --- parameters -----------------------------------------------------------------------------------------
    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def output_size(self) -> int:
        return self.proj_size or self.hidden_size

    def suffixes(self):
        for layer in range(self.num_layers):
            for d in range(self.num_directions):
                yield layer, d, f"_l{layer}" + ("_reverse" if d else "")

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        H = self.hidden_size
        G = GATES[self.mode] * H
        shapes = {}
        for layer, _, sfx in self.suffixes():
            in_size = self.input_size if layer == 0 else self.output_size * self.num_directions
            shapes["weight_ih" + sfx] = (G, in_size)
            if self.mode != "mingru":  # minGRU's gates read x only
                shapes["weight_hh" + sfx] = (H,) if self.mode == "indrnn" else (G, self.output_size)
            if self.bias:
                shapes["bias_ih" + sfx] = (G,)
                if self.mode != "mingru":
                    shapes["bias_hh" + sfx] = (G,)
            if self.proj_size:
                shapes["weight_hr" + sfx] = (self.proj_size, self.hidden_size)
            if self.mode == "layernorm-lstm":
                shapes.update({"ln_ih_weight" + sfx: (G,), "ln_hh_weight" + sfx: (G,), "ln_c_weight" + sfx: (H,)})
                if self.bias:
                    shapes["ln_c_bias" + sfx] = (H,)
        return shapes

    def _init_params(self, rng) -> dict[str, Array]:
        k = 1.0 / np.sqrt(self.hidden_size)
        out = {n: rng.uniform(-k, k, s) for n, s in self.param_shapes().items()}
        for n in out:
            if n.startswith("ln_"):  # norms start as the identity: gain 1, shift 0
                out[n] = np.full(out[n].shape, 0.0 if "_bias" in n else 1.0)
            elif self.mode == "indrnn" and n.startswith("weight_hh"):
                out[n] = rng.uniform(0.0, 1.0, out[n].shape)  # Li et al.'s U(0, 1)
        return out

    def _check_params(self, params: dict[str, Array]) -> dict[str, Array]:
        shapes = self.param_shapes()
        missing, extra = sorted(set(shapes) - set(params)), sorted(set(params) - set(shapes))
        if missing or extra:
            raise ValueError(f"parameters do not match this model: missing {missing}, unexpected {extra}")
        out = {}
        for n, s in shapes.items():
            a = as_float64(f"parameter {n}", params[n])
            if a.shape != s:
                raise ValueError(f"parameter {n} has shape {a.shape}, expected {s}")
            out[n] = a
        return out

    def _step_fns(self, p: dict[str, Array]):
        if self.mode in ("tanh", "relu"):
            return partial(simple.forward, p, nonlinearity=self.mode), partial(simple.backward, p,
                                                                              nonlinearity=self.mode)
        if self.mode == "lstm":
            return partial(lstm.forward, p), partial(lstm.backward, p)
        if self.mode == "layernorm-lstm":
            return partial(newcells.layernorm_lstm_forward, p), partial(newcells.layernorm_lstm_backward, p)
        if self.mode == "indrnn":
            return partial(newcells.indrnn_forward, p), partial(newcells.indrnn_backward, p)
        if self.mode == "mingru":
            return partial(newcells.mingru_forward, p), partial(newcells.mingru_backward, p)
        return partial(gru.forward, p, reset_after=self.reset_after), partial(gru.backward, p,
                                                                             reset_after=self.reset_after)

    # --- forward / backward ---------------------------------------------------------------------------------
    def _state_sizes(self) -> tuple[int, ...]:
        return (self.output_size, self.hidden_size) if self.mode in TWO_STATES else (self.output_size,)

    def forward(self, x, h0=None):
        """x: (T, B, I) or (B, T, I) with batch_first. Returns (outputs, h_n) or (outputs, (h_n, c_n)) for LSTM."""
        x = sequence_input(x, self.batch_first, self.input_size)
        T, B, I = x.shape
        rows = self.num_layers * self.num_directions
        sizes = self._state_sizes()
        if h0 is None:
            state0 = tuple(np.zeros((rows, B, n)) for n in sizes)
        else:
            parts = tuple(h0) if self.mode in TWO_STATES else (h0,)
            if len(parts) != len(sizes):
                raise ValueError(f"h0 must be {'a tuple (h0, c0)' if self.mode in TWO_STATES else 'one array'}")
            state0 = []
            for name, p, n in zip(("h0", "c0"), parts, sizes):
                a = as_float64(name, p, (3,))
                if a.shape != (rows, B, n):
                    raise ValueError(f"{name} has shape {a.shape}, expected {(rows, B, n)}")
                state0.append(a)
            state0 = tuple(state0)
        tape, finals, inp = [], [], x
        for layer in range(self.num_layers):
            outs = []
            for d in range(self.num_directions):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                fwd, _ = self._step_fns(self._params_for(sfx))
                row = layer * self.num_directions + d
                seq = inp if d == 0 else inp[::-1]
                y, final, caches = forward_through_time(fwd, seq, tuple(s[row] for s in state0))
                outs.append(y if d == 0 else y[::-1])
                finals.append(final)
                tape.append((sfx, row, caches, inp.shape[-1]))
            inp = np.concatenate(outs, axis=-1)
        self._tape = (tape, x.shape, len(sizes))
        h_n = tuple(np.stack([f[i] for f in finals]) for i in range(len(sizes)))
        out = inp.transpose(1, 0, 2) if self.batch_first else inp
        return out, (h_n if self.mode in TWO_STATES else h_n[0])

    def _params_for(self, sfx: str) -> dict[str, Array]:
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr", "ln_ih_weight", "ln_hh_weight",
                 "ln_c_weight", "ln_c_bias")
        return {n: self.params[n + sfx] for n in names if n + sfx in self.params}

    def backward(self, d_outputs, d_final=None) -> dict[str, Array]:
        """Gradients of L given ∂L/∂outputs (same layout as outputs) and ∂L/∂final_state (optional)."""
        if self._tape is None:
            raise RuntimeError("call forward() before backward()")
        tape, x_shape, n_state = self._tape
        T, B, _ = x_shape
        d_out = as_float64("d_outputs", d_outputs, (3,))
        if self.batch_first:
            d_out = d_out.transpose(1, 0, 2)
        expected = (T, B, self.output_size * self.num_directions)
        if d_out.shape != expected:
            raise ValueError(f"d_outputs has shape {d_out.shape} (time-major), expected {expected}")
        rows = self.num_layers * self.num_directions
        if d_final is None:
            d_fin = tuple(np.zeros((rows, B, n)) for n in self._state_sizes())
        else:
            d_fin = tuple(as_float64("d_final", a, (3,)) for a in (d_final if self.mode in TWO_STATES else (d_final,)))
        grads: dict[str, Array] = {}
        d_state0 = [[None] * rows for _ in range(n_state)]
        self.dh_steps = {}
        D = self.num_directions
        H_out = self.output_size
        for layer in reversed(range(self.num_layers)):
            d_in = None
            for d in range(D):
                sfx, row, caches, in_size = tape[layer * D + d]
                _, bwd = self._step_fns(self._params_for(sfx))
                g: dict[str, Array] = {}
                dy = d_out[:, :, d * H_out:(d + 1) * H_out]
                if d == 1:
                    dy = dy[::-1]
                dx, ds0, dh = backward_through_time(partial(bwd, grads=g), caches, dy,
                                                    tuple(s[row] for s in d_fin), in_size)
                if d == 1:
                    dx, dh = dx[::-1], dh[::-1]
                for k, v in g.items():
                    grads[k + sfx] = v
                for i in range(n_state):
                    d_state0[i][row] = ds0[i]
                self.dh_steps[sfx[1:]] = dh
                d_in = dx if d_in is None else d_in + dx
            d_out = d_in  # the input of layer k is the output of layer k-1
        if not self.bias:
            grads = {k: v for k, v in grads.items() if not k.startswith("bias") and not k.startswith("ln_c_bias")}
        grads["input"] = d_out.transpose(1, 0, 2) if self.batch_first else d_out
        grads["h0"] = np.stack(d_state0[0])
        if self.mode in TWO_STATES:
            grads["c0"] = np.stack(d_state0[1])
        return grads

    # --- loss-free helpers ----------------------------------------------------------------------------------
    def parameters(self) -> dict[str, Array]:
        return self.params

    def to_torch(self, dtype=None):
        from rnnkit.reference.convert import to_torch

        return to_torch(self, dtype=dtype)
