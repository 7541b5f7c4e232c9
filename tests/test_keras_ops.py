"""``rnnkit.keras.ops`` is Keras 3's ``keras.ops`` on torch: the same call on the same arrays gives Keras's values and
shapes (real Keras 3, PyTorch backend, is the reference), Keras's default dtypes for Python numbers, and NumPy's
argument conventions (``axis``, ``keepdims``, ``indices_or_sections``)."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from rnnkit.keras import ops  # noqa: E402

RNG = np.random.default_rng(3)
A = RNG.standard_normal((2, 3, 4)).astype("float32")
B = RNG.standard_normal((2, 3, 4)).astype("float32")
M = RNG.standard_normal((4, 5)).astype("float32")
P = np.abs(A) + 0.1
V = RNG.standard_normal(6).astype("float32")
IDS = np.array([[0, 2, 1], [3, 0, 3]])
SPD = (M @ M.T + 4 * np.eye(4)).astype("float32")

NANS = np.where(RNG.random((3, 4)) < 0.3, np.nan, RNG.standard_normal((3, 4))).astype("float32")
INTS = np.array([[12, 7, -6], [5, 8, 9]])
DEGREES = np.array([0.0, 30.0, -45.0, 180.0], dtype="float32")

CASES = [
    # windows, indices, segments
    *[(name, (7,), {}) for name in ("bartlett", "blackman", "hamming", "hanning")], ("kaiser", (7, 2.5), {}),
    ("nonzero", (INTS > 6,), {}), ("unravel_index", (np.array([1, 5, 11]), (3, 4)), {}),
    ("in_top_k", (np.array([0, 2]), M[:2, :3], 2), {}),
    ("segment_sum", (M, np.array([0, 0, 2, 1])), {}), ("segment_max", (M, np.array([0, 0, 2, 1])), {}),
    ("segment_sum", (V, np.array([1, 1, 0, 2, 2, 2])), {"num_segments": 4}),
    # activations (nn.py)
    *[(name, (3 * A,), {}) for name in ("hard_tanh", "hard_shrink", "soft_shrink", "squareplus", "sparse_plus",
                                         "sparse_sigmoid")],
    ("hard_shrink", (A,), {"threshold": 0.2}), ("soft_shrink", (A,), {"threshold": 0.2}),
    ("threshold", (A, 0.1, -2.0), {}), ("squareplus", (A,), {"b": 1}),
    ("psnr", (P, P + 0.1 * A, 2.0), {}),
    # stacking, diagonals, lookups (stacking.py)
    *[(name, ([M, M],), {}) for name in ("hstack", "vstack", "dstack")],
    ("hsplit", (M, 5), {}), ("vsplit", (M, [1, 3]), {}), ("dsplit", (A, 2), {}), ("fliplr", (M,), {}),
    ("flipud", (M,), {}), ("rot90", (M,), {}), ("rot90", (A,), {"k": 3, "axes": (1, 2)}), ("diag", (V,), {"k": 1}),
    ("diag", (M,), {}), ("diagflat", (M[:2, :2],), {}), ("diagonal", (A,), {"offset": 1, "axis1": 1, "axis2": 2}),
    ("trace", (M,), {}), ("trace", (INTS,), {}), ("diff", (A,), {"n": 2, "axis": 1}), ("kron", (M[:2, :2], M[:3, :2]), {}),
    ("inner", (A, B), {}), ("vdot", (V, V[::-1]), {}), ("vander", (V,), {"N": 3}),
    ("cross", (M[:, :3], M[:, 1:4]), {}),  # (Keras's PyTorch backend crosses the first axis of size 3, not the last)
    ("searchsorted", (np.sort(V), A.reshape(-1)), {}), ("searchsorted", (np.sort(V), V), {"side": "right"}),
    ("digitize", (A, np.array([-1.0, 0.0, 1.0], dtype="float32")), {}), ("isin", (INTS, np.array([5, 9, 12])), {}),
    ("bincount", (np.array([0, 2, 2, 5]),), {}), ("bincount", (np.array([0, 2, 2]),), {"minlength": 5}),
    ("bincount", (np.array([0, 2, 2]), np.array([0.5, 1.0, 2.0], dtype="float32")), {}),
    ("trapezoid", (A,), {}), ("trapezoid", (A,), {"dx": 0.5, "axis": 1}), ("corrcoef", (M,), {}),
    # element-wise, the rest of NumPy's (elementwise.py)
    *[(name, (A,), {}) for name in ("cbrt", "fabs", "erfc", "i0", "sinc", "signbit", "isreal", "real",
                                     "conj", "conjugate", "ptp")],
    ("deg2rad", (DEGREES,), {}), ("rad2deg", (DEGREES,), {}),
    ("isneginf", (np.array([-np.inf, np.inf, 1.0]),), {}), ("isposinf", (np.array([-np.inf, np.inf, 1.0]),), {}),
    *[(name, (A, B), {}) for name in ("fmod", "fmax", "fmin", "logaddexp2", "nextafter")],
    ("heaviside", (A, np.float32(0.5)), {}), ("ldexp", (A, np.array(3)), {}),
    *[(name, (INTS, INTS[::-1]), {}) for name in ("gcd", "lcm", "bitwise_and", "bitwise_or", "bitwise_xor")],
    *[(name, (np.abs(INTS), np.array(2)), {}) for name in ("bitwise_left_shift", "left_shift", "bitwise_right_shift",
                                                           "right_shift")],
    ("bitwise_invert", (INTS,), {}), ("bitwise_not", (INTS,), {}),
    *[(name, (NANS,), kw) for name in ("nansum", "nanprod", "nanmax", "nanmin", "nanmean", "nanvar", "nanstd")
      for kw in ({}, {"axis": 1}, {"axis": 0, "keepdims": True})],
    ("nancumsum", (NANS,), {"axis": 1}), ("nancumprod", (NANS,), {}), ("ptp", (A,), {"axis": 1, "keepdims": True}),
    # element-wise
    *[(name, (A,), {}) for name in ("abs", "absolute", "negative", "sign", "square", "exp", "expm1", "sin", "cos",
                                     "tanh", "sinh", "arctan", "floor", "ceil", "trunc", "isnan", "isfinite", "copy",
                                     "sigmoid", "relu", "relu6", "softplus", "softsign", "silu", "swish", "gelu",
                                     "selu", "elu", "leaky_relu", "hard_sigmoid", "hard_silu", "log_sigmoid", "erf",
                                     "tanh_shrink")],
    *[(name, (P,), {}) for name in ("log", "log1p", "log2", "log10", "sqrt", "rsqrt", "reciprocal")],
    ("round", (A,), {"decimals": 1}), ("clip", (A, -0.5, 0.5), {}), ("gelu", (A,), {"approximate": False}),
    ("leaky_relu", (A,), {"negative_slope": 0.1}), ("elu", (A,), {"alpha": 0.5}), ("celu", (A,), {}),
    ("glu", (A,), {}), ("nan_to_num", (np.array([np.nan, np.inf, -np.inf, 1.0]),), {"nan": 2.0}),
    # two inputs
    *[(name, (A, B), {}) for name in ("add", "subtract", "multiply", "divide", "true_divide", "maximum", "minimum",
                                       "equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
                                       "arctan2", "logaddexp", "hypot")],
    *[(name, (P, B), {}) for name in ("power", "floor_divide", "mod")],
    ("add", (A, 2), {}), ("multiply", (3.0, A), {}), ("subtract", (1, A), {}), ("divide_no_nan", (A, np.where(B > 0,
                                                                                                          B, 0)), {}),
    ("logical_and", (A > 0, B > 0), {}), ("logical_or", (A > 0, B > 0), {}), ("logical_xor", (A > 0, B > 0), {}),
    ("logical_not", (A > 0,), {}),
    ("matmul", (A, M), {}), ("dot", (M.T, M), {}), ("dot", (V, V), {}), ("dot", (A, M), {}),
    ("einsum", ("btf,fu->btu", A, M), {}), ("tensordot", (A, M), {"axes": 1}),
    ("tensordot", (A, B), {"axes": [[1, 2], [1, 2]]}), ("outer", (V, V[:3]), {}),
    ("where", (A > 0, A, B), {}), ("where", (A > 0, A, 0.0), {}),
    # reductions
    *[(name, (A,), kw) for name in ("sum", "mean", "max", "min", "amax", "amin", "prod", "std", "var", "any", "all",
                                     "logsumexp", "argmax", "argmin")
      for kw in ({}, {"axis": 1}, {"axis": -1, "keepdims": True})],
    *[(name, (A,), {"axis": (0, 2)}) for name in ("sum", "mean", "max", "std", "logsumexp", "prod")],
    ("max", (A,), {"axis": 1, "initial": 0.5}), ("count_nonzero", (A > 0,), {}),
    ("cumsum", (A,), {"axis": 1}), ("cumsum", (A,), {}), ("cumprod", (A,), {"axis": -1}),
    ("average", (A,), {"axis": -1, "weights": np.array([1.0, 2.0, 3.0, 4.0], "float32")}), ("median", (A,), {"axis": 1}),
    ("quantile", (A, 0.3), {"axis": -1}), ("percentile", (A, [10.0, 90.0]), {"axis": 1}),
    ("isclose", (A, A + 1e-7), {}), ("allclose", (A, A + 1e-7), {}),
    # shapes
    ("reshape", (A, (6, 4)), {}), ("reshape", (A, (-1, 2)), {}), ("transpose", (A,), {}),
    ("transpose", (A, (0, 2, 1)), {}), ("expand_dims", (A, 1), {}), ("expand_dims", (A, -1), {}),
    ("squeeze", (A[:, :1],), {"axis": 1}), ("squeeze", (A[:1, :1],), {}), ("moveaxis", (A, 0, -1), {}),
    ("swapaxes", (A, 0, 2), {}), ("ravel", (A,), {}), ("concatenate", ([A, B],), {"axis": -1}),
    ("concatenate", ([A, B],), {}), ("stack", ([A, B],), {"axis": 1}), ("append", (A, B), {"axis": 0}),
    ("split", (A, 2), {"axis": -1}), ("split", (A, [1, 3]), {"axis": -1}), ("array_split", (A, 3), {"axis": -1}),
    ("tile", (A, (1, 2, 1)), {}), ("repeat", (A, 2), {"axis": 1}), ("repeat", (A, 2), {}),
    ("broadcast_to", (V[:4], (3, 4)), {}), ("flip", (A,), {"axis": 1}), ("flip", (A,), {}),
    ("roll", (A, 1), {"axis": 2}), ("roll", (A, 2), {}), ("pad", (A, ((0, 0), (1, 2), (0, 1))), {}),
    ("pad", (A, ((0, 0), (1, 1), (2, 0))), {"constant_values": 3.0}), ("tril", (M,), {}), ("triu", (M,), {"k": 1}),
    ("unstack", (torch.from_numpy(A),), {"axis": 1}),
    # indexing and sorting
    ("take", (A, np.array([2, 0])), {"axis": 1}), ("take", (A, IDS), {}), ("take", (A, IDS), {"axis": -1}),
    ("take_along_axis", (A, np.argsort(A, axis=-1)), {"axis": -1}), ("sort", (A,), {}), ("sort", (A,), {"axis": 0}),
    ("argsort", (A,), {"axis": 1}), ("top_k", (A, 2), {}),
    ("get_item", (A, (slice(None), -1)), {}), ("get_item", (A, (Ellipsis, slice(1, 3))), {}),
    # new arrays
    ("zeros", ((2, 3),), {}), ("ones", ((2,),), {"dtype": "int32"}), ("full", ((2, 2), 7.0), {}),
    ("zeros_like", (A,), {}), ("ones_like", (IDS,), {}), ("full_like", (A, 2.0), {}), ("arange", (5,), {}),
    ("arange", (1, 7, 2), {}), ("arange", (0.0, 1.0, 0.25), {}), ("linspace", (0, 1, 5), {}),
    ("linspace", (0, 1, 4), {"endpoint": False}), ("eye", (3,), {}), ("eye", (3, 4), {"k": 1}), ("identity", (3,), {}),
    ("tri", (3,), {}),
    # nn
    ("softmax", (A,), {}), ("softmax", (A,), {"axis": 1}), ("log_softmax", (A,), {"axis": -1}),
    ("one_hot", (IDS, 4), {}), ("one_hot", (IDS, 4), {"axis": 1}),
    ("multi_hot", (IDS, 4), {}), ("moments", (A, (0, 1)), {}), ("moments", (A, 2), {"keepdims": True}),
    ("normalize", (A,), {}), ("normalize", (A,), {"axis": 1, "order": 1}),
    ("binary_crossentropy", ((A > 0).astype("float32"), 1 / (1 + np.exp(-B))), {}),
    ("binary_crossentropy", ((A > 0).astype("float32"), B), {"from_logits": True}),
    ("categorical_crossentropy", (np.eye(4, dtype="float32")[IDS], np.abs(A)), {}),
    ("categorical_crossentropy", (np.eye(4, dtype="float32")[IDS], A), {"from_logits": True}),
    ("sparse_categorical_crossentropy", (IDS, A), {"from_logits": True}),
    ("sparse_categorical_crossentropy", (IDS, np.abs(A) / np.abs(A).sum(-1, keepdims=True)), {}),
    ("dot_product_attention", (A[:, :, None], B[:, :, None], A[:, :, None]), {}),
    ("dot_product_attention", (A[:, :, None], B[:, :, None], A[:, :, None]), {"is_causal": True}),
    ("dot_product_attention", (A[:, :, None], B[:, :, None], A[:, :, None]), {"scale": 0.3}),
    # core
    ("cast", (A, "int32"), {}), ("cast", (IDS, "float32"), {}), ("stop_gradient", (torch.from_numpy(A),), {}),
    ("slice", (A, (0, 1, 1), (2, 2, 2)), {}), ("slice_update", (A, (0, 1, 0), np.ones((1, 2, 4), "float32")), {}),
    ("scatter_update", (M, np.array([[0, 1], [2, 3]]), np.array([9.0, 8.0], "float32")), {}),
    ("scatter", (np.array([[0, 1], [2, 3], [0, 1]]), np.array([1.0, 2.0, 3.0], "float32"), (3, 4)), {}),
    ("convert_to_tensor", ([1.0, 2],), {}), ("convert_to_tensor", (A,), {"dtype": "float64"}),
    # linalg
    ("norm", (M,), {}), ("norm", (A,), {"axis": -1}), ("norm", (A,), {"axis": -1, "ord": 1, "keepdims": True}),
    ("norm", (A,), {"axis": (1, 2)}), ("inv", (SPD,), {}), ("det", (SPD,), {}), ("solve", (SPD, M), {}),
    ("cholesky", (SPD,), {}),
]


def _leaves(x):
    if isinstance(x, (list, tuple)):
        return [leaf for v in x for leaf in _leaves(v)]
    return [np.asarray(keras.ops.convert_to_numpy(x)) if not isinstance(x, (int, float)) else np.asarray(x)]


def _keras_op(name):
    if name in ("norm", "inv", "det", "solve", "cholesky"):
        return getattr(keras.ops.linalg, name) if hasattr(keras.ops.linalg, name) else getattr(keras.ops, name)
    return getattr(keras.ops, name)


@pytest.mark.parametrize("name,args,kwargs", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_op_gives_keras_values(name, args, kwargs):
    """Same arrays in, same values and shapes out as keras.ops (booleans and integers exactly)."""
    want = _leaves(_keras_op(name)(*args, **kwargs))
    got = _leaves(getattr(ops, name)(*args, **kwargs))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape
        if w.dtype == bool or np.issubdtype(w.dtype, np.integer):
            assert g.dtype.kind == w.dtype.kind and np.array_equal(g, w)
        else:
            assert g.dtype.kind == "f" and np.allclose(g, w, rtol=1e-5, atol=1e-5, equal_nan=True)


@pytest.mark.parametrize("value", [1.5, 2, True, [1, 2], [1.0, 2], np.float64(1.0), np.zeros(2), np.zeros(2, "int32")])
def test_convert_to_tensor_takes_keras_default_dtypes(value):
    """Python floats → float32, ints → int32 (Keras's defaults); arrays keep theirs."""
    assert ops.convert_to_tensor(value).dtype == keras.ops.convert_to_tensor(value).dtype


def test_shape_dtype_and_numpy_as_keras():
    x = torch.zeros(2, 3)
    assert ops.shape(x) == keras.ops.shape(x) == (2, 3)
    assert ops.dtype(x) == keras.ops.dtype(x) == "float32"
    assert isinstance(ops.convert_to_numpy(torch.ones(2, requires_grad=True)), np.ndarray)
    assert ops.size(A) == 24 and ops.ndim(A) == 3 and ops.is_tensor(x) and not ops.is_tensor(A)


def test_where_keras_pytorch_backend_differs_numpy_is_the_reference():
    """Keras 3.15's PyTorch backend returns ``count_nonzero``'s counts along ``axis=1`` transposed ((4, 2) for
    (2, 3, 4)) and cannot weight ``average`` along an axis other than the last; an id outside [0, n) one-hot
    encodes as zeros (Keras's other backends; its PyTorch backend raises)."""
    assert np.array_equal(ops.count_nonzero(A > 0, axis=1), np.count_nonzero(A > 0, axis=1))
    w = np.array([1.0, 2.0, 3.0], "float32")
    assert np.allclose(ops.average(A, axis=1, weights=w), np.average(A, axis=1, weights=w), atol=1e-6)
    assert np.array_equal(ops.one_hot(np.array([0, -1, 5, 2]), 4), np.array([[1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0],
                                                                             [0, 0, 1, 0]], "float32"))


def test_split_that_does_not_divide_is_refused():
    with pytest.raises(ValueError, match="does not divide"):
        ops.split(A, 3, axis=-1)


def test_control_flow_as_keras():
    """cond / fori_loop / while_loop / scan / map give what Keras's give for the same functions."""
    for lib in (keras.ops, ops):
        assert float(lib.cond(True, lambda: 1.0, lambda: 2.0)) == 1.0
    f = lambda i, v: v + i  # noqa: E731
    assert int(ops.fori_loop(0, 5, f, 0)) == int(keras.ops.fori_loop(0, 5, f, 0)) == 10
    body, cond = (lambda a, b: (a + 1, b * 2)), (lambda a, b: a < 4)
    assert [int(v) for v in ops.while_loop(cond, body, (0, 1))] == [int(v) for v in
                                                                   keras.ops.while_loop(cond, body, (0, 1))]
    step = lambda c, x: (c + x, c * x)  # noqa: E731
    xs = np.arange(1.0, 5.0, dtype="float32")
    for reverse in (False, True):
        kc, ky = keras.ops.scan(step, 0.0, xs, reverse=reverse)
        rc, ry = ops.scan(step, 0.0, xs, reverse=reverse)
        assert np.allclose(rc, keras.ops.convert_to_numpy(kc)) and np.allclose(ry, keras.ops.convert_to_numpy(ky))
    assert np.allclose(ops.map(lambda r: r.sum(), A), keras.ops.convert_to_numpy(keras.ops.map(lambda r: r.sum(), A)))


def test_ops_are_differentiable():
    """Gradients flow through the ops (a custom layer's loss trains): d/dx mean(softmax(x) * x) by autograd equals
    the finite difference."""
    x = torch.tensor(A[0], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: ops.mean(ops.softmax(t) * ops.tanh(t), axis=1), (x,))


def test_cross_takes_the_last_axis_as_numpy_where_keras_pytorch_backend_takes_the_first_of_size_3():
    a, b = A[..., :3], B[..., :3]  # (2, 3, 3): axis 1 is also of size 3
    np.testing.assert_allclose(ops.cross(a, b).numpy(), np.cross(a, b), rtol=1e-5, atol=1e-6)


def test_sparsemax_projects_onto_the_simplex():
    """Martins & Astudillo's sparsemax, by hand: z = (0.1, 0.1, 0.3) keeps all three, τ = (0.5 − 1)/3, p = z − τ; a
    dominant logit takes everything. (Keras 3.15's PyTorch backend sums the wrong cumulative sums for τ: its rows do not
    sum to 1.)"""
    got = ops.sparsemax(np.array([[0.1, 0.1, 0.3], [1.0, 2.0, 0.5]], dtype="float32")).numpy()
    np.testing.assert_allclose(got, [[0.1 + 1 / 6, 0.1 + 1 / 6, 0.3 + 1 / 6], [0.0, 1.0, 0.0]], rtol=1e-6, atol=1e-7)
    rows = ops.sparsemax(A, axis=1).numpy()
    np.testing.assert_allclose(rows.sum(1), 1.0, rtol=1e-6)
    assert (rows >= 0).all()
