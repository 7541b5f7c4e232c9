"""``keras.utils.split_dataset``: shuffled, the same two subsets as Keras 3's PyTorch backend (same seed); in order
otherwise, as Keras documents it; Keras's sizes (fractions rounded, counts, the rest) and refusals; the parts feed a
DataLoader that rnnkit's fit reads."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import rnnkit.keras as rk  # noqa: E402


def items(part):
    return [tuple(int(v) for v in item) for item in part]


@pytest.mark.parametrize("kwargs", [{"left_size": 0.6, "seed": 3}, {"right_size": 3, "seed": 1},
                                    {"left_size": 0.25, "right_size": 0.75, "seed": 0}])
@pytest.mark.parametrize("data", [np.arange(10), (np.arange(10), np.arange(10) * 2)])
def test_shuffled_parts_are_keras_parts(kwargs, data):
    theirs = keras.utils.split_dataset(data, shuffle=True, **kwargs)
    ours = rk.utils.split_dataset(data, shuffle=True, **kwargs)
    assert [items(p) for p in ours] == [items(p) for p in theirs]


def test_without_shuffle_the_order_is_kept():
    """Ten samples, left_size=0.6: the first six and the last four; 4 and 3 of them: samples 0–3 and 4–6."""
    left, right = rk.utils.split_dataset(np.arange(10), left_size=0.6)
    assert items(left) == [(i,) for i in range(6)] and items(right) == [(i,) for i in range(6, 10)]
    left, right = rk.utils.split_dataset((np.arange(10), np.arange(10) * 2), left_size=4, right_size=3)
    assert items(left) == [(i, 2 * i) for i in range(4)] and items(right) == [(i, 2 * i) for i in range(4, 7)]
    left, right = rk.utils.split_dataset(np.arange(10), left_size=4, right_size=3, shuffle=True, seed=0)
    assert len(left) == 4 and len(right) == 3 and not set(items(left)) & set(items(right))


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="At least one"):
        rk.utils.split_dataset(np.arange(10))
    with pytest.raises(ValueError, match="left_size"):
        rk.utils.split_dataset(np.arange(10), left_size=1.5)
    with pytest.raises(ValueError, match="right_size"):
        rk.utils.split_dataset(np.arange(10), right_size=10)
    with pytest.raises(ValueError, match="at most 1"):
        rk.utils.split_dataset(np.arange(10), left_size=0.7, right_size=0.6)
    with pytest.raises(ValueError, match="one length"):
        rk.utils.split_dataset((np.arange(10), np.arange(9)))
    with pytest.raises(TypeError, match="list/tuple of arrays"):
        rk.utils.split_dataset("not data", left_size=0.5)


def test_the_parts_train_a_model_through_a_dataloader():
    x = np.random.default_rng(0).standard_normal((40, 5, 2)).astype("float32")
    y = (x[:, :, 0].sum(1) > 0).astype("float32")
    train, val = rk.utils.split_dataset((x, y), left_size=0.75, shuffle=True, seed=0)
    m = rk.Sequential([rk.Input((5, 2)), rk.layers.GRU(4), rk.layers.Dense(1, activation="sigmoid")])
    m.compile("adam", "binary_crossentropy")
    history = m.fit(torch.utils.data.DataLoader(train, batch_size=10), epochs=2, verbose=0,
                    validation_data=torch.utils.data.DataLoader(val, batch_size=10))
    assert len(history.history["val_loss"]) == 2 and len(train) == 30 and len(val) == 10
