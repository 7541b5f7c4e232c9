"""The symbolic graph behind the functional API: ``Input`` gives a ``KerasTensor`` (a shape, no values); a layer called
on one runs on zeros of that shape (building it) and returns new KerasTensors, recording the call as a ``Node`` — in the
tensors it made and in the layer's ``_inbound_nodes``, as Keras records it, so ``layer.output`` / ``layer.input`` name
the tensors of its first call and a layer called twice (shared weights) has two nodes.
"""

from __future__ import annotations

import itertools

import torch

from rnnkit.keras.backend import unique_name

STRING = "string"  # a string Input's dtype: its data are NumPy arrays of str, read by a string preprocessing layer


class KerasTensor:
    """A symbolic tensor: its ``shape`` batch axis first, as Keras's (the batch size None unless the Input fixed it;
    ``feature_shape`` without it), and the node (layer, inputs, kwargs) that produced it."""

    def __init__(self, shape: tuple, dtype=torch.float32, node=None, index: int = 0, name: str | None = None,
                 batch_size: int | None = None) -> None:
        self.feature_shape, self.dtype, self.node, self.index, self.name = tuple(shape), dtype, node, index, name
        self.batch_size = batch_size

    def __repr__(self) -> str:
        return f"<KerasTensor shape={self.shape}>"

    @property
    def shape(self) -> tuple:
        return (self.batch_size, *self.feature_shape)

    @property
    def ndim(self) -> int:
        return len(self.feature_shape) + 1

    # Python's operators record Keras's operations (``x[:, -1]`` is GetItem, ``x + 1`` Add, ``1 - x`` Subtract), as on
    # Keras's KerasTensor (the table below); ``==`` stays identity (Keras's has no ``__eq__`` either)
    __hash__ = object.__hash__


def _operator(op: str, reflected: bool = False, unary: bool = False):
    def method(self, *other):
        from rnnkit.keras import ops

        args = (self,) if unary else (other[0], self) if reflected else (self, other[0])
        return getattr(ops, op)(*args)
    return method


OPERATORS = {"getitem": "get_item", "add": "add", "sub": "subtract", "mul": "multiply", "truediv": "true_divide",
             "floordiv": "floor_divide", "mod": "mod", "pow": "power", "matmul": "matmul", "lt": "less",
             "le": "less_equal", "gt": "greater", "ge": "greater_equal", "ne": "not_equal", "and": "logical_and",
             "or": "logical_or", "xor": "logical_xor"}
REFLECTED = ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or", "xor")
for _name, _op in OPERATORS.items():
    setattr(KerasTensor, f"__{_name}__", _operator(_op))
    if _name in REFLECTED:
        setattr(KerasTensor, f"__r{_name}__", _operator(_op, reflected=True))
for _name, _op in {"neg": "negative", "abs": "absolute", "invert": "logical_not"}.items():
    setattr(KerasTensor, f"__{_name}__", _operator(_op, unary=True))
del _name, _op


def Input(shape=None, batch_size: int | None = None, dtype="float32", name: str | None = None,  # noqa: N802
          batch_shape=None, **kwargs) -> KerasTensor:
    """``keras.Input(shape, batch_size=None, dtype, name, batch_shape=None)``: the model's entry point; ``shape``
    excludes the batch axis. A fixed ``batch_size`` is what a ``stateful`` recurrent layer after it needs."""
    unknown = set(kwargs) - {"sparse", "tensor", "optional", "ragged"}
    if unknown:
        raise TypeError(f"Input: unexpected argument(s) {sorted(unknown)}")
    if batch_shape is not None:
        if shape is not None or batch_size is not None:
            raise ValueError("Input: give either shape (and batch_size) or batch_shape, not both")
        batch_size, shape = batch_shape[0], tuple(batch_shape[1:])
    if shape is None:
        raise ValueError("Input needs a shape (without the batch axis) or a batch_shape")
    if batch_size is not None and (not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1):
        raise ValueError(f"Input: batch_size must be a positive integer or None, got {batch_size!r}")
    dt = {"float32": torch.float32, "float64": torch.float64, "int32": torch.int64, "int64": torch.int64,
          "string": STRING, "str": STRING, str: STRING}.get(dtype)
    if dt is None:
        raise ValueError(f"unsupported Input dtype {dtype!r}")
    return KerasTensor(tuple(shape), dt, node=None, name=name or unique_name("input_layer"), batch_size=batch_size)


_serials = itertools.count()


class Node:
    """One call of ``layer`` on symbolic ``inputs`` (and keyword arguments, e.g. ``initial_state``); ``serial`` orders
    every node ever made (a layer's nodes in the order it was called, as Keras numbers them in a saved model)."""

    def __init__(self, layer, inputs, kwargs: dict, args: tuple = ()) -> None:
        self.layer, self.inputs, self.kwargs, self.args = layer, inputs, kwargs, tuple(args)
        self.outputs: list[KerasTensor] = []
        self.serial = next(_serials)

    @property
    def input_tensors(self) -> list[KerasTensor]:
        """Every KerasTensor the call read — its further positional arguments' (a MultiHeadAttention's value) and
        keyword arguments' too (Keras's ``node.input_tensors``)."""
        return [t for v in (self.inputs, *self.args, *self.kwargs.values())
                for t in (v if isinstance(v, (list, tuple)) else [v]) if isinstance(t, KerasTensor)]


def inbound_nodes(layer) -> list[Node]:
    """The symbolic calls of ``layer``, in order (Keras's ``layer._inbound_nodes``)."""
    return layer.__dict__.setdefault("_inbound_nodes", [])


def node_attribute(layer, attr: str):
    """Keras's ``layer.input`` / ``layer.output``: the tensors of the layer's first call (one, or a list)."""
    nodes = inbound_nodes(layer)
    if not nodes:
        raise AttributeError(f"The layer {layer.name} has never been called and thus has no defined {attr}.")
    values = nodes[0].input_tensors if attr == "input" else nodes[0].outputs
    return values[0] if len(values) == 1 else list(values)


def _dummy(kt: KerasTensor, free: int = 3) -> torch.Tensor:
    """Zeros of the symbolic shape: the Input's batch size (or 2), and ``free`` steps on an axis left free (None)."""
    return torch.zeros((kt.batch_size or 2, *(free if d is None else d for d in kt.feature_shape)), dtype=kt.dtype)


def _has_free_axis(x) -> bool:
    if isinstance(x, KerasTensor):
        return None in x.feature_shape
    return isinstance(x, (list, tuple, dict)) and any(_has_free_axis(v) for v in (x.values() if isinstance(x, dict)
                                                                                   else x))


def _concrete(x, free: int):
    if isinstance(x, KerasTensor):
        return _dummy(x, free)
    if isinstance(x, (list, tuple)) and x and all(isinstance(t, KerasTensor) for t in x):
        return [_dummy(t, free) for t in x]
    if isinstance(x, (list, tuple)) and any(isinstance(t, KerasTensor) for t in flat_tensors(x)):
        return type(x)(_concrete(t, free) for t in x)  # an operation's mixed arguments ([tensor, 1.0])
    return x


def flat_tensors(x) -> list[KerasTensor]:
    """The KerasTensors in an argument (nested lists, tuples and dicts searched)."""
    if isinstance(x, KerasTensor):
        return [x]
    if isinstance(x, dict):
        x = list(x.values())
    return [t for v in x for t in flat_tensors(v)] if isinstance(x, (list, tuple)) else []


def _flat_shapes(o) -> list[tuple]:
    return [s for v in o for s in _flat_shapes(v)] if isinstance(o, (list, tuple)) else [tuple(o.shape)]


def _shape_text(x) -> str:
    if isinstance(x, KerasTensor):
        return str((None, *x.feature_shape))
    return ", ".join(_shape_text(t) for t in x)


def _stateful(layer) -> bool:
    return bool(getattr(layer, "stateful", False) or getattr(getattr(layer, "forward_layer", None), "stateful", False))


def _string_call(layer, inputs):
    """A string preprocessing layer on a string Input: its output from ``compute_output_shape`` (no data to run on) —
    a stand-in tensor of that shape and dtype, and the axes left free (None)."""
    if not getattr(layer, "takes_strings", False) or not isinstance(inputs, KerasTensor):
        raise ValueError(f"layer {layer.name!r} ({type(layer).__name__}) cannot take a string input: strings go "
                         "through TextVectorization or StringLookup first")
    shape = layer.compute_output_shape(inputs.shape)
    stand_in = torch.empty(tuple(inputs.batch_size or 2 if i == 0 else 3 if d is None else d
                                 for i, d in enumerate(shape)), dtype=layer.output_dtype)
    return stand_in, [tuple(i for i, d in enumerate(shape) if d is None and i > 0)]


def symbolic_call(layer, inputs, kwargs: dict, args: tuple = ()):
    """Build ``layer`` on zeros of the symbolic shape (the Input's batch size, or 2) and return KerasTensor(s) for its
    output(s); ``args``: further positional inputs (``MultiHeadAttention(query, value)``). A stateful layer needs a
    fixed batch size (``Input(batch_size=...)``), as in Keras, and starts from zeros. A string Input's layer reports
    its output's shape instead (``_string_call``)."""
    batch = flat_tensors([inputs, list(args), kwargs])[0].batch_size
    if any(t.dtype == STRING for t in flat_tensors([inputs, list(args), kwargs])):
        out, free = _string_call(layer, inputs)
        return _record(layer, inputs, kwargs, args, out, free, batch)
    if _stateful(layer) and batch is None:
        raise ValueError(f"When using `stateful=True` in a RNN ({layer.name!r}), the batch size must be static: give "
                         "the model's Input a batch_size (keras.Input(shape, batch_size=...)) or the first layer "
                         "batch_input_shape")
    with torch.no_grad():
        out = layer(_concrete(inputs, 3), *[_concrete(a, 3) for a in args], **{k: _concrete(v, 3) for k, v in
                                                                                 kwargs.items()})
        free = []  # output axes that follow an input axis left free (None, e.g. time): they change with its length
        if _has_free_axis(inputs) or _has_free_axis(kwargs) or _has_free_axis(list(args)):
            try:
                again = layer(_concrete(inputs, 4), *[_concrete(a, 4) for a in args],
                              **{k: _concrete(v, 4) for k, v in kwargs.items()})
            except (ValueError, RuntimeError) as e:
                raise ValueError(f"layer {layer.name!r} needs its input's size on every axis it has weights for; got "
                                 f"shape {_shape_text(inputs)} (None: any size) — {e}") from None
            free = [tuple(i for i, (a, b) in enumerate(zip(s1, s2)) if a != b)
                    for s1, s2 in zip(_flat_shapes(out), _flat_shapes(again))]
    if _stateful(layer):
        layer.reset_states()
    return _record(layer, inputs, kwargs, args, out, free, batch)


def _record(layer, inputs, kwargs: dict, args: tuple, out, free: list, batch):
    """The call as a ``Node`` of ``layer``, and KerasTensors for its outputs ``out`` (``free``: their axes that follow
    an input axis left free)."""
    layer._losses = []
    node = Node(layer, inputs, kwargs, args)
    inbound_nodes(layer).append(node)
    if getattr(layer, "keras_operation", False):
        pass  # an operation: nothing built
    elif isinstance(inputs, (list, tuple)):  # a merge layer's: one shape per input, as Keras's build_config
        layer.build_input_shape = [(None, *t.feature_shape) for t in inputs]
    else:
        layer.build_input_shape = (None, *inputs.feature_shape)
    def symbolic(o):  # the output's structure (nested lists for stacked cells' states), KerasTensors numbered flat
        if isinstance(o, (list, tuple)):
            return [symbolic(v) for v in o]
        axes = free[len(node.outputs)] if free else ()
        shape = tuple(None if i in axes else n for i, n in enumerate(o.shape))[1:]
        node.outputs.append(KerasTensor(shape, o.dtype, node, len(node.outputs), batch_size=batch))
        return node.outputs[-1]
    return symbolic(out)
