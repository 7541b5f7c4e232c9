"""Every public name of Keras 3.15's namespaces that a Keras user reaches (``keras.layers``, ``keras.optimizers``,
``keras.utils``, …) is either provided by rnnkit.keras or refused with why and what to use instead — an
``AttributeError`` naming it, never a bare "no attribute"."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import pytest  # noqa: E402

import rnnkit.keras as rk  # noqa: E402

NAMESPACES = ("layers", "optimizers", "callbacks", "utils", "losses", "metrics", "ops", "initializers", "saving",
              "config", "backend", "random", "activations", "regularizers", "constraints", "models",
              "dtype_policies", "mixed_precision", "tree")


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_every_keras_name_is_provided_or_refused_with_a_reason(namespace):
    ours = getattr(rk, namespace)
    for name in (n for n in dir(getattr(keras, namespace)) if not n.startswith("_")):
        try:
            getattr(ours, name)
        except AttributeError as e:
            assert "is not provided by rnnkit.keras: " in str(e) and name in str(e), (namespace, name, str(e))


def test_an_unknown_name_is_still_plain():
    with pytest.raises(AttributeError, match="has no attribute 'Nonsense'"):
        rk.layers.Nonsense  # noqa: B018 (the access is the point)
    with pytest.raises(AttributeError, match="torchvision"):
        rk.layers.RandomFlip  # noqa: B018
    assert getattr(rk.optimizers, "Muon", None) is None
