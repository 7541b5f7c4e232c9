"""Keras's ``SpectralNormalization(layer, power_iterations=1)`` (Miyato et al. 2018): while training, the wrapped
layer's kernel (or embeddings) W, reshaped to a matrix of its last axis' columns, is divided by its largest singular
value σ, estimated by power iteration from a kept vector u (non-trainable, drawn once from N(0, 0.02²) truncated):

    v = normalize(u Wᵀ),  u = normalize(v W)   (``power_iterations`` times),   σ = v W uᵀ,   W ← W / σ

— assigned in place before the layer runs, as Keras does (an all-zero kernel is left alone); at inference the layer
runs on the kernel as it stands. Weights in Keras's order: the kernel, u, then the layer's others.
"""

from __future__ import annotations

import torch

from rnnkit.keras import initializers
from rnnkit.keras.layers.core import Wrapper


def _normalize(x: torch.Tensor) -> torch.Tensor:
    return x / x.square().sum().clamp_min(1e-12).sqrt()  # Keras's normalize(axis=None): the L2 norm of all entries


class SpectralNormalization(Wrapper):
    def __init__(self, layer, power_iterations: int = 1, **kwargs):
        super().__init__(layer, **kwargs)
        if power_iterations <= 0:
            raise ValueError(f"`power_iterations` should be greater than zero. Received: "
                             f"`power_iterations={power_iterations}`")
        self.power_iterations = power_iterations

    def build(self, input_shape):
        super().build(input_shape)
        kernel = getattr(self.layer, "kernel", None)
        kernel = getattr(self.layer, "embeddings", None) if kernel is None else kernel
        if kernel is None:
            raise ValueError(f"{type(self.layer).__name__} object has no attribute 'kernel' nor 'embeddings'")
        self._kernel = [kernel]  # (a list: the wrapped layer owns the parameter)
        self.add_weight((1, kernel.shape[-1]), initializers.TruncatedNormal(stddev=0.02), name="vector_u",
                        trainable=False)

    @property
    def kernel(self) -> torch.nn.Parameter:
        return self._kernel[0]

    def _own_weights(self):
        return [self.kernel, *super()._own_weights()] if self.built else super()._own_weights()

    @property
    def weights(self):
        if not self.built:
            return super().weights
        return self._own_weights() + [w for w in self.layer.weights if w is not self.kernel]

    @torch.no_grad()
    def _normalize_kernel(self) -> None:
        W = self.kernel.reshape(-1, self.kernel.shape[-1])
        u = self.vector_u
        for _ in range(self.power_iterations):
            v = _normalize(u @ W.T)
            u = _normalize(v @ W)
        sigma = v @ W @ u.T
        self.vector_u.copy_(u)
        self.kernel.copy_(self.kernel / sigma)

    def call(self, x, mask=None, training=False):
        if training and bool(self.kernel.any()):
            self._normalize_kernel()
        return self.layer(x, training=training) if _takes_training(self.layer) else self.layer(x)

    def get_config(self):
        return {**super().get_config(), "power_iterations": self.power_iterations}


def _takes_training(layer) -> bool:
    from rnnkit.keras.layers.base import _call_takes

    return _call_takes(type(layer), "training")


__all__ = ["SpectralNormalization"]
