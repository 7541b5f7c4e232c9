"""Keras's ``utils.model_to_dot`` and ``utils.plot_model``: the model as a graph of its layers (pydot's DOT, each node
Keras's HTML-like table — name and class, optionally the activation, input/output shapes, dtype, trainable — and an
edge for each tensor passed between layers), drawn to PNG, SVG or PDF by Graphviz's ``dot`` (Debian's ``graphviz``
package). Nested models are one node, or (``expand_nested``) a dashed cluster of their layers."""

from __future__ import annotations

import os

from rnnkit.keras.layers.input_layer import InputLayer
from rnnkit.keras.layers.symbolic import inbound_nodes
from rnnkit.keras.summary import is_functional, layer_kind, listed_layers


def _pydot():
    try:
        import pydot
    except ImportError as e:
        raise ImportError("You must install pydot (`pip install pydot`) for model_to_dot to work.") from e
    return pydot


def _is_model(layer) -> bool:
    from rnnkit.keras.model import Model

    return isinstance(layer, Model)


def _shapes(layer, attr: str):
    if isinstance(layer, InputLayer):
        return tuple(layer.batch_shape) if attr == "outputs" else None
    nodes = inbound_nodes(layer)
    if not nodes:
        return None
    tensors = nodes[0].input_tensors if attr == "inputs" else nodes[0].outputs
    shapes = [tuple(t.shape) for t in tensors]
    return shapes[0] if len(shapes) == 1 else shapes


def _shape_text(shape) -> str:
    return "?" if shape is None else f"{shape}"


def _activation_name(layer) -> str:
    fn = layer.activation
    from rnnkit.keras.backend import activation_name

    try:
        return activation_name(fn)
    except ValueError:
        return getattr(fn, "__name__", str(fn))


def layer_label(layer, show_layer_names, show_layer_activations, show_dtype, show_shapes, show_trainable) -> str:
    """The HTML-like table Keras draws for a layer."""
    kind = layer_kind(layer)
    colspan = max(1, int(show_dtype) + int(show_trainable) + (2 if show_shapes else 0))
    title = f"<b>{layer.name}</b> ({kind})" if show_layer_names else f"<b>{kind}</b>"
    table = ('<<table border="0" cellborder="1" bgcolor="black" cellpadding="10">'
             f'<tr><td colspan="{colspan}" bgcolor="black"><font point-size="16" color="white">{title}</font></td></tr>')
    if show_layer_activations and getattr(layer, "activation", None) is not None:
        table += (f'<tr><td bgcolor="white" colspan="{colspan}"><font point-size="14">Activation: '
                  f"<b>{_activation_name(layer)}</b></font></td></tr>")
    cols = []
    if show_shapes:
        if not isinstance(layer, InputLayer):
            cols.append('<td bgcolor="white"><font point-size="14">Input shape: '
                        f"<b>{_shape_text(_shapes(layer, 'inputs'))}</b></font></td>")
        cols.append('<td bgcolor="white"><font point-size="14">Output shape: '
                    f"<b>{_shape_text(_shapes(layer, 'outputs'))}</b></font></td>")
    if show_dtype:
        cols.append('<td bgcolor="white"><font point-size="14">Output dtype: <b>float32</b></font></td>')
    if show_trainable and list(getattr(layer, "weights", [])):
        cols.append('<td bgcolor="forestgreen"><font point-size="14" color="white"><b>Trainable</b></font></td>'
                    if layer.trainable else
                    '<td bgcolor="firebrick"><font point-size="14" color="white"><b>Non-trainable</b></font></td>')
    if cols:
        table += f"<tr>{''.join(cols)}</tr>"
    return table + "</table>>"


def _node(pydot, layer, options: dict):
    node = pydot.Node(str(id(layer)), label=layer_label(layer, **options))
    node.set("fontname", "Helvetica")
    node.set("border", "0")
    node.set("margin", "0")
    return node


def _edge(dot, pydot, src, dst) -> None:
    a, b = str(id(src)), str(id(dst))
    if not dot.get_edge(a, b):
        edge = pydot.Edge(a, b)
        edge.set("penwidth", "2")
        dot.add_edge(edge)


def _source_layer(model, tensor):
    """The layer that made ``tensor`` in ``model`` — an Input's InputLayer."""
    if tensor.node is not None:
        return tensor.node.layer
    return next(op for op in model.operations if isinstance(op, InputLayer) and op.name == tensor.name)


def _first_box(layer):
    """Where an edge into a nested model lands when it is expanded: its first layer (a model's: recursively)."""
    while _is_model(layer):
        layer = listed_layers(layer)[0]
    return layer


def _last_box(layer):
    while _is_model(layer):
        layer = listed_layers(layer)[-1]
    return layer


def model_to_dot(model, show_shapes=False, show_dtype=False, show_layer_names=True, rankdir="TB",
                 expand_nested=False, dpi=200, subgraph=False, show_layer_activations=False, show_trainable=False,
                 splines="ortho", **kwargs):
    """Keras's ``model_to_dot``: a ``pydot.Dot`` (or, ``subgraph``, a ``pydot.Cluster``) of the model (module
    docstring)."""
    pydot = _pydot()
    if kwargs.pop("layer_range", None) is not None:
        raise ValueError("Argument `layer_range` is no longer supported.")
    if kwargs:
        raise ValueError(f"Unrecognized keyword arguments: {kwargs}")
    if subgraph:
        dot = pydot.Cluster(style="dashed", graph_name=model.name)
        dot.set("label", model.name)
        dot.set("labeljust", "l")
    else:
        dot = pydot.Dot()
        dot.set("rankdir", rankdir)
        dot.set("concentrate", True)
        dot.set("dpi", dpi)
        dot.set("splines", splines)
        dot.set_node_defaults(shape="record")
    options = {"show_layer_names": show_layer_names, "show_layer_activations": show_layer_activations,
               "show_dtype": show_dtype, "show_shapes": show_shapes, "show_trainable": show_trainable}
    from rnnkit.keras.sequential import Sequential

    if not (isinstance(model, Sequential) or is_functional(model)):
        dot.add_node(_node(pydot, model, options))  # a subclassed model is one box, as Keras draws it
        return dot
    layers = listed_layers(model)
    for layer in layers:
        if expand_nested and _is_model(layer):
            dot.add_subgraph(model_to_dot(layer, show_shapes, show_dtype, show_layer_names, rankdir, True,
                                          subgraph=True, show_layer_activations=show_layer_activations,
                                          show_trainable=show_trainable))
        else:
            dot.add_node(_node(pydot, layer, options))
    if not is_functional(model):  # a chain
        for a, b in zip(layers, layers[1:]):
            _edge(dot, pydot, _last_box(a) if expand_nested else a, _first_box(b) if expand_nested else b)
        return dot
    ours = {id(n) for n in model.nodes}
    for layer in layers:
        for node in inbound_nodes(layer):
            if id(node) not in ours:
                continue
            for t in node.input_tensors:  # an edge from the layer (an Input's InputLayer) that made each input
                source, destination = _source_layer(model, t), layer
                if expand_nested:  # into and out of the boxes inside nested models
                    source, destination = _last_box(source), _first_box(destination)
                _edge(dot, pydot, source, destination)
    return dot


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False, show_layer_names=True, rankdir="TB",
               expand_nested=False, dpi=200, show_layer_activations=False, show_trainable=False, **kwargs):
    """Keras's ``plot_model``: the model's graph drawn by Graphviz to ``to_file`` (its extension names the format:
    png, svg, pdf, …). Needs pydot and Graphviz's ``dot`` program (Debian: ``apt-get install graphviz``)."""
    dot = model_to_dot(model, show_shapes=show_shapes, show_dtype=show_dtype, show_layer_names=show_layer_names,
                       rankdir=rankdir, expand_nested=expand_nested, dpi=dpi,
                       show_layer_activations=show_layer_activations, show_trainable=show_trainable, **kwargs)
    extension = os.path.splitext(str(to_file))[1].lstrip(".") or "png"
    try:
        dot.write(str(to_file), format=extension)
    except FileNotFoundError as e:  # pydot's word for a missing dot program
        raise ImportError("You must install Graphviz's `dot` program (Debian: apt-get install graphviz; see "
                          f"https://graphviz.gitlab.io/download/) for `plot_model` to work ({e})") from None
    return None


__all__ = ["model_to_dot", "plot_model", "layer_label"]
