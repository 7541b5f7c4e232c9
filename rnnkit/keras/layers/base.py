"""The Keras layer protocol on torch: lazy ``build`` on first call, named weights in Keras order, masks, symbolic inputs.

A layer is a ``torch.nn.Module`` whose parameters are Keras's variables in Keras's layout (``kernel`` is (in, units), as
in Keras), so ``get_weights()``/``set_weights()`` exchange lists with real Keras unchanged. Calling a layer on an
``Input`` (a ``KerasTensor``) builds it at once and returns a new ``KerasTensor`` — that is how ``Model(inputs, outputs)``
records a graph.
"""

from __future__ import annotations

import copy
import functools
import inspect

import numpy as np
import torch
from torch import nn

from rnnkit.keras import constraints, initializers, regularizers
from rnnkit.keras.backend import snake, unique_name
from rnnkit.keras.layers.autoconfig import constructor_config
from rnnkit.keras.layers.input_spec import InputSpec, check_inputs  # noqa: F401 (keras.layers.InputSpec)
from rnnkit.keras.layers.symbolic import (  # noqa: F401 (Input, Node: their home)
    Input,
    KerasTensor,
    Node,
    inbound_nodes,
    node_attribute,
    symbolic_call,
)
from rnnkit.keras.layers.variable import Variable, _rebuild_variable  # noqa: F401 (pickles name base's)

DTYPE_POLICY = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": None}


def check_dtype(dtype, owner: str) -> None:
    """rnnkit.keras computes in float32 only: other dtype policies (mixed_float16, float64 layers) are refused."""
    name = dtype.get("config", {}).get("name") if isinstance(dtype, dict) else dtype
    if name not in (None, "float32"):
        raise ValueError(f"{owner}: dtype {name!r} is not supported — rnnkit.keras layers compute in float32")


@functools.cache
def _call_takes(cls, arg: str) -> bool:
    params = inspect.signature(cls.call).parameters
    return arg in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def as_list(v) -> list:
    """One value or several (a list or tuple) as a list: Keras's arguments that take either."""
    return list(v) if isinstance(v, (list, tuple)) else [v]


def flatten(nested) -> list:
    """The leaves of nested lists/tuples, in order (``[out, [h1, c1], h2]`` → ``[out, h1, c1, h2]``)."""
    if isinstance(nested, (list, tuple)):
        return [leaf for item in nested for leaf in flatten(item)]
    return [nested]


def _flatten_tensors(x) -> list:
    return [t for t in flatten(x) if isinstance(t, torch.Tensor)]


def as_tensors(x, ids: bool = False, device: torch.device | None = None):
    """Keras's NumPy-in: arrays (and nested lists/tuples of them — several inputs) become torch tensors. Floating
    arrays become float32 (Keras's default float); integer ones stay integer for a layer that reads ids
    (``ids=True``: ``Embedding``) and become float32 for the rest (Keras casts them to the layer's compute dtype).
    Tensors pass through, integer tensors cast the same way; with ``device`` (where the weights are) everything moves
    there, as Keras's torch backend puts every input on its device."""
    if isinstance(x, (list, tuple)):
        return type(x)(as_tensors(v, ids, device) for v in x)
    if isinstance(x, (np.ndarray, np.generic)):
        x = torch.from_numpy(np.ascontiguousarray(x))
    if isinstance(x, torch.Tensor):
        if device is not None and x.device != device:
            x = x.to(device)
        if x.is_floating_point():
            return x.float() if x.dtype == torch.float64 else x
        if not ids:
            return x.float()
        return x.long() if x.dtype != torch.int64 else x
    return x


def weights_device(module: nn.Module) -> torch.device | None:
    """Where ``module``'s weights are (None when it has none yet)."""
    p = next(module.parameters(), None)
    return None if p is None else p.device


def _is_layer(module: nn.Module) -> bool:
    """A layer, or a model (a ``Sequential`` kept in a custom layer — Keras tracks it as one of the layer's)."""
    return isinstance(module, Layer) or callable(getattr(module, "_all_layers", None))


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
                if not self.trainable:  # a frozen layer's weights (its sublayers' too) exist only now
                    self.trainable = False

            cls.build = build

    def __new__(cls, *args, **kwargs):
        layer = super().__new__(cls)
        object.__setattr__(layer, "_auto_config", constructor_config(cls, args, kwargs))  # see autoconfig
        return layer

    def __init__(self, name: str | None = None, input_shape=None, trainable: bool = True, dtype=None,
                 activity_regularizer=None, **kwargs) -> None:
        super().__init__()
        unknown = set(kwargs) - {"input_dim", "batch_input_shape", "batch_size", "autocast"}
        if unknown:
            raise TypeError(f"{type(self).__name__}: unexpected argument(s) {sorted(unknown)}")
        check_dtype(dtype, type(self).__name__)
        self.name = name or unique_name(snake(type(self).__name__))
        if input_shape is None and "input_dim" in kwargs:
            input_shape = (kwargs["input_dim"],)
        self.batch_size_arg = kwargs.get("batch_size")
        if input_shape is None and kwargs.get("batch_input_shape") is not None:
            self.batch_size_arg, input_shape = kwargs["batch_input_shape"][0], kwargs["batch_input_shape"][1:]
        self.input_shape_arg = tuple(input_shape) if input_shape is not None else None
        self._weight_names: list[str] = []
        self._fixed_weights: set[str] = set()  # made with add_weight(trainable=False): never trained
        self.__dict__["_trainable"] = bool(trainable)  # weights and sublayers follow it when built
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.built = False
        self._regularizers: dict[str, object] = {}
        self._constraints: dict[str, object] = {}
        self._losses: list[torch.Tensor] = []

    # --- weights -------------------------------------------------------------------------------------------
    def add_weight(self, shape=None, initializer=None, dtype=None, trainable: bool = True, autocast: bool = True,
                   regularizer=None, constraint=None, aggregation="none", overwrite_with_gradient=False,
                   name: str | None = None, value: torch.Tensor | None = None) -> nn.Parameter:
        """Keras's ``add_weight``: a float32 variable of ``shape`` from ``initializer`` (default glorot_uniform), with an
        optional regularizer (its penalty joins ``losses``) and constraint (applied after each optimizer step)."""
        check_dtype(dtype, f"{self.name}.add_weight")
        shape = tuple(shape or ())
        data = value if value is not None else initializers.get(initializer or "glorot_uniform")(shape)
        p = Variable(torch.as_tensor(data).float().reshape(shape), requires_grad=self.trainable and trainable)
        attr = name or "variable"
        while attr in self._parameters or (attr not in self.__dict__ and hasattr(type(self), attr)):
            attr += "_"
        self.register_parameter(attr, p)
        self._weight_names.append(attr)
        if not trainable:
            self._fixed_weights.add(attr)
        if regularizer is not None:
            self._regularizers[attr] = regularizers.get(regularizer)
        if constraint is not None:
            self._constraints[attr] = constraints.get(constraint)
        return p

    @property
    def trainable(self) -> bool:
        return self.__dict__.get("_trainable", True)

    @trainable.setter
    def trainable(self, value: bool) -> None:
        """Keras's freezing: ``layer.trainable = False`` keeps its weights (and its sublayers') out of training from
        the next ``fit`` — as Keras's, which applies it at the next ``compile``."""
        self.__dict__["_trainable"] = bool(value)
        try:
            fixed = {id(getattr(self, n)) for n in self._fixed_weights}  # add_weight(trainable=False): never trained
            for w in self._own_weights():
                w.requires_grad_(bool(value) and id(w) not in fixed)
            subs = self._sublayers()
        except AttributeError:  # set inside a subclass's __init__ before its weights exist: build() applies it
            subs = []
        for sub in subs:
            sub.trainable = value

    def _own_weights(self) -> list[nn.Parameter]:
        """This layer's own variables (not its sublayers'), in Keras's order."""
        return [getattr(self, n) for n in self._weight_names]

    @property
    def weights(self) -> list[nn.Parameter]:
        return self._own_weights() + [w for sub in self._sublayers() for w in sub.weights]

    def _sublayers(self) -> list[Layer]:
        """The layers this one holds (Keras tracks them): direct children, a list of layers in order."""
        out = []
        for child in self.children():
            out += [child] if _is_layer(child) else [c for c in child.children() if _is_layer(c)]
        return out

    def _all_layers(self) -> list[Layer]:
        return [self] + [s for sub in self._sublayers() for s in sub._all_layers()]

    # --- losses and constraints ---------------------------------------------------------------------------------
    def add_loss(self, loss) -> None:
        """Keras's ``add_loss``: a scalar joined to this call's ``losses`` (cleared at the next call)."""
        self._losses.append(torch.as_tensor(loss))

    @property
    def losses(self) -> list[torch.Tensor]:
        """The penalties of the last call (``add_loss``, activity regularizers) of this layer and the layers in it, then
        the weight regularizers' penalties on the current trainable weights — as Keras orders them."""
        layers = self._all_layers()
        out = [loss for layer in layers for loss in layer._losses]
        for layer in layers:
            for attr, reg in layer._regularizers.items():
                w = getattr(layer, attr)
                if w.requires_grad and layer.trainable:
                    out.append(reg(w))
        return out

    @torch.no_grad()
    def apply_constraints(self) -> None:
        """Project every constrained weight back onto its constraint (Keras does it after each optimizer step)."""
        for layer in self._all_layers():
            for attr, c in layer._constraints.items():
                w = getattr(layer, attr)
                w.copy_(c(w))

    @property
    def trainable_weights(self) -> list[nn.Parameter]:
        return [w for w in self.weights if w.requires_grad] if self.trainable else []

    @property
    def non_trainable_weights(self) -> list[nn.Parameter]:
        return [w for w in self.weights if not w.requires_grad] if self.trainable else list(self.weights)

    # Keras 3's names for the same lists (custom training loops read ``trainable_variables``)
    variables = weights
    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights

    def compute_output_shape(self, input_shape):
        """The output shape(s) for an input shape (batch axis first, ``None`` allowed), found by running a copy of the
        layer on a small batch of zeros — the layer itself is left as it was (unbuilt, its states untouched), as in
        Keras."""
        shape = tuple(input_shape)
        with torch.no_grad():
            alone = {id(inbound_nodes(self)): []}  # a copy without the graphs it was called in
            dtype = torch.long if self.reads_ids else torch.float32
            out = copy.deepcopy(self, alone)(torch.zeros((2, *shape[1:]), dtype=dtype))
        batch = shape[0]
        if isinstance(out, (list, tuple)):
            return [(batch, *o.shape[1:]) for o in out]
        return (batch, *out.shape[1:])

    @property
    def input(self):
        """Keras's ``layer.input``: the symbolic tensor(s) of the layer's first call (``initial_state`` ones too)."""
        return node_attribute(self, "input")

    @property
    def output(self):
        """Keras's ``layer.output``: the symbolic tensor(s) its first call returned — ``Model(model.inputs,
        model.layers[1].output)`` is the model up to that layer (e.g. to read its features)."""
        return node_attribute(self, "output")

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

    # --- Keras's dtype attributes: float32 throughout (dtype_policies.py) ---------------------------------------
    @property
    def dtype_policy(self):
        from rnnkit.keras.dtype_policies import FLOAT32

        return FLOAT32

    dtype = compute_dtype = variable_dtype = input_dtype = property(lambda self: "float32")

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

    def __call__(self, x, *args, mask=None, training=False, **kwargs):
        """Keras's call protocol: builds on first use; ``mask``/``training`` reach ``call`` when its signature takes
        them (so a user's ``call(self, inputs, states)`` works); the activity regularizer's penalty joins ``losses``."""
        spec = self.__dict__.get("input_spec")  # Keras's InputSpec, declared by a (custom) layer
        if isinstance(x, KerasTensor) or (isinstance(x, (list, tuple)) and x and isinstance(x[0], KerasTensor)):
            if spec is not None:
                check_inputs(spec, x, self.name)
            return symbolic_call(self, x, kwargs, args)
        dev = weights_device(self)

        def arrays_in(v):  # arrays (and lists of them) as tensors; every tensor where the weights are
            if isinstance(v, (np.ndarray, list, tuple)):
                return as_tensors(v, device=dev)
            return v.to(dev) if isinstance(v, torch.Tensor) and dev is not None else v
        if spec is not None:
            check_inputs(spec, x, self.name)
        x = as_tensors(x, self.reads_ids, dev)
        args = tuple(arrays_in(a) for a in args)
        mask = as_tensors(mask, ids=True, device=dev) if mask is not None else None
        kwargs = {k: arrays_in(v) for k, v in kwargs.items()}
        self._maybe_build(x)
        if _call_takes(type(self), "mask"):
            kwargs["mask"] = mask
        if _call_takes(type(self), "training"):
            kwargs["training"] = training
        self._losses = []
        out = self.call(x, *args, **kwargs)
        if self.activity_regularizer is not None:
            for t in _flatten_tensors(out):
                loss = self.activity_regularizer(t)
                self._losses.append(loss / t.shape[0] if t.dim() > 0 and t.shape[0] else loss)
        return out

    def forward(self, *args, **kwargs):  # pragma: no cover - layers are called through __call__
        return self.call(*args, **kwargs)

    def get_config(self) -> dict:
        """Keras's config: JSON only (initializers, regularizers, constraints and wrapped layers serialized)."""
        cfg = {"name": self.name, "trainable": self.trainable, "dtype": dict(DTYPE_POLICY)}
        auto = getattr(self, "_auto_config", None)
        if type(self).get_config is Layer.get_config and auto is not None:  # a class that writes no config of its own
            cfg = {**auto, **cfg}
        if self.activity_regularizer is not None:
            cfg["activity_regularizer"] = regularizers.serialize_regularizer(self.activity_regularizer)
        return cfg

    @classmethod
    def from_config(cls, config: dict, custom_objects=None):
        return cls(**config)

    def extra_repr(self) -> str:
        return self.name
