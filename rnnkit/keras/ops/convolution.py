"""Keras's convolution and pooling operations (``keras.ops.conv``, ``conv_transpose``, ``depthwise_conv``,
``separable_conv``, ``max_pool``, ``average_pool``, ``adaptive_average_pool``, ``adaptive_max_pool``) over 1–3
spatial axes, channels last (Keras's default) or first, with Keras's kernel layouts:

    conv            kernel (*k, channels / groups, filters)        y = Σ x ⋆ kernel   (cross-correlation, as Keras)
    depthwise_conv  kernel (*k, channels, multiplier)               each channel with its own filters
    separable_conv  depthwise (*k, channels, multiplier), pointwise (1…1, channels · multiplier, filters)
    conv_transpose  kernel (*k, filters, channels)                  the convolution's gradient, cut to Keras's length

"same" padding is Keras's (⌈n / s⌉ outputs, the padding split with the extra cell after); "same" pooling pads as
Keras's PyTorch backend does, and as rnnkit's pooling layers: a padding that splits evenly is never counted in a
mean; one that does not repeats the edge values (TensorFlow's Keras would average only the cells inside the input
there)."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from rnnkit.keras.layers.convolutional import _same_padding, transposed_length
from rnnkit.keras.ops.core import convert_to_tensor as _t
from rnnkit.keras.ops.operation import operation


def _float(x):
    x = _t(x)
    return x if x.is_floating_point() else x.to(torch.float32)


def _tuple(value, rank: int) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, (list, tuple)) else (int(value),) * rank


def _first(x, data_format) -> torch.Tensor:
    return x if data_format == "channels_first" else x.movedim(-1, 1)


def _last(y, data_format) -> torch.Tensor:
    return y if data_format == "channels_first" else y.movedim(1, -1)


def _pad_same(z, kernel, strides, dilation, value=0.0):
    pads = [p for d in reversed(range(len(kernel)))
            for p in _same_padding(z.shape[2 + d], kernel[d], strides[d], dilation[d])]
    return F.pad(z, pads, value=value)


def _convolve(x, weight, strides, padding, data_format, dilation, groups=1):
    """x (channels last/first) ⋆ weight (out, in / groups, *k): torch's conv with Keras's padding."""
    rank = weight.dim() - 2
    strides, dilation = _tuple(strides, rank), _tuple(dilation, rank)
    z = _first(_float(x), data_format)
    if padding == "same":
        z = _pad_same(z, weight.shape[2:], strides, dilation)
    elif padding != "valid":
        raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")
    y = (F.conv1d, F.conv2d, F.conv3d)[rank - 1](z, weight, stride=strides, dilation=dilation, groups=groups)
    return _last(y, data_format)


def _weight(kernel):
    """Keras's (*k, in, out) as torch's (out, in, *k)."""
    k = _float(kernel)
    return k.permute(k.dim() - 1, k.dim() - 2, *range(k.dim() - 2))


@operation("Conv", static=("strides", "padding", "data_format", "dilation_rate"), module="nn")
def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    weight = _weight(kernel)
    channels = _float(inputs).shape[1 if data_format == "channels_first" else -1]
    return _convolve(inputs, weight, strides, padding, data_format, dilation_rate, groups=channels // weight.shape[1])


@operation("DepthwiseConv", static=("strides", "padding", "data_format", "dilation_rate"), module="nn")
def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    k = _float(kernel)  # (*k, channels, multiplier) → (channels · multiplier, 1, *k)
    channels, multiplier = k.shape[-2], k.shape[-1]
    weight = k.reshape(*k.shape[:-2], 1, channels * multiplier)
    return _convolve(inputs, _weight(weight), strides, padding, data_format, dilation_rate, groups=channels)


@operation("SeparableConv", static=("strides", "padding", "data_format", "dilation_rate"), module="nn")
def separable_conv(inputs, depthwise_kernel, pointwise_kernel, strides=1, padding="valid", data_format=None,
                   dilation_rate=1):
    depthwise = depthwise_conv(inputs, depthwise_kernel, strides, padding, data_format, dilation_rate)
    return conv(depthwise, pointwise_kernel, 1, "valid", data_format, 1)


@operation("ConvTranspose", static=("strides", "padding", "output_padding", "data_format", "dilation_rate"),
           module="nn")
def conv_transpose(inputs, kernel, strides=1, padding="valid", output_padding=None, data_format=None,
                   dilation_rate=1):
    k = _float(kernel)  # (*k, filters, channels)
    rank = k.dim() - 2
    strides, dilation = _tuple(strides, rank), _tuple(dilation_rate, rank)
    out_pad = None if output_padding is None else _tuple(output_padding, rank)
    z = _first(_float(inputs), data_format)
    weight = k.permute(k.dim() - 1, k.dim() - 2, *range(rank))  # (channels, filters, *k): torch's transposed layout
    full = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[rank - 1](z, weight, stride=strides,
                                                                                 dilation=dilation)
    for d in range(rank):  # cut each axis to Keras's length, as the forward convolution's padding would
        n, size = z.shape[2 + d], k.shape[d]
        out = transposed_length(n, size, strides[d], padding, None if out_pad is None else out_pad[d], dilation[d])
        span = (size - 1) * dilation[d] + 1
        cut = max((n - 1) * strides[d] + span - out, 0) // 2
        full = full.narrow(2 + d, cut, min(out, full.shape[2 + d] - cut))
        if full.shape[2 + d] < out:  # a kernel shorter than the stride: zeros after the last window
            pad = [0, 0] * (rank - 1 - d) + [0, out - full.shape[2 + d]]
            full = F.pad(full, pad)
    return _last(full, data_format)


def _pool(kind: str):
    @operation(f"{kind}Pool", static=("pool_size", "strides", "padding", "data_format"), module="nn")
    def op(inputs, pool_size, strides=None, padding="valid", data_format=None):
        z = _first(_float(inputs), data_format)
        rank = z.dim() - 2
        size = _tuple(pool_size, rank)
        strides = size if strides is None else _tuple(strides, rank)
        fn = {"Max": (F.max_pool1d, F.max_pool2d, F.max_pool3d),
              "Average": (F.avg_pool1d, F.avg_pool2d, F.avg_pool3d)}[kind][rank - 1]
        extra = {"count_include_pad": False} if kind == "Average" else {}
        if padding == "valid":
            return _last(fn(z, size, strides), data_format)
        pads = [_same_padding(z.shape[2 + d], size[d], strides[d]) for d in range(rank)]
        if all(left == right for left, right in pads):  # split evenly: torch's padding, never counted in a mean
            return _last(fn(z, size, strides, padding=[left for left, _ in pads], **extra), data_format)
        z = F.pad(z, [p for pair in reversed(pads) for p in pair], mode="replicate")  # unevenly: the edges repeated
        return _last(fn(z, size, strides, **extra), data_format)
    op.__doc__ = f"Keras's ``{kind.lower()}_pool``: the {kind.lower()} of each window (module docstring)."
    return op


max_pool = _pool("Max")
average_pool = _pool("Average")


def _adaptive(kind: str):
    @operation(f"Adaptive{kind}Pool", static=("output_size", "data_format"), module="nn")
    def op(inputs, output_size, data_format=None):
        z = _first(_float(inputs), data_format)
        rank = z.dim() - 2
        fns = {"Average": (F.adaptive_avg_pool1d, F.adaptive_avg_pool2d, F.adaptive_avg_pool3d),
               "Max": (F.adaptive_max_pool1d, F.adaptive_max_pool2d, F.adaptive_max_pool3d)}[kind]
        return _last(fns[rank - 1](z, _tuple(output_size, rank)), data_format)
    op.__doc__ = f"Keras's ``adaptive_{kind.lower()}_pool``: windows sized to give ``output_size`` cells (PyTorch's)."
    return op


adaptive_average_pool = _adaptive("Average")
adaptive_max_pool = _adaptive("Max")



@operation("Unfold", static=("kernel_size", "dilation", "padding", "stride"), module="nn")
def unfold(x, kernel_size, dilation=1, padding=0, stride=1):
    """The sliding blocks of a (N, C, H, W) batch as columns, (N, C·kh·kw, blocks) — PyTorch's ``unfold``, as
    Keras's."""
    return F.unfold(_float(x), kernel_size, dilation=dilation, padding=padding, stride=stride)


@operation("Fold", static=("output_size", "kernel_size", "dilation", "padding", "stride"), module="nn")
def fold(x, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """``unfold``'s inverse: columns (N, C·kh·kw, blocks) summed back into (N, C, H, W)."""
    return F.fold(_float(x), output_size, kernel_size, dilation=dilation, padding=padding, stride=stride)


@operation("DepthToSpace", static=("block_size", "data_format"), module="nn")
def depth_to_space(x, block_size, data_format="channels_last"):
    """TensorFlow's ``depth_to_space``: each pixel's channels, in blocks of b × b, spread over a b × b patch."""
    import einops

    pattern = ("n h w (b1 b2 c) -> n (h b1) (w b2) c" if data_format == "channels_last"
               else "n (c b1 b2) h w -> n c (h b1) (w b2)")  # channels first: Keras's order (every backend's)
    return einops.rearrange(_t(x), pattern, b1=block_size, b2=block_size)


@operation("SpaceToDepth", static=("block_size", "data_format"), module="nn")
def space_to_depth(x, block_size, data_format="channels_last"):
    """``depth_to_space``'s inverse: each b × b patch stacked into one pixel's channels."""
    import einops

    pattern = ("n (h b1) (w b2) c -> n h w (b1 b2 c)" if data_format == "channels_last"
               else "n c (h b1) (w b2) -> n (c b1 b2) h w")
    return einops.rearrange(_t(x), pattern, b1=block_size, b2=block_size)


__all__ = ["conv", "conv_transpose", "depthwise_conv", "separable_conv", "max_pool", "average_pool",
           "adaptive_average_pool", "adaptive_max_pool", "unfold", "fold", "depth_to_space", "space_to_depth"]
