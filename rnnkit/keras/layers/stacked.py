"""``StackedRNNCells``: several cells as one step, and Keras's cell protocol that any cell in an ``RNN`` follows.

A cell is any layer with ``state_size`` (an int, or a list: one per state) and ``call(inputs, states[, training])``
returning ``(output, new_states)``; optionally ``output_size`` and ``get_initial_state(batch_size)``. A stack of
rnnkit.keras's own cells also offers the engine's split step (``project``/``loop_params``/``bind``) so the ``RNN`` can
run it on the fast loop.
"""

from __future__ import annotations

import torch

from rnnkit.keras.layers.base import Layer, _call_takes
from rnnkit.keras.layers.cells import KerasCell, build_with_shape, output_size, state_sizes


def check_cell(cell, owner: str) -> None:
    """Keras's cell protocol: a ``call(inputs, states[, training])`` and a ``state_size`` (an int or a list)."""
    if "call" not in dir(cell):
        raise ValueError(f"{owner}: a cell needs a `call` method, got {cell!r}")
    if "state_size" not in dir(cell):
        raise ValueError(f"{owner}: the cell {type(cell).__name__} needs a `state_size` attribute (an integer, or a "
                         "list of integers, one per state)")


def call_cell(cell, inputs, states, training):
    """``cell(inputs, states[, training])`` as Keras's RNN calls it (``training`` only if the cell's call takes it)."""
    if isinstance(cell, Layer):
        if _call_takes(type(cell), "training"):
            return cell(inputs, states, training=training)
        return cell(inputs, states)
    return cell.call(inputs, states)


class StackedRNNCells(Layer):
    """Several cells as one: cell k's output is cell k+1's input within the same step. ``state_size`` and the states
    are nested per cell (``[[h1, c1], [h2, c2]]``), as in Keras; any cells following Keras's protocol may be stacked.
    When every cell is one of rnnkit.keras's own, the RNN runs the stack through the engine's loop (``bind``)."""

    def __init__(self, cells, **kwargs):
        super().__init__(**kwargs)
        for c in cells:
            check_cell(c, "StackedRNNCells")
        self.cells = torch.nn.ModuleList(cells) if all(isinstance(c, torch.nn.Module) for c in cells) else list(cells)

    def _sublayers(self):
        return [c for c in self.cells if isinstance(c, Layer)]

    @property
    def state_size(self):
        return [c.state_size for c in self.cells]

    @property
    def output_size(self):
        return output_size(self.cells[-1])

    @property
    def units(self):
        return output_size(self.cells[-1])

    @property
    def engine_ready(self) -> bool:
        return all(isinstance(c, KerasCell) for c in self.cells)

    def build(self, input_shape):
        shape = tuple(input_shape)
        for c in self.cells:
            build_with_shape(c, shape)
            shape = (shape[0], output_size(c))

    def get_initial_state(self, batch_size=None, like=None):
        out = []
        for c in self.cells:
            fn = getattr(c, "get_initial_state", None)
            if isinstance(c, KerasCell):
                out.append(fn(batch_size, like))
            elif fn is not None:
                s = fn(batch_size=batch_size)
                out.append(list(s) if isinstance(s, (list, tuple)) else [s])
            else:
                kw = {"device": like.device, "dtype": like.dtype} if like is not None else {}
                zeros = [torch.zeros(batch_size, n, **kw) for n in state_sizes(c)]
                out.append(zeros[0] if isinstance(c.state_size, int) else zeros)
        return out

    def call(self, inputs, states, training=False):
        """One step of the stack, Keras's way: each cell gets its own states and the previous cell's output."""
        new_states = []
        for cell, st in zip(self.cells, states):
            as_list = isinstance(st, (list, tuple))
            out, st = call_cell(cell, inputs, list(st) if as_list else [st], training)
            st = list(st) if isinstance(st, (list, tuple)) else [st]
            new_states.append(st if as_list or len(st) > 1 else st[0])
            inputs = out
        return inputs, new_states

    # --- the engine's path (rnnkit.keras cells only) ---------------------------------------------------------------
    def dropout_masks(self, x_step, h, training):
        dps, rdps = [], []
        for c in self.cells:
            d, r = c.dropout_masks(x_step, h.new_zeros(h.shape[0], c.units), training)
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

    def bind(self, params, mm, rdp, dps=None):
        steps, sizes = [], []
        for k, c in enumerate(self.cells):
            p = {n.split(".", 1)[1]: v for n, v in params.items() if n.startswith(f"{k}.")}
            steps.append(c.bind(p, mm, rdp[k] if rdp else None))
            sizes.append(len(state_sizes(c)))

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
        from rnnkit.keras.layers.serialize import serialize_layer

        return {**super().get_config(), "cells": [serialize_layer(c) for c in self.cells]}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from rnnkit.keras.layers.serialize import deserialize_layer

        config = dict(config)
        cells = [deserialize_layer(c, custom_objects) for c in config.pop("cells")]
        return cls(cells, **config)
