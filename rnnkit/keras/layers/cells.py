"""Keras's recurrent cells — SimpleRNNCell, LSTMCell, GRUCell (StackedRNNCells: ``stacked.py``) — with Keras's layouts.

Weights are Keras's: ``kernel`` (input_dim, G·units), ``recurrent_kernel`` (units, G·units), ``bias`` (G·units,) — or
(2, 3·units) for a GRU with ``reset_after=True`` (input bias, recurrent bias). Gate orders: LSTM i, f, c, o (as torch);
GRU z, r, h (torch: r, z, n). Keras's GRU keeps the old state with z: ``h = z ⊙ h_{t-1} + (1 - z) ⊙ hh`` (torch's z too).

Each cell splits a step like rnnkit's own cells: ``project`` computes the input part for all steps at once (with the input
dropout mask), ``bind`` returns the recurrent step for the loop, and ``fused_spec`` gives torch's kernel and the weights
converted to its layout when the configuration is one torch computes (default activations, GRU with reset_after=True).
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnkit.keras import constraints, initializers, regularizers
from rnnkit.keras.backend import SeedStream, activation_name, get_activation
from rnnkit.keras.layers.base import Layer

REGULARIZED = ("kernel", "recurrent", "bias")


def state_sizes(cell) -> list[int]:
    """A cell's ``state_size`` flattened: ``4`` → [4]; ``[4, 4]`` → [4, 4]; a stack's ``[[4, 4], 2]`` → [4, 4, 2]."""
    s = cell.state_size
    if isinstance(s, int):
        return [s]
    return [n for v in s for n in ([v] if isinstance(v, int) else list(v))]


def build_with_shape(layer, shape) -> None:
    """Keras's ``if not layer.built: layer.build(shape)`` for a cell given as any layer with ``build`` and ``built`` —
    rnnkit.keras's, or Keras's own (a ``keras.Layer`` cell in an rnnkit ``RNN``, with Keras's torch backend)."""
    if getattr(layer, "built", True) is False and callable(getattr(layer, "build", None)):
        layer.build(tuple(shape))
        layer.built = True


def output_size(cell) -> int:
    size = getattr(cell, "output_size", None)
    return size if size is not None else state_sizes(cell)[0]


class KerasCell(Layer):
    gates = 1

    def __init__(self, units: int, activation="tanh", recurrent_activation="sigmoid", use_bias: bool = True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 seed=None, implementation: int = 2, **kwargs) -> None:
        super().__init__(**kwargs)
        if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
            raise ValueError(f"{type(self).__name__}: units must be a positive integer, got {units!r}")
        if implementation not in (0, 1, 2):  # 0: a Keras 2 value old configs carry; Keras 3 runs it as 2
            raise ValueError(f"{type(self).__name__}: implementation must be 1 or 2, got {implementation!r}")
        self.units, self.use_bias = units, use_bias
        self.activation, self.recurrent_activation = get_activation(activation), get_activation(recurrent_activation)
        self._act, self._rec_act = activation_name(activation), activation_name(recurrent_activation)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = min(1.0, max(0.0, float(dropout)))
        self.recurrent_dropout = min(1.0, max(0.0, float(recurrent_dropout)))
        # Keras: recurrent dropout forces implementation 1, which draws one mask per gate
        self.implementation = 1 if self.recurrent_dropout else implementation
        self.seed = seed
        self.seeds = SeedStream(seed)
        self._sequence_masks = None  # [] while an RNN runs this cell step by step: one mask per sequence, as Keras

    @property
    def state_size(self):
        return self.units

    @property
    def output_size(self) -> int:
        return self.units

    @property
    def mask_count(self) -> int:
        """Keras's implementation 1 (forced by recurrent dropout) draws one dropout mask per gate."""
        return self.gates if self.implementation == 1 and self.gates > 1 else 1

    def build(self, input_shape):
        G, u = self.gates, self.units
        self.add_weight((input_shape[-1], G * u), self.kernel_initializer, name="kernel",
                        regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.add_weight((u, G * u), self.recurrent_initializer, name="recurrent_kernel",
                        regularizer=self.recurrent_regularizer, constraint=self.recurrent_constraint)
        if self.use_bias:
            self.add_weight(self._bias_shape(), self.bias_initializer, name="bias", value=self._bias_init(),
                            regularizer=self.bias_regularizer, constraint=self.bias_constraint)

    def _bias_shape(self):
        return (self.gates * self.units,)

    def _bias_init(self):
        return None

    def get_initial_state(self, batch_size=None, like: Tensor | None = None) -> list[Tensor]:
        kw = {"device": like.device, "dtype": like.dtype} if like is not None else {}
        return [torch.zeros(batch_size, n, **kw) for n in state_sizes(self)]

    # --- dropout masks (one per sequence, as Keras) ------------------------------------------------------------
    def dropout_masks(self, x_step: Tensor, h: Tensor, training: bool):
        def masks(rate, like):
            if not training or not 0 < rate < 1:
                return None
            return [self.seeds.dropout_mask(like.shape, rate, like) for _ in range(self.mask_count)]
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
    def call(self, inputs, states, training=False):
        """One step. ``states`` is a list (or, for one state, a tensor — then the new state comes back as a tensor, as
        Keras's SimpleRNNCell/GRUCell do). In training, dropout masks are drawn per call — or once per sequence when
        an ``RNN`` runs this cell step by step."""
        from rnnkit.cells.base import matmul

        as_list = isinstance(states, (list, tuple))
        states = list(states) if as_list else [states]
        dp = rdp = None
        if training and (self.dropout or self.recurrent_dropout):
            masks = self._sequence_masks
            if not isinstance(masks, tuple):  # None: a mask per call; []: an RNN asks for one per sequence
                masks = self.dropout_masks(inputs, states[0], True)
                if self._sequence_masks is not None:
                    self._sequence_masks = masks
            dp, rdp = masks
        xw = self.project(inputs.unsqueeze(1), dp).squeeze(1)
        out, new = self.bind(self.loop_params(rdp), matmul, rdp)(xw, tuple(states))
        new = list(new)
        return out, (new if as_list or len(new) > 1 else new[0])

    def compute_output_shape(self, input_shape):
        raise NotImplementedError(f"Layer {type(self).__name__} does not have a `compute_output_shape` method "
                                  "implemented (as in Keras: a cell is called with its states)")

    def get_config(self):
        ser_i, ser_r, ser_c = (initializers.serialize_initializer, regularizers.serialize_regularizer,
                               constraints.serialize_constraint)
        cfg = {**super().get_config(), "units": self.units, "activation": self._act}
        if self.gates > 1:
            cfg["recurrent_activation"] = self._rec_act
        cfg.update({"use_bias": self.use_bias, "kernel_initializer": ser_i(self.kernel_initializer),
                    "recurrent_initializer": ser_i(self.recurrent_initializer),
                    "bias_initializer": ser_i(self.bias_initializer)})
        cfg.update({f"{w}_regularizer": ser_r(getattr(self, f"{w}_regularizer")) for w in REGULARIZED})
        cfg.update({f"{w}_constraint": ser_c(getattr(self, f"{w}_constraint")) for w in REGULARIZED})
        cfg.update({"dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout, "seed": self.seed})
        return cfg


def _bias_pair(b: Tensor | None, n: int):
    return (b, torch.zeros_like(b)) if b is not None else ()


class SimpleRNNCell(KerasCell):
    """``h = activation(x · kernel + bias + h_{t-1} · recurrent_kernel)``."""

    gates = 1

    def __init__(self, units, activation="tanh", use_bias=True, **kwargs):
        if "implementation" in kwargs or "recurrent_activation" in kwargs:
            bad = sorted({"implementation", "recurrent_activation"} & set(kwargs))
            raise TypeError(f"SimpleRNNCell: unexpected argument(s) {bad} (as Keras: SimpleRNN has neither)")
        super().__init__(units, activation, "sigmoid", use_bias, **kwargs)

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
        """Keras's unit_forget_bias: the forget block starts at 1 (the initializer is asked for the other blocks in
        Keras's two calls, so a seeded initializer gives Keras's numbers)."""
        if not self.unit_forget_bias:
            return None
        u, init = self.units, self.bias_initializer
        return torch.cat([init((u,)), torch.ones(u), init((2 * u,))])

    def bind(self, params, mm, rdp):
        act, ract, u = self.activation, self.recurrent_activation, self.units

        def step(xw_t, states):
            h_prev, c_prev = states
            z = xw_t + self.recurrent(h_prev, params, mm, rdp)
            i, f, g, o = z.split(u, dim=1)  # (split, not [:, a:b]: a slice of the batch axis does not export)
            i, f, o = ract(i), ract(f), ract(o)
            c = f * c_prev + i * act(g)
            h = o * act(c)
            return h, (h, c)
        return step

    def fused_spec(self):
        if (self._act, self._rec_act) != ("tanh", "sigmoid"):
            return None
        return "LSTM", [self.kernel.t(), self.recurrent_kernel.t(), *_bias_pair(self.input_bias(), 4)], self.use_bias

    def get_config(self):
        return {**super().get_config(), "unit_forget_bias": self.unit_forget_bias}


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
            x_z, x_r, x_h = xw_t.split(u, dim=1)
            if per_gate:
                h_z, h_r, h_h = (h_prev * m for m in rdp)
                rec_z, rec_r = mm(h_z, params["R0"]), mm(h_r, params["R1"])
            else:
                h_z = h_r = h_h = h_prev if rdp is None else h_prev * rdp[0]
                if self.reset_after:
                    inner = mm(h_z, params["R"])
                else:
                    inner = mm(h_z, params["Rzr"])
                rec_z, rec_r = inner.split(u, dim=1)[:2]
            if b_rec is not None:
                rec_z, rec_r = rec_z + b_rec[:u], rec_r + b_rec[u:2 * u]
            z, r = ract(x_z + rec_z), ract(x_r + rec_r)
            if self.reset_after:
                rec_h = mm(h_h, params["R2"]) if per_gate else inner.split(u, dim=1)[2]
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
        return {**super().get_config(), "reset_after": self.reset_after}
