"""Keras's recurrent cells — SimpleRNNCell, LSTMCell, GRUCell, StackedRNNCells — with Keras's weight layouts.

Weights are Keras's: ``kernel`` (input_dim, G·units), ``recurrent_kernel`` (units, G·units), ``bias`` (G·units,) — or
(2, 3·units) for a GRU with ``reset_after=True`` (input bias, recurrent bias). Gate orders: LSTM i, f, c, o (as torch);
GRU z, r, h (torch: r, z, n). Keras's GRU keeps the old state with z: ``h = z ⊙ h_{t-1} + (1 - z) ⊙ hh`` (torch's z too).

Each cell splits a step like rnnkit's own cells: ``project`` computes the input part for all steps at once (with the input
dropout mask), ``bind`` returns the recurrent step for the loop, and ``fused_spec`` gives torch's kernel and the weights
converted to its layout when the configuration is one torch computes (default activations, GRU with reset_after=True).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from rnnkit.keras.backend import activation_name, get_activation
from rnnkit.keras.layers.base import Layer, as_tensors


class KerasCell(Layer):
    gates = 1

    def __init__(self, units: int, activation="tanh", recurrent_activation="sigmoid", use_bias: bool = True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 dropout: float = 0.0, recurrent_dropout: float = 0.0, seed=None, **kwargs) -> None:
        super().__init__(**kwargs)
        if not isinstance(units, int) or units <= 0:
            raise ValueError(f"{type(self).__name__}: units must be a positive integer, got {units!r}")
        self.units, self.use_bias = units, use_bias
        self.activation, self.recurrent_activation = get_activation(activation), get_activation(recurrent_activation)
        self._act, self._rec_act = activation_name(activation), activation_name(recurrent_activation)
        self.kernel_initializer, self.recurrent_initializer = kernel_initializer, recurrent_initializer
        self.bias_initializer = bias_initializer
        self.dropout = min(1.0, max(0.0, float(dropout)))
        self.recurrent_dropout = min(1.0, max(0.0, float(recurrent_dropout)))

    @property
    def state_size(self) -> list[int]:
        return [self.units]

    @property
    def mask_count(self) -> int:
        """Keras makes one dropout mask per gate when recurrent dropout is on (its 'implementation 1')."""
        return self.gates if self.recurrent_dropout > 0 and self.gates > 1 else 1

    def build(self, input_shape):
        G, u = self.gates, self.units
        self.add_weight("kernel", (input_shape[-1], G * u), self.kernel_initializer)
        self.add_weight("recurrent_kernel", (u, G * u), self.recurrent_initializer)
        if self.use_bias:
            self.add_weight("bias", self._bias_shape(), self.bias_initializer, value=self._bias_init())

    def _bias_shape(self):
        return (self.gates * self.units,)

    def _bias_init(self):
        return None

    def get_initial_state(self, batch_size: int, like: Tensor) -> list[Tensor]:
        return [like.new_zeros(batch_size, n) for n in self.state_size]

    # --- dropout masks (one per sequence, as Keras) ------------------------------------------------------------
    def dropout_masks(self, x_step: Tensor, h: Tensor, training: bool):
        def masks(rate, like):
            if not training or not 0 < rate < 1:
                return None
            return [torch.nn.functional.dropout(torch.ones_like(like), rate, True) for _ in range(self.mask_count)]
        return masks(self.dropout, x_step), masks(self.recurrent_dropout, h)

    # --- the step, split --------------------------------------------------------------------------------------
    def input_bias(self) -> Tensor | None:
        return self.bias if self.use_bias else None

    def project(self, x: Tensor, dp: list[Tensor] | None) -> Tensor:
        """Input part of every gate for all steps: (B, T, F) → (B, T, G·u)."""
        K, b = self.kernel, self.input_bias()
        if dp is None:
            xw = x @ K
        elif len(dp) == 1:
            xw = (x * dp[0].unsqueeze(1)) @ K
        else:
            u = self.units
            xw = torch.cat([(x * m.unsqueeze(1)) @ K[:, g * u:(g + 1) * u] for g, m in enumerate(dp)], dim=-1)
        return xw if b is None else xw + b

    def loop_params(self, rdp) -> dict[str, Tensor]:
        R = self.recurrent_kernel
        if rdp is None or len(rdp) == 1:
            return {"R": R.t()}
        u = self.units
        return {f"R{g}": R[:, g * u:(g + 1) * u].t() for g in range(self.gates)}

    def recurrent(self, h: Tensor, params, mm, rdp) -> Tensor:
        """h · recurrent_kernel, with the recurrent dropout mask(s) applied to h as Keras does."""
        if rdp is None:
            return mm(h, params["R"])
        if len(rdp) == 1:
            return mm(h * rdp[0], params["R"])
        return torch.cat([mm(h * m, params[f"R{g}"]) for g, m in enumerate(rdp)], dim=-1)

    def bind(self, params, mm, rdp):
        raise NotImplementedError

    def fused_spec(self):
        """(torch kernel mode, flat weights in torch's layout, has bias) — or None."""
        return None

    # --- one step, the Keras cell API: cell(inputs, states) -> (output, new_states) -----------------------------
    def call(self, x, mask=None, training=False, states=None):
        if states is None:
            raise ValueError(f"{type(self).__name__} needs states: cell(inputs, states)")
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        from rnnkit.cells.base import matmul

        xw = self.project(x.unsqueeze(1), None).squeeze(1)
        out, new = self.bind(self.loop_params(None), matmul, None)(xw, tuple(states))
        return out, list(new)

    def __call__(self, x, states=None, training=False, **kwargs):
        if isinstance(states, (list, tuple, Tensor, np.ndarray)) and not isinstance(x, (list, tuple)):
            x, states = as_tensors(x), as_tensors(states)
            self._maybe_build(x)
            return self.call(x, states=states, training=training)
        return super().__call__(x, training=training, **kwargs)

    def compute_output_shape(self, input_shape):
        raise NotImplementedError(f"Layer {type(self).__name__} does not have a `compute_output_shape` method "
                                  "implemented (as in Keras: a cell is called with its states)")

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": self._act, "use_bias": self.use_bias,
                "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout}


def _bias_pair(b: Tensor | None, n: int):
    return (b, torch.zeros_like(b)) if b is not None else ()


class SimpleRNNCell(KerasCell):
    """``h = activation(x · kernel + bias + h_{t-1} · recurrent_kernel)``."""

    gates = 1

    def bind(self, params, mm, rdp):
        act = self.activation

        def step(xw_t, states):
            h = act(xw_t + self.recurrent(states[0], params, mm, rdp))
            return h, (h,)
        return step

    def fused_spec(self):
        if self._act not in ("tanh", "relu"):
            return None
        flat = [self.kernel.t(), self.recurrent_kernel.t(), *_bias_pair(self.input_bias(), self.units)]
        return ("RNN_TANH" if self._act == "tanh" else "RNN_RELU"), flat, self.use_bias


class LSTMCell(KerasCell):
    """Keras's LSTM: ``z = x·kernel + h·recurrent_kernel + bias``; i, f, c, o; ``c = f c + i act(z_c)``; ``h = o act(c)``."""

    gates = 4

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 unit_forget_bias: bool = True, **kwargs):
        self.unit_forget_bias = unit_forget_bias
        super().__init__(units, activation, recurrent_activation, use_bias, **kwargs)

    @property
    def state_size(self):
        return [self.units, self.units]

    def _bias_init(self):
        from rnnkit.keras.backend import initialize

        b = initialize(self.bias_initializer, (4 * self.units,))
        if self.unit_forget_bias:
            b[self.units:2 * self.units] = 1.0
        return b

    def bind(self, params, mm, rdp):
        act, ract, u = self.activation, self.recurrent_activation, self.units

        def step(xw_t, states):
            h_prev, c_prev = states
            z = xw_t + self.recurrent(h_prev, params, mm, rdp)
            i, f, g, o = ract(z[:, :u]), ract(z[:, u:2 * u]), z[:, 2 * u:3 * u], ract(z[:, 3 * u:])
            c = f * c_prev + i * act(g)
            h = o * act(c)
            return h, (h, c)
        return step

    def fused_spec(self):
        if (self._act, self._rec_act) != ("tanh", "sigmoid"):
            return None
        return "LSTM", [self.kernel.t(), self.recurrent_kernel.t(), *_bias_pair(self.input_bias(), 4)], self.use_bias

    def get_config(self):
        return {**super().get_config(), "recurrent_activation": self._rec_act, "unit_forget_bias": self.unit_forget_bias}


class GRUCell(KerasCell):
    """Keras's GRU (z, r, h); ``reset_after=True`` (default) applies r after the recurrent matmul, as torch/cuDNN."""

    gates = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 reset_after: bool = True, **kwargs):
        self.reset_after = reset_after
        super().__init__(units, activation, recurrent_activation, use_bias, **kwargs)

    def _bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def input_bias(self):
        if not self.use_bias:
            return None
        return self.bias[0] if self.reset_after else self.bias

    def loop_params(self, rdp):
        R, u = self.recurrent_kernel, self.units
        if rdp is not None and len(rdp) > 1:
            p = {f"R{g}": R[:, g * u:(g + 1) * u].t() for g in range(3)}
        elif self.reset_after:
            p = {"R": R.t()}
        else:
            p = {"Rzr": R[:, :2 * u].t(), "Rh": R[:, 2 * u:].t()}
        if self.use_bias and self.reset_after:
            p["b_rec"] = self.bias[1]  # enters the step: passed in, so its gradient flows through the loop
        return p

    def bind(self, params, mm, rdp):
        act, ract, u = self.activation, self.recurrent_activation, self.units
        b_rec = params.get("b_rec")
        per_gate = rdp is not None and len(rdp) > 1

        def step(xw_t, states):
            h_prev = states[0]
            x_z, x_r, x_h = xw_t[:, :u], xw_t[:, u:2 * u], xw_t[:, 2 * u:]
            if per_gate:
                h_z, h_r, h_h = (h_prev * m for m in rdp)
                rec_z, rec_r = mm(h_z, params["R0"]), mm(h_r, params["R1"])
            else:
                h_z = h_r = h_h = h_prev if rdp is None else h_prev * rdp[0]
                if self.reset_after:
                    inner = mm(h_z, params["R"])
                else:
                    inner = mm(h_z, params["Rzr"])
                rec_z, rec_r = inner[:, :u], inner[:, u:2 * u]
            if b_rec is not None:
                rec_z, rec_r = rec_z + b_rec[:u], rec_r + b_rec[u:2 * u]
            z, r = ract(x_z + rec_z), ract(x_r + rec_r)
            if self.reset_after:
                rec_h = mm(h_h, params["R2"]) if per_gate else inner[:, 2 * u:]
                if b_rec is not None:
                    rec_h = rec_h + b_rec[2 * u:]
                rec_h = r * rec_h
            else:
                rec_h = mm(r * h_h, params["R2"] if per_gate else params["Rh"])
            hh = act(x_h + rec_h)
            h = z * h_prev + (1 - z) * hh
            return h, (h,)
        return step

    def fused_spec(self):
        if not self.reset_after or (self._act, self._rec_act) != ("tanh", "sigmoid"):
            return None
        u = self.units
        perm = torch.cat([torch.arange(u, 2 * u), torch.arange(0, u), torch.arange(2 * u, 3 * u)])  # z,r,h -> r,z,n
        flat = [self.kernel.t()[perm], self.recurrent_kernel.t()[perm]]
        if self.use_bias:
            flat += [self.bias[0][perm], self.bias[1][perm]]
        return "GRU", flat, self.use_bias

    def get_config(self):
        return {**super().get_config(), "recurrent_activation": self._rec_act, "reset_after": self.reset_after}


class StackedRNNCells(Layer):
    """Several cells as one: cell k's output is cell k+1's input within the same step; states are concatenated."""

    def __init__(self, cells, **kwargs):
        super().__init__(**kwargs)
        self.cells = torch.nn.ModuleList(cells)

    def _sublayers(self):
        return list(self.cells)

    @property
    def state_size(self):
        return [n for c in self.cells for n in c.state_size]

    @property
    def units(self):
        return self.cells[-1].units

    def build(self, input_shape):
        dim = input_shape[-1]
        for c in self.cells:
            c._maybe_build(torch.zeros(1, dim))
            dim = c.units

    def get_initial_state(self, batch_size, like):
        return [s for c in self.cells for s in c.get_initial_state(batch_size, like)]

    def dropout_masks(self, x_step, h, training):
        dps, rdps = [], []
        for c in self.cells:
            d, r = c.dropout_masks(x_step, h[:, :c.units] if h.shape[-1] >= c.units else h.new_zeros(h.shape[0], c.units),
                                   training)
            dps.append(d)
            rdps.append(r)
            x_step = x_step.new_zeros(x_step.shape[0], c.units)
        return dps, rdps

    def project(self, x, dp):
        return self.cells[0].project(x, dp[0] if dp else None)

    def loop_params(self, rdp):
        p = {f"{k}.{n}": v for k, c in enumerate(self.cells) for n, v in c.loop_params(rdp[k] if rdp else None).items()}
        for k, c in enumerate(self.cells):
            if k:  # cells after the first project their input inside the step
                p[f"{k}.kernel_T"] = c.kernel.t()
                if c.input_bias() is not None:
                    p[f"{k}.in_bias"] = c.input_bias()
        return p

    def bind(self, params, mm, rdp):
        steps, sizes = [], []
        for k, c in enumerate(self.cells):
            p = {n.split(".", 1)[1]: v for n, v in params.items() if n.startswith(f"{k}.")}
            steps.append(c.bind(p, mm, rdp[k] if rdp else None))
            sizes.append(len(c.state_size))
        dps = self._step_dps if hasattr(self, "_step_dps") else None

        def step(xw_t, states):
            out, new, i = None, [], 0
            for k, (c, s, n) in enumerate(zip(self.cells, steps, sizes)):
                if k == 0:
                    inp = xw_t
                else:
                    d = dps[k] if dps else None
                    K_T, b = params[f"{k}.kernel_T"], params.get(f"{k}.in_bias")
                    if d is None:
                        inp = mm(out, K_T)
                    elif len(d) == 1:
                        inp = mm(out * d[0], K_T)
                    else:
                        u = c.units
                        inp = torch.cat([mm(out * m, K_T[g * u:(g + 1) * u]) for g, m in enumerate(d)], dim=-1)
                    if b is not None:
                        inp = inp + b
                out, st = s(inp, tuple(states[i:i + n]))
                new.extend(st)
                i += n
            return out, tuple(new)
        return step

    def get_config(self):
        return {**super().get_config(), "cells": list(self.cells)}
