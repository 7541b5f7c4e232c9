"""``model.summary()``: Keras's table, drawn by ``rich`` as Keras draws it — each layer's (and operation's) name and
type, output shape (batch axis first: None unless the Input fixed it; ? for a layer never called) and parameter count
(``0 (unbuilt)`` before it is built); "Connected to" (``layer[node][tensor]`` of each input) for a functional model
that is not a chain; a "Trainable" column with ``show_trainable``; nested models' layers with ``expand_nested``; a
``layer_range`` of names (regular expressions); then the total, trainable, non-trainable (and optimizer) counts with
their sizes. ``print_fn`` receives the whole text at once, as Keras's does."""

from __future__ import annotations

import math
import re
import shutil

import numpy as np

from rnnkit.keras.layers.input_layer import InputLayer
from rnnkit.keras.layers.symbolic import inbound_nodes


def _number(x) -> str:
    return f"[color(45)]{x}[/]" if x is None else f"[color(34)]{x}[/]"


def _bold(x, color=None) -> str:
    return f"[bold][color({color})]{x}[/][/]" if color else f"[bold]{x}[/]"


def readable_size(size: float) -> str:
    """Bytes as Keras writes them: 540.00 B, 1.53 KB, …"""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size / 1024 < 1:
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} PB"


def _count(weights) -> tuple[int, float]:
    """(parameters, bytes) of distinct weights."""
    unique = {id(w): w for w in weights}.values()
    return (sum(math.prod(w.shape) for w in unique),
            sum(math.prod(w.shape) * w.element_size() for w in unique))


def _shape(shape) -> str:
    return f"({', '.join(_number(d) for d in shape)})"


def _output_shape(layer) -> str:
    if isinstance(layer, InputLayer):
        return _shape(layer.batch_shape)
    nodes = inbound_nodes(layer)
    if not nodes:
        return "?"
    shapes = [_shape(t.shape) for t in nodes[-1].outputs]  # Keras shows the layer's last call
    return shapes[0] if len(shapes) == 1 else "[" + ", ".join(shapes) + "]"


def is_functional(model) -> bool:
    """A model built from Inputs (Keras's ``Functional``), not a ``Sequential`` or a subclassed one."""
    from rnnkit.keras.sequential import Sequential

    return "nodes" in getattr(model, "__dict__", {}) and not isinstance(model, Sequential)


def listed_layers(model) -> list:
    """The layers Keras lists for a model (summary rows, graph boxes): a functional model's operations, InputLayers
    included; a Sequential's or subclassed model's layers, without an InputLayer."""
    if is_functional(model):
        return model.operations
    return [layer for layer in model.layers if not isinstance(layer, InputLayer)]


def _sequential_like(model) -> bool:
    """Keras's test: a chain — one input, every call reading one tensor, no tensor read twice, no layer called
    twice — needs no "Connected to" column."""
    if not is_functional(model):
        return True
    nodes = model.nodes
    read, layers = set(), set()
    for node in nodes:
        tensors = node.input_tensors
        if len(tensors) > 1 or any(id(t) in read for t in tensors) or id(node.layer) in layers:
            return False
        read.update(id(t) for t in tensors)
        layers.add(id(node.layer))
    return len(model.graph_inputs) == 1


def _connections(layer, model) -> str:
    if isinstance(layer, InputLayer):
        return "-"
    ours = {id(n) for n in model.nodes}
    out = []
    for node in inbound_nodes(layer):
        if id(node) not in ours:
            continue
        for t in node.input_tensors:
            if t.node is None:  # an Input: its InputLayer's only node
                out.append(f"{t.name}[{_number(0)}][{_number(0)}]")
            else:
                index = inbound_nodes(t.node.layer).index(t.node)
                out.append(f"{t.node.layer.name}[{_number(index)}][{_number(t.index)}]")
    return ", ".join(out) or "-"


def layer_kind(layer) -> str:
    from rnnkit.keras.model import Model  # (model.py imports this module)

    if type(layer) is Model and "graph_inputs" in layer.__dict__:
        return "Functional"
    return getattr(layer, "class_name", type(layer).__name__)


def _layer_range(layers, layer_range) -> tuple[int, int]:
    if layer_range is None:
        return 0, len(layers)
    if len(layer_range) != 2:
        raise ValueError(f"layer_range must be a list or tuple of length 2. Received: layer_range = {layer_range} "
                         f"of length {len(layer_range)}")
    if not all(isinstance(name, str) for name in layer_range):
        raise ValueError(f"layer_range should contain string type only. Received: {layer_range}")
    first = [i for i, layer in enumerate(layers) if re.match(layer_range[0], layer.name)]
    last = [i for i, layer in enumerate(layers) if re.match(layer_range[1], layer.name)]
    if not first or not last:
        raise ValueError(f"Passed layer_names do not match the layer names in the model. Received: {layer_range}")
    if min(first) > max(last):
        return min(last), max(first) + 1
    return min(first), max(last) + 1


def print_summary(model, line_length=None, positions=None, print_fn=None, expand_nested=False, show_trainable=False,
                  layer_range=None) -> None:
    import rich.console
    import rich.markup
    import rich.table

    from rnnkit.keras.io_utils import is_interactive_logging_enabled, print_msg
    from rnnkit.keras.optimizer_state import keras_variables

    if print_fn is None and not is_interactive_logging_enabled():  # Keras: to the log
        print_fn = print_msg

    chain = _sequential_like(model)
    if chain:
        default, positions = 88, positions or [0.45, 0.80, 1.0]
        header, align = ["Layer (type)", "Output Shape", "Param #"], ["left", "left", "right"]
    else:
        default, positions = 108, positions or [0.3, 0.56, 0.74, 1.0]
        header, align = ["Layer (type)", "Output Shape", "Param #", "Connected to"], ["left", "left", "right", "left"]
    if show_trainable:
        default += 12
        positions = [p * 0.90 for p in positions] + [1.0]
        header, align = header + ["Trainable"], align + ["center"]
    line_length = line_length or min(default, shutil.get_terminal_size().columns - 4)
    widths, current = [], 0
    for p in positions:
        width = int(p * line_length) - current
        if width < 4:
            raise ValueError("Insufficient console width to print summary.")
        widths.append(width)
        current += width
    table = rich.table.Table(*[rich.table.Column(h, justify=a, width=w) for h, a, w in zip(header, align, widths)],
                             width=line_length, show_lines=True)

    def rows(layer, level=0):
        prefix = "   " * level + "└ " if level else ""
        name = rich.markup.escape(f"{prefix}{layer.name}") + f" ([color(33)]{rich.markup.escape(layer_kind(layer))}[/])"
        built = getattr(layer, "built", True)
        params = _number(f"{layer.count_params():,}") if built else f"{_number(0)} (unbuilt)"
        fields = [name, _output_shape(layer), params]
        if not chain:
            fields.append(_connections(layer, model))
        if show_trainable:
            fields.append((_bold("Y", 34) if layer.trainable else _bold("N", 9)) if list(layer.weights) else _bold("-"))
        out = [fields]
        if expand_nested and getattr(layer, "layers", None):
            for sub in layer.layers:
                out += rows(sub, level + 1)
        return out

    layers = listed_layers(model)
    start, stop = _layer_range(layers, layer_range)
    for layer in layers[start:stop]:
        for row in rows(layer):
            table.add_row(*row)

    trainable, trainable_bytes = _count(model.trainable_weights)
    fixed, fixed_bytes = _count(model.non_trainable_weights)
    slots = keras_variables(model) if getattr(model, "optimizer", None) is not None else []
    opt = sum(int(np.size(v)) for v in slots)
    opt_bytes = 4 * opt  # Keras's iteration count is int32, the rest float32
    console = rich.console.Console(highlight=False, **({"force_terminal": False, "color_system": None}
                                                        if print_fn else {}))
    if print_fn:
        console.begin_capture()
    console.print(_bold(f'Model: "{rich.markup.escape(model.name)}"'))
    console.print(table)
    for label, n, size in (("Total", trainable + fixed + opt, trainable_bytes + fixed_bytes + opt_bytes),
                           ("Trainable", trainable, trainable_bytes), ("Non-trainable", fixed, fixed_bytes)):
        console.print(_bold(f" {label} params: ") + _number(f"{n:,}") + f" ({readable_size(size)})")
    if slots:  # once the optimizer has made its first update
        console.print(_bold(" Optimizer params: ") + _number(f"{opt:,}") + f" ({readable_size(opt_bytes)})")
    if print_fn:
        print_fn(console.end_capture())
