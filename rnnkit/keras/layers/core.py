"""Dense, Activation, Dropout, Embedding (and ReversibleEmbedding), Masking, RepeatVector, TimeDistributed — with
Keras's semantics and weights."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from rnnkit.keras import constraints, initializers, regularizers
from rnnkit.keras.backend import SeedStream, activation_name, get_activation
from rnnkit.keras.layers.base import Layer, _call_takes
from rnnkit.keras.layers.serialize import deserialize_layer, serialize_layer

_ser_i, _ser_r, _ser_c = (initializers.serialize_initializer, regularizers.serialize_regularizer,
                          constraints.serialize_constraint)


class KernelBiasLayer(Layer):
    """A layer with a ``kernel``, an optional ``bias`` and an activation (``Dense``, ``Conv1D``): Keras's arguments
    for them — initializers, regularizers, constraints — set, built and written to the config in one place."""

    def _kernel_bias(self, activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
                     bias_regularizer, kernel_constraint, bias_constraint) -> None:
        self.use_bias = use_bias
        self.activation = get_activation(activation)
        self._activation_name = activation_name(activation) if activation is not None else "linear"
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    def _add_kernel_bias(self, kernel_shape: tuple, bias_size: int) -> None:
        self.add_weight(kernel_shape, self.kernel_initializer, name="kernel", regularizer=self.kernel_regularizer,
                        constraint=self.kernel_constraint)
        if self.use_bias:
            self.add_weight((bias_size,), self.bias_initializer, name="bias", regularizer=self.bias_regularizer,
                            constraint=self.bias_constraint)

    def _kernel_bias_config(self) -> dict:
        return {"activation": self._activation_name, "use_bias": self.use_bias,
                "kernel_initializer": _ser_i(self.kernel_initializer), "bias_initializer": _ser_i(self.bias_initializer),
                "kernel_regularizer": _ser_r(self.kernel_regularizer), "bias_regularizer": _ser_r(self.bias_regularizer),
                "kernel_constraint": _ser_c(self.kernel_constraint), "bias_constraint": _ser_c(self.bias_constraint)}


class Dense(KernelBiasLayer):
    """``y = activation(x · kernel + bias)`` on the last axis; ``kernel`` is (input_dim, units) as in Keras."""

    supports_masking = True

    def __init__(self, units: int, activation=None, use_bias: bool = True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, lora_rank=None, lora_alpha=None,
                 quantization_config=None, **kwargs) -> None:
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
            raise ValueError(f"Dense: units must be a positive integer, got {units!r}")
        if lora_rank or quantization_config:
            raise ValueError("Dense: LoRA and quantization are not supported by rnnkit.keras")
        self.units = units
        self._kernel_bias(activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
                          bias_regularizer, kernel_constraint, bias_constraint)

    def build(self, input_shape):
        self._add_kernel_bias((input_shape[-1], self.units), self.units)

    def call(self, x, mask=None, training=False):
        if x.shape[-1] != self.kernel.shape[0]:
            raise ValueError(f"Dense {self.name!r}: input has last dimension {x.shape[-1]} (shape {tuple(x.shape)}), "
                             f"expected {self.kernel.shape[0]}")
        y = x @ self.kernel
        if self.use_bias:
            y = y + self.bias
        return self.activation(y)

    def get_config(self):
        return {**super().get_config(), "units": self.units, **self._kernel_bias_config(), "quantization_config": None}


class Activation(Layer):
    supports_masking = True

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation, self._activation_name = get_activation(activation), activation_name(activation)

    def call(self, x, mask=None, training=False):
        return self.activation(x)

    def get_config(self):
        return {**super().get_config(), "activation": self._activation_name}


class Identity(Layer):
    """Keras's ``Identity``: the input unchanged (its mask too)."""

    supports_masking = True

    def call(self, x, mask=None, training=False):
        return x


class Dropout(Layer):
    supports_masking = True

    """Inverted dropout; ``noise_shape`` (None entries = the input's) shares a mask along axes; ``seed`` makes the
    masks repeatable whatever else draws from torch's global generator — and Keras's own masks for that seed."""

    def __init__(self, rate: float, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate < 1:
            raise ValueError(f"Dropout: rate must be in [0, 1), got {rate}")
        self.rate, self.noise_shape, self.seed = rate, noise_shape, seed
        self.seeds = SeedStream(seed)

    def call(self, x, mask=None, training=False):
        if not training or not self.rate:
            return x
        if self.noise_shape is None and self.seed is None:
            return F.dropout(x, self.rate, training=True)
        shape = x.shape if self.noise_shape is None else \
            [d if n is None else n for d, n in zip(x.shape, self.noise_shape)]
        return x * self.seeds.dropout_mask(shape, self.rate, x)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed,
                "noise_shape": list(self.noise_shape) if self.noise_shape is not None else None}


class Embedding(Layer):
    reads_ids = True
    """Integer ids → vectors; ``mask_zero=True`` makes id 0 padding (masked) for the layers after it."""

    def __init__(self, input_dim: int, output_dim: int, embeddings_initializer="uniform", embeddings_regularizer=None,
                 embeddings_constraint=None, mask_zero: bool = False, weights=None, lora_rank=None, lora_alpha=None,
                 quantization_config=None, **kwargs):
        kwargs.pop("input_length", None)
        super().__init__(**kwargs)
        if lora_rank or quantization_config:
            raise ValueError("Embedding: LoRA and quantization are not supported by rnnkit.keras")
        self.input_dim, self.output_dim, self.mask_zero = input_dim, output_dim, mask_zero
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self._initial_weights = weights

    def build(self, input_shape):
        self.add_weight((self.input_dim, self.output_dim), self.embeddings_initializer, name="embeddings",
                        regularizer=self.embeddings_regularizer, constraint=self.embeddings_constraint)
        if self._initial_weights is not None:
            self.set_weights(self._initial_weights)
            self._initial_weights = None

    def call(self, x, mask=None, training=False):
        if x.is_floating_point():
            if not torch.all(x == x.round()):
                raise TypeError(f"Embedding {self.name!r}: expected integer ids, got non-integer floats")
            x = x.long()
        traced = torch.compiler.is_exporting() or torch.compiler.is_compiling()  # (a value check cannot be traced)
        if not traced and x.numel() and (int(x.min()) < 0 or int(x.max()) >= self.input_dim):
            raise ValueError(f"Embedding {self.name!r}: ids must be in [0, {self.input_dim}), got range "
                             f"[{int(x.min())}, {int(x.max())}]")
        return F.embedding(x.long(), self.embeddings)

    def compute_mask(self, x, mask):
        return (x != 0) if self.mask_zero else None

    def get_config(self):
        cfg = super().get_config()
        return {**cfg, "input_dim": self.input_dim, "output_dim": self.output_dim,
                "embeddings_initializer": _ser_i(self.embeddings_initializer),
                "embeddings_regularizer": _ser_r(self.embeddings_regularizer),
                "activity_regularizer": cfg.get("activity_regularizer"),
                "embeddings_constraint": _ser_c(self.embeddings_constraint), "mask_zero": self.mask_zero,
                "quantization_config": None}


class ReversibleEmbedding(Embedding):
    """Keras's ``ReversibleEmbedding``: ids → vectors, and with ``reverse=True`` vectors → logits over the ids, h·Eᵀ
    with the same table E (``tie_weights``, a language model's tied input and output embeddings) or with a
    ``reverse_embeddings`` matrix of its own; ``logit_soft_cap`` c bounds them, c · tanh(logits / c)."""

    def __init__(self, input_dim: int, output_dim: int, tie_weights: bool = True, embeddings_initializer="uniform",
                 embeddings_regularizer=None, embeddings_constraint=None, mask_zero: bool = False,
                 reverse_dtype=None, logit_soft_cap=None, **kwargs):
        super().__init__(input_dim, output_dim, embeddings_initializer, embeddings_regularizer,
                         embeddings_constraint, mask_zero, **kwargs)
        if reverse_dtype not in (None, "float32"):
            raise ValueError(f"ReversibleEmbedding: rnnkit.keras computes in float32; reverse_dtype={reverse_dtype!r} "
                             "is not supported")
        self.tie_weights, self.reverse_dtype, self.logit_soft_cap = tie_weights, reverse_dtype, logit_soft_cap

    def build(self, input_shape):
        super().build(input_shape)
        if not self.tie_weights:
            self.add_weight((self.output_dim, self.input_dim), self.embeddings_initializer, name="reverse_embeddings")

    def call(self, x, reverse: bool = False, mask=None, training=False):
        if not reverse:
            return super().call(x)
        logits = x @ (self.embeddings.T if self.tie_weights else self.reverse_embeddings)
        if self.logit_soft_cap is not None:
            logits = torch.tanh(logits / self.logit_soft_cap) * self.logit_soft_cap
        return logits

    def compute_mask(self, x, mask):
        return super().compute_mask(x, mask) if not x.is_floating_point() else None  # (reverse: vectors in)

    def get_config(self):
        return {**super().get_config(), "tie_weights": self.tie_weights, "reverse_dtype": self.reverse_dtype,
                "logit_soft_cap": self.logit_soft_cap}


class Masking(Layer):
    """Masks every time step whose features all equal ``mask_value`` (and zeroes it, as Keras does)."""

    supports_masking = True

    def __init__(self, mask_value: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = mask_value

    def compute_mask(self, x, mask):
        return torch.any(x != self.mask_value, dim=-1)

    def call(self, x, mask=None, training=False):
        keep = torch.any(x != self.mask_value, dim=-1, keepdim=True)
        return x * keep.to(x.dtype)

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}


class RepeatVector(Layer):
    def __init__(self, n: int, **kwargs):
        super().__init__(**kwargs)
        self.n = n

    def call(self, x, mask=None, training=False):
        if x.dim() != 2:
            raise ValueError(f"RepeatVector {self.name!r}: expected (batch, features), got shape {tuple(x.shape)}")
        return x.unsqueeze(1).expand(-1, self.n, -1)

    def get_config(self):
        return {**super().get_config(), "n": self.n}


class Wrapper(Layer):
    """Keras's base of the layers that wrap another (``TimeDistributed``, yours): holds ``layer``, builds it with the
    wrapper's input shape, and serializes it inside the wrapper's config."""

    def __init__(self, layer: Layer, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(layer, Layer):
            raise ValueError(f"{type(self).__name__} wraps a rnnkit.keras layer, got {type(layer).__name__}")
        self.layer = layer

    def _sublayers(self):
        return [self.layer]

    def build(self, input_shape):
        self._build_layer(input_shape[1:])

    def _build_layer(self, shape) -> None:
        """Build the wrapped layer for inputs of ``shape`` (batch axis left out)."""
        self.layer._maybe_build(torch.zeros((1, *shape), dtype=torch.long if self.layer.reads_ids else torch.float32))

    def get_config(self):
        return {**super().get_config(), "layer": serialize_layer(self.layer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        return cls(deserialize_layer(config.pop("layer"), custom_objects), **config)


class TimeDistributed(Wrapper):
    """Applies ``layer`` to every time step: (B, T, ...) → layer on (B·T, ...) → (B, T, ...). As in Keras, the mask
    passes through to the layers after it, and reaches the wrapped layer (per step) when its ``call`` takes one."""

    supports_masking = True

    def build(self, input_shape):
        self._build_layer(input_shape[2:])  # one time step

    def call(self, x, mask=None, training=False):
        B, T = x.shape[:2]
        kwargs = {"training": training}
        if mask is not None and (mask.dim() < 2 or tuple(mask.shape[:2]) != (B, T)):  # Keras's check, in its words
            raise ValueError(f"The `mask` passed to the `TimeDistributed` layer has a shape {tuple(mask.shape)} that "
                             f"is incompatible with the input shape {tuple(x.shape)}. The first two dimensions of the "
                             "mask (batch size and timesteps) must match the input's first two dimensions. Expected "
                             f"mask shape prefix: ({B}, {T}).")
        if mask is not None and _call_takes(type(self.layer), "mask"):
            kwargs["mask"] = mask.reshape(B * T, *mask.shape[2:])
        y = self.layer(x.reshape(B * T, *x.shape[2:]), **kwargs)
        return y.reshape(B, T, *y.shape[1:])
