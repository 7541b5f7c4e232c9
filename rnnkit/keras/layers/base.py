"""The Keras layer protocol on torch: lazy ``build`` on first call, named weights in Keras order, masks, symbolic inputs.

A layer is a ``torch.nn.Module`` whose parameters are Keras's variables in Keras's layout (``kernel`` is (in, units), as
in Keras), so ``get_weights()``/``set_weights()`` exchange lists with real Keras unchanged. Calling a layer on an
``Input`` (a ``KerasTensor``) builds it at once and returns a new ``KerasTensor`` — that is how ``Model(inputs, outputs)``
records a graph.
"""

from __future__ import annotations

import copy
import functools

import numpy as np
import torch
from torch import nn

from rnnkit.keras.backend import initialize, snake, unique_name


class KerasTensor:
    """A symbolic tensor: a shape without the batch axis, and the (layer, inputs, kwargs) that produced it."""

    def __init__(self, shape: tuple, dtype=torch.float32, node=None, index: int = 0, name: str | None = None) -> None:
        self.shape, self.dtype, self.node, self.index, self.name = tuple(shape), dtype, node, index, name

    def __repr__(self) -> str:
        return f"<KerasTensor shape=(None, {', '.join(map(str, self.shape))})>"


def Input(shape, dtype="float32", name: str | None = None) -> KerasTensor:  # noqa: N802 - Keras's name
    """``keras.Input(shape)``: the model's entry point; ``shape`` excludes the batch axis."""
    dt = {"float32": torch.float32, "float64": torch.float64, "int32": torch.int64, "int64": torch.int64}.get(dtype)
    if dt is None:
        raise ValueError(f"unsupported Input dtype {dtype!r}")
    return KerasTensor(tuple(shape), dt, node=None, name=name or unique_name("input_layer"))


def as_tensors(x, ids: bool = False):
    """Keras's NumPy-in: arrays (and nested lists/tuples of them — several inputs) become torch tensors. Floating
    arrays become float32 (Keras's default float); integer ones stay integer for a layer that reads ids
    (``ids=True``: ``Embedding``) and become float32 for the rest (Keras casts them to the layer's compute dtype).
    Tensors pass through, integer tensors cast the same way."""
    if isinstance(x, (list, tuple)):
        return type(x)(as_tensors(v, ids) for v in x)
    if isinstance(x, (np.ndarray, np.generic)):
        x = torch.from_numpy(np.ascontiguousarray(x))
    if isinstance(x, torch.Tensor):
        if x.is_floating_point():
            return x.float() if x.dtype == torch.float64 else x
        if not ids:
            return x.float()
        return x.long() if x.dtype != torch.int64 else x
    return x


class Layer(nn.Module):
    supports_masking = False
    reads_ids = False  # Embedding: integer inputs stay integer

    def __init_subclass__(cls, **kwargs) -> None:
        """``build()`` means built, as in Keras: every subclass's ``build`` marks the layer built when it returns, so
        weights set after an explicit ``layer.build(shape)`` survive the first call (which does not build again)."""
        super().__init_subclass__(**kwargs)
        if "build" in cls.__dict__:
            original = cls.__dict__["build"]

            @functools.wraps(original)
            def build(self, input_shape, _original=original):
                _original(self, input_shape)
                self.built = True

            cls.build = build

    def __init__(self, name: str | None = None, input_shape=None, trainable: bool = True, dtype=None, **kwargs) -> None:
        super().__init__()
        unknown = set(kwargs) - {"input_dim", "batch_input_shape", "batch_size"}
        if unknown:
            raise TypeError(f"{type(self).__name__}: unexpected argument(s) {sorted(unknown)}")
        self.name = name or unique_name(snake(type(self).__name__))
        if input_shape is None and "input_dim" in kwargs:
            input_shape = (kwargs["input_dim"],)
        self.input_shape_arg = tuple(input_shape) if input_shape is not None else None
        self.trainable = trainable
        self.built = False
        self._weight_names: list[str] = []

    # --- weights -------------------------------------------------------------------------------------------
    def add_weight(self, name: str, shape, initializer: str = "glorot_uniform", value: torch.Tensor | None = None
                   ) -> nn.Parameter:
        data = value if value is not None else initialize(initializer, tuple(shape))
        p = nn.Parameter(data.float(), requires_grad=self.trainable)
        self.register_parameter(name, p)
        self._weight_names.append(name)
        return p

    @property
    def weights(self) -> list[nn.Parameter]:
        return [getattr(self, n) for n in self._weight_names] + [w for sub in self._sublayers() for w in sub.weights]

    def _sublayers(self) -> list[Layer]:
        return []

    @property
    def trainable_weights(self) -> list[nn.Parameter]:
        return [w for w in self.weights if w.requires_grad] if self.trainable else []

    @property
    def non_trainable_weights(self) -> list[nn.Parameter]:
        return [w for w in self.weights if not w.requires_grad] if self.trainable else list(self.weights)

    def compute_output_shape(self, input_shape):
        """The output shape(s) for an input shape (batch axis first, ``None`` allowed), found by running a copy of the
        layer on a small batch of zeros — the layer itself is left as it was (unbuilt, its states untouched), as in
        Keras."""
        shape = tuple(input_shape)
        with torch.no_grad():
            out = copy.deepcopy(self)(torch.zeros((2, *shape[1:]), dtype=torch.long if self.reads_ids else torch.float32))
        batch = shape[0]
        if isinstance(out, (list, tuple)):
            return [(batch, *o.shape[1:]) for o in out]
        return (batch, *out.shape[1:])

    def get_weights(self) -> list[np.ndarray]:
        return [w.detach().cpu().numpy().copy() for w in self.weights]

    def set_weights(self, values) -> None:
        ws = self.weights
        if len(values) != len(ws):
            raise ValueError(f"layer {self.name!r} expects {len(ws)} weight arrays, got {len(values)}")
        with torch.no_grad():
            for w, v in zip(ws, values):
                v = torch.as_tensor(np.asarray(v), dtype=w.dtype)
                if tuple(v.shape) != tuple(w.shape):
                    raise ValueError(f"layer {self.name!r}: weight of shape {tuple(w.shape)} cannot take an array of "
                                     f"shape {tuple(v.shape)}")
                w.copy_(v)

    def count_params(self) -> int:
        return sum(w.numel() for w in self.weights)

    # --- the call protocol -----------------------------------------------------------------------------------
    def build(self, input_shape) -> None:
        self.built = True

    def call(self, x, mask=None, training=False, **kwargs):
        raise NotImplementedError

    def compute_mask(self, x, mask):
        return mask if self.supports_masking else None

    def _maybe_build(self, x) -> None:
        if not self.built:
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else tuple(x[0].shape)
            self.build(shape)
            self.built = True

    def __call__(self, x, mask=None, training=False, **kwargs):
        if isinstance(x, KerasTensor) or (isinstance(x, (list, tuple)) and x and isinstance(x[0], KerasTensor)):
            return symbolic_call(self, x, kwargs)
        x = as_tensors(x, self.reads_ids)
        mask = as_tensors(mask, ids=True) if mask is not None else None
        kwargs = {k: as_tensors(v) if isinstance(v, (np.ndarray, list, tuple)) else v for k, v in kwargs.items()}
        self._maybe_build(x)
        return self.call(x, mask=mask, training=training, **kwargs)

    def forward(self, *args, **kwargs):  # pragma: no cover - layers are called through __call__
        return self.call(*args, **kwargs)

    def get_config(self) -> dict:
        return {"name": self.name, "trainable": self.trainable}

    def extra_repr(self) -> str:
        return self.name


class Node:
    def __init__(self, layer: Layer, inputs, kwargs: dict) -> None:
        self.layer, self.inputs, self.kwargs = layer, inputs, kwargs
        self.outputs: list[KerasTensor] = []


def _dummy(kt: KerasTensor) -> torch.Tensor:
    return torch.zeros((2, *kt.shape), dtype=kt.dtype)


def symbolic_call(layer: Layer, inputs, kwargs: dict):
    """Build ``layer`` on zeros of the symbolic shape (batch 2) and return KerasTensor(s) for its output(s)."""
    concrete = [_dummy(t) for t in inputs] if isinstance(inputs, (list, tuple)) else _dummy(inputs)
    sym_kwargs = {k: (_dummy(v) if isinstance(v, KerasTensor) else [_dummy(t) for t in v]
                      if isinstance(v, (list, tuple)) and v and isinstance(v[0], KerasTensor) else v)
                  for k, v in kwargs.items()}
    with torch.no_grad():
        out = layer(concrete, **sym_kwargs) if isinstance(concrete, list) else layer(concrete, **sym_kwargs)
    node = Node(layer, inputs, kwargs)
    layer.build_input_shape = (None, *(inputs[0].shape if isinstance(inputs, (list, tuple)) else inputs.shape))
    if isinstance(out, (list, tuple)):
        node.outputs = [KerasTensor(tuple(o.shape[1:]), o.dtype, node, i) for i, o in enumerate(out)]
        return list(node.outputs)
    node.outputs = [KerasTensor(tuple(out.shape[1:]), out.dtype, node, 0)]
    return node.outputs[0]
