"""``keras.tree``: nested structures of lists, tuples, dicts — the states of a cell, a model's several inputs.

A structure is a leaf or a container of structures. The containers are Keras's:

* ``list``, ``tuple``, ``collections.deque`` (children in order), a ``namedtuple`` (its fields in order);
* ``dict`` and ``defaultdict`` — children **in sorted key order**, whatever order the keys were inserted in, so that
  two dicts with the same keys flatten alike; ``OrderedDict`` — in its own order;
* any class with ``tree_flatten() -> (children, metadata[, keys])`` and a class method
  ``tree_unflatten(metadata, children)`` (the protocol of Keras's tracking wrappers and optree's custom nodes).

Everything else is a leaf: numbers, strings, arrays, tensors and ``None`` (``map_structure(..., none_is_leaf=False)``
passes ``None`` through instead). A path is the tuple of keys from the root to a leaf: list, tuple and namedtuple
positions, dict keys::

    flatten({"b": [2, 3], "a": 1})            == [1, 2, 3]
    flatten_with_path({"b": [2, 3], "a": 1})  == [(("a",), 1), (("b", 0), 2), (("b", 1), 3)]
    pack_sequence_as({"b": [0, 0], "a": 0}, [1, 2, 3]) == {"b": [2, 3], "a": 1}   # its own key order

The order and paths are those of Keras's implementation on its JAX, TensorFlow and NumPy backends (optree) and of its
documentation. Keras's PyTorch backend differs in two corners, which rnnkit does not copy: a dict inside another one
flattens in insertion order there, and a namedtuple's path holds the rank of its field's name, not its position.
"""

from __future__ import annotations

import warnings
from collections import OrderedDict, defaultdict, deque

__all__ = ["MAP_TO_NONE", "assert_same_paths", "assert_same_structure", "flatten", "flatten_with_path", "is_nested",
           "lists_to_tuples", "map_shape_structure", "map_structure", "map_structure_up_to", "pack_sequence_as",
           "traverse"]


class MAP_TO_NONE:
    """Returned by ``traverse``'s function: put ``None`` in this place (returning ``None`` means "go on")."""


def _is_map_to_none(value) -> bool:
    """Ours, or Keras's own sentinel (code written for Keras returns ``keras.tree.MAP_TO_NONE``)."""
    return value is MAP_TO_NONE or (isinstance(value, type) and value.__name__ == "MAP_TO_NONE")


def _is_namedtuple(x) -> bool:
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def _custom(x) -> bool:
    return callable(getattr(x, "tree_flatten", None)) and callable(getattr(type(x), "tree_unflatten", None))


def is_nested(structure) -> bool:
    """Whether ``structure`` is a container (see the module) rather than a leaf."""
    t = type(structure)
    return t in (list, tuple, dict, OrderedDict, defaultdict, deque) or _is_namedtuple(structure) or _custom(structure)


def _children(node) -> tuple[list, list, object]:
    """(children, their keys, how to rebuild the node from new children) for a container."""
    t = type(node)
    if t in (dict, defaultdict):
        keys = sorted(node)

        def rebuild(c):  # the values by sorted key, the dict in its own key order (as optree unflattens one)
            by_key = dict(zip(keys, c))
            items = [(k, by_key[k]) for k in node]
            return defaultdict(node.default_factory, items) if t is defaultdict else dict(items)
        return [node[k] for k in keys], keys, rebuild
    if t is OrderedDict:
        keys = list(node)
        return [node[k] for k in keys], keys, lambda c: OrderedDict(zip(keys, c))
    if t in (list, tuple, deque) or _is_namedtuple(node):
        rebuild = {list: list, tuple: tuple, deque: lambda c: deque(c, maxlen=node.maxlen)}.get(t)
        if rebuild is None:  # a namedtuple
            rebuild = lambda c: t(*c)  # noqa: E731
        return list(node), list(range(len(node))), rebuild
    flat = node.tree_flatten()
    children, metadata = list(flat[0]), flat[1]
    keys = list(flat[2]) if len(flat) > 2 and flat[2] is not None else list(range(len(children)))
    return children, keys, lambda c: t.tree_unflatten(metadata, c)


DICTS = (dict, OrderedDict, defaultdict)  # the same structure when their keys are the same


def _match(a, b) -> tuple[list, list] | str:
    """For a container ``a``: (its children, ``b``'s matching ones — a dict's by key) where ``b`` is a container of
    the same type (dict, OrderedDict and defaultdict alike), keys and arity; otherwise why not."""
    ta, tb = type(a), type(b)
    if not is_nested(b):
        return f"Expected an instance of {ta.__name__}, got {tb.__name__} {b!r}"
    if not (ta is tb or (ta in DICTS and tb in DICTS)):
        both_namedtuples = _is_namedtuple(a) and _is_namedtuple(b)
        return (f"Expected an instance of {ta.__name__}, got {tb.__name__}"
                + (" (namedtuples of different types do not match)" if both_namedtuples else ""))
    ca, ka, _ = _children(a)
    cb, kb, _ = _children(b)
    if ta in DICTS:
        if set(ka) != set(kb):
            return f"Dictionary key mismatch: {sorted(ka, key=repr)} against {sorted(kb, key=repr)}"
        by_key = dict(zip(kb, cb))
        return ca, [by_key[k] for k in ka]
    if len(ca) != len(cb):
        return f"Node arity mismatch: {ta.__name__} of {len(ca)} against {len(cb)}"
    if _custom(a) and a.tree_flatten()[1] != b.tree_flatten()[1]:
        return f"Node context mismatch: {a.tree_flatten()[1]!r} against {b.tree_flatten()[1]!r}"
    return ca, cb


def flatten(structure) -> list:
    """The leaves, depth first (dicts by sorted key, see the module); a leaf alone is ``[leaf]``."""
    if not is_nested(structure):
        return [structure]
    return [leaf for child in _children(structure)[0] for leaf in flatten(child)]


def flatten_with_path(structure) -> list[tuple[tuple, object]]:
    """``(path, leaf)`` for every leaf, in ``flatten``'s order."""
    if not is_nested(structure):
        return [((), structure)]
    children, keys, _ = _children(structure)
    return [((key, *path), leaf) for child, key in zip(children, keys) for path, leaf in flatten_with_path(child)]


def _mismatch(a, b, why: str) -> ValueError:
    return ValueError(f"{why}: the two structures don't have the same nested structure.\nFirst structure: {a!r}\n"
                      f"Second structure: {b!r}")


def _check_same(a, b, top_a, top_b) -> None:
    if not is_nested(a):
        if is_nested(b):
            raise _mismatch(top_a, top_b, f"{a!r} is a leaf where the second structure has {type(b).__name__} {b!r}")
        return
    matched = _match(a, b)
    if isinstance(matched, str):
        raise _mismatch(top_a, top_b, matched)
    for x, y in zip(*matched):
        _check_same(x, y, top_a, top_b)


def assert_same_structure(a, b, check_types=None) -> None:
    """Raise ``ValueError`` unless ``a`` and ``b`` have the same containers (types and keys) in the same places;
    leaves may differ. ``check_types`` is accepted and ignored, as in Keras (deprecated there)."""
    if check_types is not None:
        warnings.warn("The `check_types` argument is deprecated and no longer has any effect"
                      + ("" if check_types else "; for a looser check use keras.tree.assert_same_paths()"),
                      DeprecationWarning, stacklevel=2)
    _check_same(a, b, a, b)


def assert_same_paths(a, b) -> None:
    """Raise ``ValueError`` unless ``a`` and ``b`` have the same paths to their leaves — a looser check than
    ``assert_same_structure``: a list, a tuple, a namedtuple and a deque of the same length match."""
    paths_a = {path for path, _ in flatten_with_path(a)}
    paths_b = {path for path, _ in flatten_with_path(b)}
    if paths_a != paths_b:
        msg = "`a` and `b` don't have the same paths."
        if paths_a - paths_b:
            msg += f"\nPaths in `a` missing in `b`:\n{paths_a - paths_b}"
        if paths_b - paths_a:
            msg += f"\nPaths in `b` missing in `a`:\n{paths_b - paths_a}"
        raise ValueError(msg)


def _map(func, structures, none_is_leaf: bool, is_leaf=None):
    first = structures[0]
    if (is_leaf is not None and is_leaf(first)) or not is_nested(first):
        if first is None and not none_is_leaf:
            if any(s is not None for s in structures[1:]):
                raise ValueError(f"structure mismatch: some arguments are None, others are not: {structures}")
            return None
        return func(*structures)
    children, _, rebuild = _children(first)
    columns = [children] + [_match(first, s)[1] for s in structures[1:]]  # (map_structure checked them)
    return rebuild([_map(func, list(args), none_is_leaf, is_leaf) for args in zip(*columns)])


def map_structure(func, *structures, none_is_leaf: bool = True):
    """``func`` applied to the leaves of one structure, or to the matching leaves of several of the same structure
    (``assert_same_structure``); the result has the first structure's layout."""
    if not callable(func):
        raise TypeError(f"map_structure: func must be callable, got {func!r}")
    if not structures:
        raise ValueError("Must provide at least one structure")
    for s in structures[1:]:
        _check_same(structures[0], s, structures[0], s)
    return _map(func, list(structures), none_is_leaf)


def map_structure_up_to(shallow_structure, func, *structures):
    """``func`` applied to the sub-structures of ``structures`` found at the leaves of ``shallow_structure`` (whose
    containers they must share down to there)."""
    if not structures:
        raise ValueError("Must provide at least one structure")

    def walk(shallow, parts):
        if not is_nested(shallow):
            return func(*parts)
        columns = []
        for p in parts:
            matched = _match(shallow, p)
            if isinstance(matched, str):
                raise _mismatch(shallow_structure, p, matched)
            columns.append(matched[1])
        children, _, rebuild = _children(shallow)
        return rebuild([walk(c, list(args)) for c, args in zip(children, zip(*columns))])

    return walk(shallow_structure, list(structures))


def pack_sequence_as(structure, flat_sequence):
    """``structure``'s layout filled with the values of ``flat_sequence``, in ``flatten``'s order (its inverse)."""
    if isinstance(flat_sequence, (str, bytes)) or not hasattr(flat_sequence, "__iter__"):
        raise TypeError(f"flat_sequence must be an iterable of values (a list or tuple), got "
                        f"{type(flat_sequence).__name__}: {flat_sequence!r}")
    flat = list(flat_sequence)
    n = len(flatten(structure))
    if len(flat) != n:
        raise ValueError(f"{'Too few' if len(flat) < n else 'Too many'} leaves: flat_sequence has {len(flat)} values, "
                         f"the structure holds {n}.\nStructure: {structure!r}\nflat_sequence: {flat!r}")
    it = iter(flat)

    def fill(s):
        if not is_nested(s):
            return next(it)
        children, _, rebuild = _children(s)
        return rebuild([fill(c) for c in children])

    return fill(structure)


def traverse(func, structure, top_down: bool = True):
    """Call ``func`` on every container and leaf. Top down: where it returns ``None`` the walk goes on inside; any
    other value takes the place's value and the walk does not enter it (``MAP_TO_NONE`` puts ``None``). Bottom up:
    ``func`` sees each container already rebuilt from its traversed children; ``None`` keeps it."""

    def result(value, default):
        if value is None:
            return default
        return None if _is_map_to_none(value) else value

    def inside(s):
        if not is_nested(s):
            return s
        children, _, rebuild = _children(s)
        return rebuild([walk(c) for c in children])

    def walk(s):
        if top_down:
            value = func(s)
            return inside(s) if value is None else result(value, None)
        rebuilt = inside(s)
        return result(func(rebuilt), rebuilt)

    return walk(structure)


def lists_to_tuples(structure):
    """Every list of the structure made a tuple (tuples, dicts and leaves unchanged)."""
    return traverse(lambda x: tuple(x) if isinstance(x, list) else None, structure, top_down=False)


def map_shape_structure(func, structure):
    """``map_structure`` where a shape — a list or tuple of ints and ``None`` — counts as one leaf."""

    def is_shape(x):
        return isinstance(x, (list, tuple)) and all(isinstance(e, (int, type(None))) for e in x)

    return _map(func, [structure], True, is_leaf=is_shape)
