"""The rarer ``keras.ops``: function transforms (associative_scan, vectorize, custom_gradient, jvp), order
statistics, counting and spacing, linear algebra, normalization, convolution and pooling — against real Keras 3.15's
PyTorch backend on the same inputs (and, for associative_scan, against the sequential fold it must equal)."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import rnnkit.keras as rk  # noqa: E402

RNG = np.random.default_rng(0)
X = RNG.normal(size=(4, 6)).astype("float32")
WITH_NAN = X.copy()
WITH_NAN[[0, 2, 3], [1, 4, 0]] = np.nan
SPD = (lambda a: a @ a.T + 4 * np.eye(4, dtype="float32"))(RNG.normal(size=(4, 4)).astype("float32"))


def kn(t):
    return np.asarray(keras.ops.convert_to_numpy(t)) if not isinstance(t, (tuple, list)) else [kn(v) for v in t]


def same(ours, theirs, rtol=1e-5, atol=1e-6):
    if isinstance(theirs, (tuple, list)):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            same(a, b, rtol, atol)
        return
    a = ours.detach().numpy() if isinstance(ours, torch.Tensor) else np.asarray(ours)
    np.testing.assert_allclose(a, kn(theirs), rtol=rtol, atol=atol)


CASES = [
    ("nanargmax", (WITH_NAN,), {"axis": 1}), ("nanargmin", (WITH_NAN,), {}),
    ("nanmedian", (WITH_NAN,), {"axis": 0}), ("nanmedian", (WITH_NAN,), {}),
    ("nanquantile", (WITH_NAN, 0.3), {"axis": 1, "keepdims": True}),
    ("nanquantile", (WITH_NAN, [0.1, 0.9]), {"axis": 0, "method": "nearest"}),
    ("nanpercentile", (WITH_NAN, 75), {"axis": 1}),
    ("logspace", (0.0, 3.0), {"num": 7}), ("logspace", (1.0, 2.0), {"num": 5, "base": 2, "endpoint": False}),
    ("geomspace", (1.0, 1000.0), {"num": 4}), ("geomspace", (-1.0, -16.0), {"num": 5}),
    ("correlate", (X[0], X[1, :3]), {}), ("correlate", (X[0], X[1, :3]), {"mode": "full"}),
    ("correlate", (X[0], X[1, :4]), {"mode": "same"}),
    ("select", ([X > 0.5, X < -0.5], [X, -X]), {"default": 7.0}),
    ("cdist", (X[:3, :4], X[1:, :4]), {}), ("angle", (X,), {}),
    ("saturate_cast", (X * 300, "uint8"), {}), ("saturate_cast", (X * 1e5, "int16"), {}),
    ("segment_min", (X, np.array([0, 0, 1, 2])), {}), ("segment_prod", (X, np.array([0, 1, 1, 2])), {}),
    ("pinv", (X,), {}), ("slogdet", (SPD,), {}), ("logdet", (SPD,), {}),
    ("lstsq", (X, X[:, :2]), {}), ("solve_triangular", (np.triu(SPD), X[:, 0]), {}),
    ("solve_triangular", (np.tril(SPD), X[:, :2]), {"lower": True}), ("matrix_rank", (X @ X.T,), {}),
    ("cholesky_inverse", (np.linalg.cholesky(SPD),), {}),
    ("extract_sequences", (RNG.normal(size=(2, 20)).astype("float32"), 6, 4), {}),
    ("layer_normalization", (X,), {}), ("layer_normalization", (X, X[0] + 1, X[1]), {"epsilon": 1e-3}),
    ("rms_normalization", (X, X[0]), {}),
    ("batch_normalization", (X, X[0], X[1] ** 2, 1), {"offset": X[2], "scale": X[3]}),
]


@pytest.mark.parametrize("name, args, kwargs", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_the_operation_gives_keras_values(name, args, kwargs):
    same(getattr(rk.ops, name)(*args, **kwargs), getattr(keras.ops, name)(*args, **kwargs), rtol=1e-4, atol=1e-5)


def test_lu_factor_and_eig_reconstruct_the_matrix_as_keras_does():
    lu, piv = rk.ops.lu_factor(SPD)
    klu, kpiv = keras.ops.lu_factor(SPD)
    same(lu, klu)
    np.testing.assert_array_equal(piv.numpy(), kn(kpiv))
    values, vectors = rk.ops.eig(SPD)
    np.testing.assert_allclose(vectors.numpy() @ np.diag(values.numpy()) @ np.linalg.inv(vectors.numpy()), SPD,
                               atol=1e-4)
    np.testing.assert_allclose(np.sort(values.numpy().real), np.sort(kn(keras.ops.eig(SPD)[0]).real), rtol=1e-5)


def test_histogram_unique_and_argpartition():
    counts, edges = rk.ops.histogram(X.ravel(), bins=5)
    k_counts, k_edges = keras.ops.histogram(X.ravel(), bins=5)
    np.testing.assert_array_equal(counts.numpy(), kn(k_counts))
    same(edges, k_edges)
    ids = np.array([3, 1, 3, 2, 1, 3])
    ours = rk.ops.unique(ids, return_index=True, return_inverse=True, return_counts=True)
    theirs = keras.ops.unique(ids, return_index=True, return_inverse=True, return_counts=True)
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a.numpy(), kn(b))
    np.testing.assert_array_equal(rk.ops.unique(ids, size=5, fill_value=-1).numpy(), [1, 2, 3, -1, -1])
    order = rk.ops.argpartition(X[0], 2).numpy()  # any order with the 3rd smallest in place, NumPy's contract
    values = X[0][order]
    assert values[2] == np.sort(X[0])[2] and (values[:2] <= values[2]).all() and (values[3:] >= values[2]).all()


@pytest.mark.parametrize("reverse", [False, True])
def test_associative_scan_runs_a_linear_recurrence_as_keras_and_as_the_plain_loop(reverse):
    # h_t = a_t h_{t−1} + b_t composed as (a, b) ∘ (a', b') = (a a', a' b + b') — the scan a linear RNN runs on
    a, b = RNG.uniform(0.5, 1.0, size=(7, 3)).astype("float32"), RNG.normal(size=(7, 3)).astype("float32")

    def combine(first, second):
        return (first[0] * second[0], second[0] * first[1] + second[1])

    ours = rk.ops.associative_scan(combine, (a, b), reverse=reverse)
    same(ours, keras.ops.associative_scan(combine, (a, b), reverse=reverse))
    h, want = np.zeros(3, "float32"), []
    for t in (range(6, -1, -1) if reverse else range(7)):
        h = a[t] * h + b[t]
        want.append(h)
    np.testing.assert_allclose(ours[1].numpy(), np.array(want[::-1] if reverse else want), rtol=1e-5, atol=1e-6)
    same(rk.ops.associative_scan(lambda x, y: x + y, X, axis=1), keras.ops.associative_scan(lambda x, y: x + y, X,
                                                                                             axis=1))


def test_vectorize_custom_gradient_and_jvp():
    def dot(u, v):
        return (u * v).sum()

    same(rk.ops.vectorize(dot, signature="(n),(n)->()")(X, X[::-1]),
         keras.ops.vectorize(dot, signature="(n),(n)->()")(X, X[::-1]))
    same(rk.ops.vectorize(lambda u: u * 2 + 1)(X), keras.ops.vectorize(lambda u: u * 2 + 1)(X))

    @rk.ops.custom_gradient
    def clipped(x):
        def grad(*args, upstream):
            return torch.clamp(upstream, -0.5, 0.5)
        return x * 3.0, grad

    x = torch.tensor(X, requires_grad=True)
    clipped(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full_like(X, 0.5))  # the clipped upstream, not 3
    value, tangent = rk.ops.linalg.jvp(lambda u: torch.sin(u) * u, (X,), (np.ones_like(X),))
    k_value, k_tangent = keras.ops.linalg.jvp(lambda u: keras.ops.sin(u) * u, (torch.tensor(X),),
                                              (torch.ones(X.shape),))
    same(value, k_value)
    same(tangent, k_tangent)


IMAGES = RNG.normal(size=(2, 7, 6, 3)).astype("float32")
SEQS = RNG.normal(size=(2, 9, 3)).astype("float32")


@pytest.mark.parametrize("x", [SEQS, IMAGES], ids=["1d", "2d"])
@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("strides", [1, 2])
def test_convolutions_and_pools_give_keras_values(x, padding, strides):
    rank = x.ndim - 2
    k = (3,) * rank
    kernel = RNG.normal(size=(*k, 3, 4)).astype("float32")
    for name, args in (("conv", (x, kernel)), ("depthwise_conv", (x, kernel[..., :2])),
                       ("separable_conv", (x, kernel[..., :2], RNG.normal(size=(*(1,) * rank, 6, 5)).astype(
                           "float32"))), ("conv_transpose", (x, kernel.swapaxes(-1, -2)))):
        same(getattr(rk.ops, name)(*args, strides=strides, padding=padding),
             getattr(keras.ops, name)(*args, strides=strides, padding=padding), rtol=1e-4, atol=1e-5)
    for name in ("max_pool", "average_pool"):
        same(getattr(rk.ops, name)(x, 3, strides=strides, padding=padding),
             getattr(keras.ops, name)(x, 3, strides=strides, padding=padding))
    same(rk.ops.conv(x, kernel, dilation_rate=2, padding=padding), keras.ops.conv(x, kernel, dilation_rate=2,
                                                                                   padding=padding), rtol=1e-4,
         atol=1e-5)
    same(rk.ops.adaptive_average_pool(x, (2,) * rank), keras.ops.adaptive_average_pool(x, (2,) * rank))
    same(rk.ops.adaptive_max_pool(x, (2,) * rank), keras.ops.adaptive_max_pool(x, (2,) * rank))
    chw = np.moveaxis(x, -1, 1)
    same(rk.ops.conv(chw, kernel, data_format="channels_first"), keras.ops.conv(chw, kernel,
                                                                                 data_format="channels_first"),
         rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("pattern, lengths", [("b h w -> b (h w)", {}), ("b (h1 h2) w -> b h1 h2 w", {"h1": 2}),
                                              ("b h w -> w b h", {})])
def test_rearrange_gives_keras_values_and_travels_in_files(pattern, lengths, tmp_path):
    x = RNG.normal(size=(2, 4, 3)).astype("float32")
    same(rk.ops.rearrange(x, pattern, **lengths), keras.ops.rearrange(x, pattern, **lengths))
    inp = keras.Input((4, 3), batch_size=2)  # (Keras's Rearrange needs the batch size to infer its shape)
    model = keras.Model(inp, keras.layers.Flatten()(keras.ops.rearrange(inp, pattern, **lengths)))
    model.save(tmp_path / "m.keras")
    same(rk.models.load_model(tmp_path / "m.keras").predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_depth_space_fold_unfold_polar_and_views_give_keras_values(data_format):
    x = RNG.normal(size=(2, 4, 6, 8)).astype("float32")
    same(rk.ops.depth_to_space(x, 2, data_format=data_format),
         keras.ops.depth_to_space(x, 2, data_format=data_format))
    same(rk.ops.space_to_depth(x, 2, data_format=data_format),
         keras.ops.space_to_depth(x, 2, data_format=data_format))
    images = torch.tensor(RNG.normal(size=(2, 3, 6, 5)).astype("float32"))  # (Keras's unfold refuses NumPy arrays)
    columns = rk.ops.unfold(images, 3, padding=1)
    same(columns, keras.ops.unfold(images, 3, padding=1))
    same(rk.ops.fold(columns, (6, 5), 3, padding=1), keras.ops.fold(columns, (6, 5), 3, padding=1))
    z = rk.ops.polar(np.array([1.0, 2.0, 0.5], "float32"), np.array([0.0, 1.0, -2.0], "float32"))
    same(rk.ops.view_as_real(z), keras.ops.view_as_real(keras.ops.polar(np.array([1.0, 2.0, 0.5], "float32"),
                                                                        np.array([0.0, 1.0, -2.0], "float32"))))
    same(rk.ops.view_as_real(rk.ops.view_as_complex(x[0, 0, :, :2])), x[0, 0, :, :2])
    np.testing.assert_array_equal(rk.ops.view(x[0, 0, 0], "int32").numpy(), kn(keras.ops.view(x[0, 0, 0], "int32")))
