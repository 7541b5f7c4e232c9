"""``rnnkit.keras.tree`` against Keras: Keras's own test suite for ``keras.tree`` (``keras/src/tree/tree_test.py``, run
with rnnkit's module as its implementation under test), and the same calls on Keras's implementation — optree's, the
one its JAX/TensorFlow/NumPy backends use and its documentation describes (its PyTorch backend's differs for a dict
inside a dict and a namedtuple's paths: shown below)."""

from __future__ import annotations

import os
import warnings
from collections import OrderedDict, defaultdict, deque, namedtuple
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from keras.src.tree import optree_impl as keras_tree  # noqa: E402  (Keras's implementation, optree's)

import rnnkit.keras as rk  # noqa: E402
from rnnkit.keras import tree  # noqa: E402


def _keras_tree_suite():
    """Keras's TreeTest, parameterised with rnnkit.keras.tree instead of Keras's implementations (its TensorFlow-only
    cases dropped: they need TensorFlow's wrappers)."""
    import keras.src.tree

    source = (Path(keras.src.tree.__file__).with_name("tree_test.py")).read_text()
    marker = 'Empty = namedtuple("Empty", [])'
    assert source.count(marker) == 1, "Keras's tree_test.py changed shape"
    head, tail = source.split(marker)
    namespace = {"__name__": "keras_tree_test_on_rnnkit", "_RNNKIT_TREE": tree}
    code = head + "\nTEST_CASES = [{'testcase_name': 'rnnkit', 't': _RNNKIT_TREE}]\n" + marker + tail
    exec(compile(code, "keras/src/tree/tree_test.py", "exec"), namespace)
    suite = namespace["TreeTest"]
    for name in [n for n in vars(suite) if n.startswith("test_") and "tf_wrappers" in n]:
        delattr(suite, name)
    return suite


KerasTreeTest = _keras_tree_suite()

Point = namedtuple("Point", ["y", "x"])
STRUCTURES = [
    1, None, "text", [], (), {}, [1, [2, (3, None)]], {"b": 2, "a": [1, {"d": 4, "c": 3}]},
    OrderedDict([("z", 1), ("a", 2)]), defaultdict(list, {"b": 1, "a": 2}), deque([1, (2, 3)]),
    Point(y=1, x=[2, 3]), ({"b": np.array([1.0]), "a": (Point(2, 3),)}, [None, "s"]),
]


@pytest.mark.parametrize("s", STRUCTURES, ids=repr)
def test_flatten_paths_and_packing_match_keras(s):
    # given any nesting of Keras's containers, the leaves come out in keras.tree's order, with its paths, and pack back
    assert tree.is_nested(s) == keras_tree.is_nested(s) == keras.tree.is_nested(s)
    ours, theirs = tree.flatten(s), keras_tree.flatten(s)
    assert [repr(v) for v in ours] == [repr(v) for v in theirs]
    assert [p for p, _ in tree.flatten_with_path(s)] == [p for p, _ in keras_tree.flatten_with_path(s)]
    values = list(range(len(theirs)))
    packed = tree.pack_sequence_as(s, values)
    assert repr(packed) == repr(keras_tree.pack_sequence_as(s, values))
    assert type(packed) is type(s) or not tree.is_nested(s)
    assert repr(tree.lists_to_tuples(s)) == repr(keras_tree.lists_to_tuples(s))


def test_where_keras_pytorch_backend_differs_rnnkit_follows_its_documentation():
    # keras.tree.flatten's docstring: "dict instances ... sorted by key" — at every depth with optree; Keras's torch
    # implementation sorts only the outer dict, and numbers a namedtuple's fields by the rank of their names
    s = {"b": 2, "a": [1, {"d": 4, "c": 3}]}
    assert tree.flatten(s) == keras_tree.flatten(s) == [1, 3, 4, 2]
    assert keras.tree.flatten(s) == [1, 4, 3, 2]
    p = Point(y=1, x=2)
    assert tree.flatten_with_path(p) == keras_tree.flatten_with_path(p) == [((0,), 1), ((1,), 2)]
    assert keras.tree.flatten_with_path(p) == [((1,), 1), ((0,), 2)]


def test_map_structure_over_several_structures_matches_keras():
    a = {"h": [1.0, 2.0], "c": (3.0,), "n": None}
    b = {"c": (30.0,), "h": [10.0, 20.0], "n": None}  # same keys, another insertion order
    for none_is_leaf in (True, False):
        def add(x, y):
            return None if x is None else x + y
        assert tree.map_structure(add, a, b, none_is_leaf=none_is_leaf) == \
            keras_tree.map_structure(add, a, b, none_is_leaf=none_is_leaf)
    shallow = {"c": 0, "h": 0, "n": 0}
    assert tree.map_structure_up_to(shallow, lambda x, y: [x, y], a, b) == \
        keras_tree.map_structure_up_to(shallow, lambda x, y: [x, y], a, b)
    shapes = {"x": (None, 3), "y": [(2, 4), (5,)]}
    assert tree.map_shape_structure(lambda s: tuple(reversed(s)), shapes) == \
        keras_tree.map_shape_structure(lambda s: tuple(reversed(s)), shapes)
    for x, y in [([1, 2], (1, 2)), ({"a": 1}, {"b": 1}), ([1, [2]], [1, 2]), (Point(1, 2), (1, 2))]:
        with pytest.raises(ValueError):
            keras_tree.assert_same_structure(x, y)
        with pytest.raises(ValueError, match="don't have the same nested structure"):
            tree.assert_same_structure(x, y)
    tree.assert_same_paths(Point(1, 2), [3, 4])  # looser: list, tuple, namedtuple of one length share their paths
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(DeprecationWarning):
            tree.assert_same_structure([1], [2], check_types=True)


def test_traverse_visits_and_replaces_as_keras_does():
    s = {"b": [1, [2, 3]], "a": (4, {"d": 5, "c": 6})}
    for top_down in (True, False):
        seen_ours, seen_keras = [], []

        def visit(seen):
            def f(x):
                seen.append(repr(x))
                if isinstance(x, int) and x % 2 == 0:
                    return x * 10
                return None
            return f

        assert repr(tree.traverse(visit(seen_ours), s, top_down)) == \
            repr(keras_tree.traverse(visit(seen_keras), s, top_down))
        assert seen_ours == seen_keras
    # MAP_TO_NONE — rnnkit's or Keras's own — puts None in its place; top down, a replaced container is not entered
    assert tree.traverse(lambda x: tree.MAP_TO_NONE if x == 2 else None, [1, 2]) == [1, None]
    assert tree.traverse(lambda x: keras.tree.MAP_TO_NONE if x == 2 else None, [1, 2]) == [1, None]
    assert tree.traverse(lambda x: "cut" if x == [1, 2] else None, [0, [1, 2]]) == [0, "cut"]


def test_the_front_end_exposes_tree_and_its_ops_flatten_in_keras_order():
    # rnnkit.keras.tree is where Keras code expects it, and ops that take nested inputs follow its (sorted-key) order
    assert rk.tree is tree and rk.backend.flatten is tree.flatten
    elems = {"b": np.array([1.0, 2.0, 3.0]), "a": np.array([10.0, 20.0, 30.0])}
    ours = rk.ops.associative_scan(lambda x, y: {k: x[k] + y[k] for k in x}, elems)
    theirs = keras.ops.associative_scan(lambda x, y: {k: x[k] + y[k] for k in x}, elems)
    for key in ("a", "b"):
        np.testing.assert_allclose(np.asarray(ours[key]), keras.ops.convert_to_numpy(theirs[key]))
