"""``Model``: the functional ``Model(inputs, outputs)`` and subclassed models — the graph, weights, summary,
configs and saving; compile / fit / evaluate / predict come from ``rnnkit.keras.trainer``, ``Sequential`` from
``rnnkit.keras.sequential``."""

from __future__ import annotations

import torch
from torch import nn

from rnnkit.keras.backend import unique_name
from rnnkit.keras.layers.base import (
    KerasTensor,
    Layer,
    _call_takes,
    _flatten_tensors,
    as_list,
    flatten,
    symbolic_call,
)
from rnnkit.keras.layers.input_layer import InputLayer
from rnnkit.keras.layers.symbolic import flat_tensors
from rnnkit.keras.model_inputs import adjust_rank, model_inputs, prefill
from rnnkit.keras.summary import print_summary
from rnnkit.keras.trainer import Trainer


def _nesting(outputs, counter=None):
    """The nested structure of ``outputs`` with each leaf replaced by its index in the flat list."""
    top = counter is None
    counter = counter if counter is not None else iter(range(10**9))
    if isinstance(outputs, (list, tuple)):
        if len(outputs) == 1 and not top:  # Keras returns a nested one-element list as its element (a GRU's state)
            return _nesting(outputs[0], counter)
        return [_nesting(o, counter) for o in outputs]
    return next(counter)


def _nest(flat: list, nesting):
    """``flat`` put back into ``nesting``'s structure (as Keras returns a model's nested outputs)."""
    if isinstance(nesting, list):
        return [_nest(flat, n) for n in nesting]
    return flat[nesting]


def _tracked(module: nn.Module):
    for child in module.children():
        if isinstance(child, (Layer, Model)):
            yield child
        elif isinstance(child, (nn.ModuleList, nn.ModuleDict, nn.Sequential)):
            yield from _tracked(child)


class Model(Trainer, nn.Module):
    """The functional API: ``Model(inputs=Input(...), outputs=layer(...)(...))``."""

    def __init__(self, inputs=None, outputs=None, name: str | None = None) -> None:
        super().__init__()
        self.name = name or unique_name("functional" if inputs is not None else "model")
        self.compiled = False
        self.stop_training = False
        self.optimizer = None
        if inputs is not None:
            self._init_graph(as_list(inputs), outputs)

    # --- the graph -------------------------------------------------------------------------------------------------
    def _init_graph(self, inputs: list[KerasTensor], outputs) -> None:
        self.graph_inputs = inputs
        self.multi_output = isinstance(outputs, (list, tuple))
        self.graph_outputs = flatten(outputs)  # nested outputs (stacked cells' states) are run flat, predicted nested
        self.output_nesting = _nesting(outputs) if any(isinstance(o, (list, tuple)) for o in as_list(outputs)) \
            else None
        # Keras's order (its map_graph): each node's depth is its longest path to an output; layers run and are
        # listed (weights too: get_weights/set_weights) by decreasing depth, ties in the order a depth-first walk
        # from the outputs first meets them
        order: list = []  # post-order: every node after the nodes it reads
        found: dict[int, int] = {}  # id(layer), or id(Input) for its InputLayer → when the walk first met it
        reads: dict[int, list[KerasTensor]] = {}  # id(node) → the tensors it reads (keyword ones too)

        def visit(t: KerasTensor):
            node = t.node
            found.setdefault(id(t) if node is None else id(node.layer), len(found))
            if node is None or id(node) in reads:
                return
            reads[id(node)] = node.input_tensors
            for parent in reads[id(node)]:
                visit(parent)
            order.append(node)

        for t in self.graph_outputs:
            visit(t)
        depth: dict[int, int] = {}  # id(node), or id(Input): one more than its deepest reader's; outputs' 0
        for node in reversed(order):  # readers before the nodes they read
            d = depth.setdefault(id(node), 0)
            for t in reads[id(node)]:
                key = id(t) if t.node is None else id(t.node)
                depth[key] = max(depth.get(key, 0), d + 1)
        layer_depth = {id(t): depth.get(id(t), 0) for t in inputs}
        for node in order:
            layer_depth[id(node.layer)] = max(layer_depth.get(id(node.layer), 0), depth[id(node)])
        self.nodes = sorted(order, key=lambda n: (-depth[id(n)], found[id(n.layer)]))
        unique = []
        for n in self.nodes:
            if all(n.layer is not u for u in unique):
                unique.append(n.layer)
        entries = [(layer, id(layer)) for layer in unique] + [(InputLayer(t), id(t)) for t in inputs]
        entries.sort(key=lambda e: (-layer_depth[e[1]], found.get(e[1], len(found))))
        unique = [layer for layer, _ in entries]
        self.model_layers = nn.ModuleList(unique)

    @property
    def layers(self) -> list[Layer]:
        """The model's layers: a functional model's in graph order; a subclassed model's as Keras tracks them — the
        layers (and models) kept as its attributes, directly or in a list, in the order they were set."""
        if "model_layers" in self._modules:
            return [op for op in self.model_layers if not getattr(op, "keras_operation", False)]
        return list(_tracked(self))

    @property
    def operations(self) -> list:
        """Keras's ``model.operations``: the layers and the operations (``x[:, -1]``, ``ops.mean``) of a functional
        model, in graph order — ``layers`` leaves the operations out, as Keras's does."""
        return list(self.model_layers) if "model_layers" in self._modules else self.layers

    def __setattr__(self, name: str, value) -> None:
        # Keras tracks layers kept in a list attribute (self.blocks = [Dense(8), Dense(8)]); torch registers a list's
        # modules only in a ModuleList — without it their weights would be missing from training and saving
        if isinstance(value, (list, tuple)) and value and all(isinstance(v, nn.Module) for v in value):
            value = nn.ModuleList(value)
        super().__setattr__(name, value)

    def _graph(self, what: str) -> list[KerasTensor]:
        if "graph_inputs" not in self.__dict__:
            raise AttributeError(f"model {self.name!r} has no {what}: it was not built from Inputs (a subclassed or "
                                 "not yet built model)")
        return list(self.graph_inputs if what == "inputs" else self.graph_outputs)

    @property
    def inputs(self) -> list[KerasTensor]:
        """Keras's ``model.inputs``: the symbolic Input tensors (``model.input``: the one, or the list)."""
        return self._graph("inputs")

    @property
    def outputs(self) -> list[KerasTensor]:
        return self._graph("outputs")

    @property
    def input(self):
        xs = self.inputs
        return xs[0] if len(xs) == 1 else xs

    @property
    def output(self):
        xs = self.outputs
        if self.output_nesting is not None:
            return _nest(xs, self.output_nesting)
        return xs if self.multi_output else xs[0]

    @property
    def input_shape(self):
        """Keras's shapes, batch axis first (None unless the Input fixed it); a list for several inputs/outputs."""
        shapes = [t.shape for t in self.inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        shapes = [t.shape for t in self.outputs]
        return shapes if self.multi_output else shapes[0]

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """A layer by ``name`` or by ``index`` in ``layers`` (Keras's ``get_layer``)."""
        if (name is None) == (index is None):
            raise ValueError("Provide only a layer name or a layer index: give one of name= or index=")
        if index is not None:
            if not -len(self.layers) <= index < len(self.layers):
                raise ValueError(f"Was asked to retrieve layer at index {index} but model only has "
                                 f"{len(self.layers)} layers.")
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name}. Existing layers are: {[layer.name for layer in self.layers]}.")

    def call(self, inputs, training=False):
        xs = as_list(inputs)
        if len(xs) != len(self.graph_inputs):
            raise ValueError(f"model {self.name!r} takes {len(self.graph_inputs)} input(s), got {len(xs)}")
        env: dict[int, tuple] = {}
        for kt, x in zip(self.graph_inputs, xs):
            if prefill(self, kt, x, env):  # texts vectorized before batching (model_inputs.py)
                continue
            x = adjust_rank(x, kt)
            if x.ndim != kt.ndim or any(d is not None and d != n for d, n in zip(kt.feature_shape, x.shape[1:])):
                raise ValueError(f"model {self.name!r}: input of shape {tuple(x.shape)} does not fit Input shape "
                                 f"(None, {', '.join(map(str, kt.feature_shape))})")
            env[id(kt)] = (x, None)
        def value(v):  # a recorded argument: the tensor computed for it (in lists too), or as it was (a number)
            if isinstance(v, KerasTensor):
                return env[id(v)][0]
            if isinstance(v, (list, tuple)) and flat_tensors(v):
                return [value(t) for t in v] if all(isinstance(t, KerasTensor) for t in v) else type(v)(
                    value(t) for t in v)
            return v
        for node in self.nodes:
            if node.outputs and all(id(o) in env for o in node.outputs):
                continue
            ins = node.inputs
            if isinstance(ins, KerasTensor):
                args, mask = env[id(ins)]
            elif isinstance(ins, (list, tuple)) and ins and all(isinstance(t, KerasTensor) for t in ins):
                args, masks = [env[id(t)][0] for t in ins], [env[id(t)][1] for t in ins]
                merges = getattr(node.layer, "merges_masks", False) and any(m is not None for m in masks)
                mask = masks if merges else None  # a merge layer joins its inputs' masks
            else:  # an operation's first argument: a number, or tensors mixed with numbers
                args, mask = value(ins), None
            if any(isinstance(v, KerasTensor) or (isinstance(v, (list, tuple)) and v and isinstance(v[0], KerasTensor))
                   for v in node.kwargs.values()):
                mask = None  # as Keras 3: a layer called with tensor keyword arguments (initial_state) gets no mask
            kwargs = {k: value(v) for k, v in node.kwargs.items()}
            for name, t in zip(getattr(node.layer, "argument_masks", ()), node.args):  # e.g. a value's mask
                if isinstance(t, KerasTensor) and env[id(t)][1] is not None and name not in kwargs:
                    kwargs[name] = env[id(t)][1]
            out = node.layer(args, *[value(a) for a in node.args], mask=mask, training=training, **kwargs)
            out_mask = node.layer.compute_mask(args, mask)
            outs = _flatten_tensors(out)
            masks = out_mask if isinstance(out_mask, list) else [out_mask] * len(outs)
            for kt in node.outputs:
                env[id(kt)] = (outs[kt.index], masks[kt.index] if kt.index < len(masks) else None)
        results = [env[id(t)][0] for t in self.graph_outputs]
        return results if self.multi_output else results[0]

    def _run(self, inputs, training: bool):
        """``call``, given ``training`` where its signature takes it (Keras's rule: a subclass's ``call(self, x)``
        works)."""
        return self.call(inputs, training=training) if _call_takes(type(self), "training") else self.call(inputs)

    def forward(self, inputs, training=False):
        return self._run(inputs, training)

    def __call__(self, inputs, training=False, mask=None):
        """On data: the model's outputs. On KerasTensors: the model used as a layer of another model (Keras's
        nesting — a pretrained encoder inside a new model), one node of that model's graph."""
        if isinstance(inputs, KerasTensor) or (isinstance(inputs, (list, tuple)) and inputs
                                               and isinstance(inputs[0], KerasTensor)):
            return symbolic_call(self, inputs, {})
        return self._run(model_inputs(self, inputs), training)

    def compute_mask(self, inputs, mask):
        return None

    # --- weights ------------------------------------------------------------------------------------------------
    @property
    def weights(self):
        return [w for layer in self.layers for w in layer.weights]

    def get_weights(self):
        return [w for layer in self.layers for w in layer.get_weights()]

    def set_weights(self, values):
        values = list(values)
        for layer in self.layers:
            n = len(layer.weights)
            layer.set_weights(values[:n])
            values = values[n:]
        if values:
            raise ValueError(f"set_weights: {len(values)} array(s) left over")

    def count_params(self) -> int:
        return sum(w.numel() for w in self.weights)

    @property
    def losses(self) -> list[torch.Tensor]:
        """Every layer's ``losses`` (regularization penalties, ``add_loss``): ``fit``/``evaluate`` add their sum."""
        return [loss for layer in self.layers for loss in layer.losses]

    @property
    def trainable(self) -> bool:
        return self.__dict__.get("_trainable", True)

    @trainable.setter
    def trainable(self, value: bool) -> None:
        """``model.trainable = False`` freezes every layer (a pretrained encoder inside a new model), as Keras."""
        self.__dict__["_trainable"] = bool(value)
        for layer in self.layers:
            layer.trainable = value

    @property
    def trainable_weights(self):
        return [w for layer in self.layers for w in layer.trainable_weights]

    @property
    def non_trainable_weights(self):
        return [w for layer in self.layers for w in layer.non_trainable_weights]

    # Keras 3's names for the same lists (custom training loops read ``trainable_variables``)
    variables = weights
    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights

    def apply_constraints(self) -> None:
        for layer in self.layers:
            layer.apply_constraints()

    def _all_layers(self) -> list:
        return [sub for layer in self.layers for sub in layer._all_layers()]

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False, show_trainable=False,
                layer_range=None) -> None:
        """Keras's table of the layers (and operations), their output shapes, parameter counts and connections
        (``summary.py``)."""
        print_summary(self, line_length, positions, print_fn, expand_nested, show_trainable, layer_range)

    def _build_on(self, xs: list[torch.Tensor]) -> None:
        """Build before training on data ``xs``: a subclassed model's layers build on a first call (their weights
        must exist before the optimizer is made)."""
        with torch.no_grad():
            sample = [t[:2] for t in xs]
            self._run(sample if len(sample) > 1 else sample[0], False)

    def build(self, input_shape=None) -> None:
        """Keras's ``model.build(input_shape)`` (batch axis first): a subclassed model's layers build on zeros of
        that shape; a functional model is built already."""
        if "graph_inputs" in self.__dict__:
            return
        if input_shape is None:
            raise ValueError("You must provide an `input_shape` argument.")
        shapes = input_shape if isinstance(input_shape, list) else [input_shape]
        self._build_on([torch.zeros((2, *(1 if d is None else d for d in tuple(s)[1:]))) for s in shapes])

    def export(self, filepath, format="tf_saved_model", verbose=None, input_signature=None, **kwargs):  # noqa: A002
        """Keras's ``export``: format "onnx" or "torch" (``rnnkit/keras/export.py``), any sequence length."""
        from rnnkit.keras.export import export

        export(self, filepath, format, verbose, input_signature, **kwargs)

    # --- configs and saving ------------------------------------------------------------------------------------
    _config_class = "Functional"

    def get_config(self) -> dict:
        """Keras's model config: its layers and how they connect (JSON; ``from_config`` rebuilds it, new weights)."""
        from rnnkit.keras.saving import model_config

        if "graph_inputs" not in self.__dict__:
            raise NotImplementedError(f"model {self.name!r} is not built from Inputs (a subclassed or unbuilt model): "
                                      "it has no config of layers; override get_config, or build it first")
        return model_config(self)["config"]

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None):
        from rnnkit.keras.saving import model_from_config

        return model_from_config({"class_name": cls._config_class, "config": config}, custom_objects)

    def to_json(self, **kwargs) -> str:
        """The architecture as Keras's JSON (``rnnkit.keras.models.model_from_json`` reads it; so does Keras's)."""
        import json

        from rnnkit.keras.saving import model_config

        self.get_config()  # the same refusal for a model without a graph
        return json.dumps(model_config(self), **kwargs)

    def save(self, filepath) -> None:
        from rnnkit.keras.saving import save_model

        save_model(self, filepath)

    def save_weights(self, filepath) -> None:
        from rnnkit.keras.saving import save_weights

        save_weights(self, filepath)

    def load_weights(self, filepath) -> None:
        from rnnkit.keras.saving import load_weights

        load_weights(self, filepath)
