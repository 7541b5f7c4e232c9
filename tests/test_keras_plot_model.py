"""``keras.utils.model_to_dot`` / ``plot_model``: the graph real Keras 3.15 builds (its ``model_to_dot`` needs only
pydot) — the same node labels (Keras's HTML tables: names, classes, activations, shapes, dtype, trainable) and the
same edges, for a graph with two inputs, a Sequential chain and a nested model (expanded or not); Graphviz draws it."""

from __future__ import annotations

import os
import re
import shutil

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import pytest  # noqa: E402

import rnnkit.keras as rk  # noqa: E402


def two_inputs(lib):
    a, b = lib.Input((5, 3), name="seq"), lib.Input((2,), name="aux")
    joined = lib.layers.Concatenate(name="cat")([lib.layers.LSTM(4, name="lstm")(a), b])
    return lib.Model([a, b], lib.layers.Dense(1, activation="sigmoid", name="dense")(joined), name="two")


def chain(lib):
    return lib.Sequential([lib.Input((5, 3)), lib.layers.GRU(4, name="gru"),
                           lib.layers.Dense(2, activation="relu", name="d")], name="s")


def nested(lib):
    x = lib.Input((5, 3), name="x")
    return lib.Model(x, lib.layers.Dense(1, name="o")(chain(lib)(x)), name="outer")


def graph(dot):
    """(sorted node labels, sorted edges by layer name, the graph's attributes)."""
    labels = {}

    def walk(g):
        for n in g.get_nodes():
            if n.get_name() not in ("node", "edge", "graph"):
                labels[n.get_name()] = n.get("label")
        for sub in g.get_subgraphs():
            walk(sub)
    walk(dot)
    name = {k: re.search(r"<b>(.*?)</b>", v).group(1) for k, v in labels.items()}
    edges = sorted((name[e.get_source()], name[e.get_destination()]) for e in dot.get_edges())
    return sorted(labels.values()), edges, dot.get_attributes()


SHOW_ALL = {"show_shapes": True, "show_layer_activations": True, "show_trainable": True, "show_dtype": True}


@pytest.mark.parametrize("build", [two_inputs, chain, nested])
@pytest.mark.parametrize("kwargs", [{}, SHOW_ALL, {"expand_nested": True, **SHOW_ALL},
                                    {"show_layer_names": False, "rankdir": "LR"}])
def test_the_graph_is_keras_graph(build, kwargs):
    assert graph(rk.utils.model_to_dot(build(rk), **kwargs)) == graph(keras.utils.model_to_dot(build(keras),
                                                                                                **kwargs))


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed (make installs graphviz)")
def test_plot_model_draws_a_png_and_an_svg(tmp_path):
    from PIL import Image

    rk.utils.plot_model(two_inputs(rk), to_file=tmp_path / "model.png", show_shapes=True, dpi=60)
    with Image.open(tmp_path / "model.png") as image:
        assert image.format == "PNG" and min(image.size) > 100
    rk.utils.plot_model(chain(rk), to_file=tmp_path / "chain.png", dpi=60)
    with Image.open(tmp_path / "chain.png") as image:
        assert image.height > image.width  # a chain drawn top to bottom
    rk.utils.plot_model(chain(rk), to_file=tmp_path / "model.svg", rankdir="LR")
    svg = (tmp_path / "model.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and ">gru<" in svg.replace("</text>", "<")


def test_unknown_arguments_are_refused_as_keras_refuses_them():
    with pytest.raises(ValueError, match="layer_range"):
        rk.utils.model_to_dot(chain(rk), layer_range=["gru", "d"])
    with pytest.raises(ValueError, match="Unrecognized keyword arguments"):
        rk.utils.model_to_dot(chain(rk), show_colours=True)


def test_without_graphviz_plot_model_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot program on the path
    with pytest.raises(ImportError, match="apt-get install graphviz"):
        rk.utils.plot_model(chain(rk), to_file=tmp_path / "m.png")
