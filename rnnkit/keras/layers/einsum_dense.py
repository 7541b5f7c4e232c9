"""Keras's ``EinsumDense(equation, output_shape, activation=None, bias_axes=None, ...)``: a dense layer whose product
is any einsum of the input with its kernel — ``"abc,cd->abd"`` (a Dense over the last axis), ``"abc,cde->abde"``
(the heads of an attention layer's projection), ``"...b,bc->...c"`` — as Keras's transformer code writes it:

    y = f(einsum(equation, x, W) + b)

Every kernel axis is an input axis (its size read from the input) or an output axis (from ``output_shape``, the
output's shape without the batch axis and without the axes a ``...`` stands for). The bias spans the output axes
from the first one named in ``bias_axes`` to the last, with size 1 on the ones not named (broadcast). A
VarianceScaling initializer (``glorot_uniform``, ``he_normal``, …) counts its fans over those input and output axes,
as Keras's does.
"""

from __future__ import annotations

import copy
import re

import torch

from rnnkit.keras import initializers
from rnnkit.keras.layers.core import KernelBiasLayer


def _parse(equation: str) -> tuple[str, str, str, str]:
    """(input spec, kernel spec, output spec, where the input's ``...`` is: "" none, "left" or "right")."""
    for pattern, where in ((r"([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)", ""),
                           (r"\.\.\.([a-zA-Z]+),([a-zA-Z]+)->\.\.\.([a-zA-Z]+)", "left"),
                           (r"([a-zA-Z]{2,})\.\.\.,([a-zA-Z]+)->([a-zA-Z]+)\.\.\.", "right")):
        match = re.fullmatch(pattern, equation.replace(" ", ""))
        if match:
            return (*match.groups(), where)
    raise ValueError(f"Invalid einsum equation '{equation}'. Equations must be in the form [X],[Y]->[Z], "
                     "...[X],[Y]->...[Z], or [X]...,[Y]->[Z]....")


def analyze(equation: str, bias_axes, input_shape, output_shape):
    """(kernel shape, bias shape or None, full output shape, the kernel's input axes, its output axes)."""
    x_spec, w_spec, y_spec, where = _parse(equation)
    input_shape = list(input_shape)
    partial = [output_shape] if isinstance(output_shape, int) else list(output_shape)
    elided = len(input_shape) - len(x_spec)
    if elided < 0 or (elided and not where):
        raise ValueError(f"EinsumDense: equation '{equation}' expects a {len(x_spec)}-D input, got shape "
                         f"{tuple(input_shape)}")
    if where == "left":  # batch, the elided axes, then the named ones
        full = [input_shape[0], *input_shape[1:elided], *partial]
        x_axis = {c: elided + i for i, c in enumerate(x_spec)}
        y_axis = {c: elided + i for i, c in enumerate(y_spec)}
    else:
        full = [input_shape[0], *partial, *input_shape[len(x_spec):]]
        x_axis = {c: i for i, c in enumerate(x_spec)}
        y_axis = {c: i for i, c in enumerate(y_spec)}
    if len(full) != len(y_spec) + (elided if where else 0):
        raise ValueError(f"EinsumDense: output_shape {tuple(partial)} does not fit the output spec '{y_spec}' of "
                         f"'{equation}'")
    for c in x_spec:
        if c in y_axis and full[y_axis[c]] is not None and full[y_axis[c]] != input_shape[x_axis[c]]:
            raise ValueError(f"Input shape and output shape do not match at shared dimension '{c}'. Input shape is "
                             f"{input_shape[x_axis[c]]}, and output shape is {full[y_axis[c]]}.")
    for c in y_spec:
        if c not in x_spec and c not in w_spec:
            raise ValueError(f"Dimension '{c}' was specified in the output '{y_spec}' but has no corresponding dim "
                             f"in the input spec '{x_spec}' or weight spec '{w_spec}'")
    kernel, ins, outs = [], [], []
    for i, c in enumerate(w_spec):
        if c in y_axis:
            kernel.append(full[y_axis[c]])
            outs.append(i)
        elif c in x_axis:
            kernel.append(input_shape[x_axis[c]])
            ins.append(i)
        else:
            raise ValueError(f"Weight dimension '{c}' did not have a match in either the input spec '{x_spec}' or "
                             f"the output spec '{y_spec}'. For this layer, the weight must be fully specified.")
    bias = None
    if bias_axes is not None:
        missing = [c for c in bias_axes if c not in y_spec]
        if missing:
            raise ValueError(f"Bias dimension '{missing[0]}' was requested, but is not part of the output spec "
                             f"'{y_spec}'")
        first = min(y_spec.find(c) for c in bias_axes)
        bias = [full[y_axis[c]] if c in bias_axes else 1 for c in y_spec[first:]]
        bias += [1] * (elided if where == "right" else 0)
    return kernel, bias, full, ins, outs


class EinsumDense(KernelBiasLayer):
    def __init__(self, equation, output_shape, activation=None, bias_axes=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, lora_rank=None, lora_alpha=None, gptq_unpacked_column_size=None,
                 quantization_config=None, **kwargs):
        super().__init__(**kwargs)
        if lora_rank or quantization_config:
            raise ValueError("EinsumDense: LoRA and quantization are not supported by rnnkit.keras")
        _parse(equation)
        self.equation, self.bias_axes = equation, bias_axes
        self.partial_output_shape = (output_shape,) if isinstance(output_shape, int) else tuple(output_shape)
        self._kernel_bias(activation, bias_axes is not None, kernel_initializer, bias_initializer,
                          kernel_regularizer, bias_regularizer, kernel_constraint, bias_constraint)

    def build(self, input_shape):
        kernel, bias, _, ins, outs = analyze(self.equation, self.bias_axes, input_shape, self.partial_output_shape)
        init = self.kernel_initializer
        if isinstance(init, initializers.VarianceScaling) and (init.input_axes is None or init.output_axes is None):
            init = copy.copy(init)  # Keras's fans over the kernel's input and output axes
            init.input_axes, init.output_axes = ins, outs
        self.add_weight(tuple(kernel), init, name="kernel", regularizer=self.kernel_regularizer,
                        constraint=self.kernel_constraint)
        if bias is not None:
            self.add_weight(tuple(bias), self.bias_initializer, name="bias", regularizer=self.bias_regularizer,
                            constraint=self.bias_constraint)

    def call(self, x, mask=None, training=False):
        y = torch.einsum(self.equation, x, self.kernel)
        if self.bias_axes is not None:
            y = y + self.bias
        return self.activation(y) if self.activation is not None else y

    def get_config(self):
        base, cfg = super().get_config(), self._kernel_bias_config()
        return {**base, "output_shape": self.partial_output_shape, "equation": self.equation,
                "activation": cfg["activation"], "bias_axes": self.bias_axes,
                **{k: cfg[k] for k in ("kernel_initializer", "bias_initializer", "kernel_regularizer",
                                       "bias_regularizer")},
                "activity_regularizer": base.get("activity_regularizer"),
                **{k: cfg[k] for k in ("kernel_constraint", "bias_constraint")}, "quantization_config": None}


__all__ = ["EinsumDense", "analyze"]
