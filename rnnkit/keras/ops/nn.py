"""``keras.ops.nn``: activations (Keras's defaults — ``gelu`` approximate, ``leaky_relu`` slope 0.2, ``hard_sigmoid``
as ``relu6(x + 3) / 6``), ``softmax``/``log_softmax`` over an axis, ``one_hot``/``multi_hot``, ``moments``,
``normalize``, the three cross-entropies (on probabilities or logits, Keras's clipping), scaled dot-product
attention, and CTC's loss and greedy decoding."""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

from rnnkit.keras.backend import EPSILON  # probabilities are clipped to [ε, 1 − ε] before a log
from rnnkit.keras.ops.core import convert_to_tensor as _t
from rnnkit.keras.ops.core import torch_dtype
from rnnkit.keras.ops.operation import operation


def _float(x):
    x = _t(x)
    return x if x.is_floating_point() else x.to(torch.float32)


def _activation(class_name: str, fn):
    @operation(class_name, module="nn")
    def op(x):
        return fn(_float(x))
    op.__doc__ = f"Keras's ``ops.{class_name.lower()}``, element-wise."
    return op


relu = _activation("Relu", torch.relu)
relu6 = _activation("Relu6", lambda x: torch.clamp(x, 0.0, 6.0))
sigmoid = _activation("Sigmoid", torch.sigmoid)
softplus = _activation("Softplus", F.softplus)
softsign = _activation("Softsign", F.softsign)
silu = _activation("Silu", F.silu)
swish = silu
log_sigmoid = _activation("LogSigmoid", F.logsigmoid)
hard_sigmoid = _activation("HardSigmoid", lambda x: torch.clamp(x + 3.0, 0.0, 6.0) / 6.0)
hard_silu = _activation("HardSilu", lambda x: x * torch.clamp(x + 3.0, 0.0, 6.0) / 6.0)
hard_swish = hard_silu
selu = _activation("Selu", F.selu)
mish = _activation("Mish", F.mish)
tanh_shrink = _activation("TanhShrink", lambda x: x - torch.tanh(x))


@operation("LeakyRelu", static=("negative_slope",), module="nn")
def leaky_relu(x, negative_slope=0.2):
    return F.leaky_relu(_float(x), negative_slope)


@operation("Elu", static=("alpha",), module="nn")
def elu(x, alpha=1.0):
    return F.elu(_float(x), alpha)


@operation("Celu", static=("alpha",), module="nn")
def celu(x, alpha=1.0):
    return F.celu(_float(x), alpha)


@operation("Gelu", static=("approximate",), module="nn")
def gelu(x, approximate=True):
    return F.gelu(_float(x), approximate="tanh" if approximate else "none")


@operation("Glu", static=("axis",), module="nn")
def glu(x, axis=-1):
    return F.glu(_float(x), dim=axis)


@operation("Softmax", static=("axis",), module="nn")
def softmax(x, axis=-1):
    x = _float(x)
    if isinstance(axis, (list, tuple)):  # over several axes at once
        m = x.amax(dim=tuple(axis), keepdim=True)
        e = torch.exp(x - m)
        return e / e.sum(dim=tuple(axis), keepdim=True)
    return torch.softmax(x, dim=-1 if axis is None else axis)


@operation("LogSoftmax", static=("axis",), module="nn")
def log_softmax(x, axis=-1):
    return torch.log_softmax(_float(x), dim=-1 if axis is None else axis)


@operation("OneHot", static=("num_classes", "axis", "dtype", "sparse"), module="nn")
def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    """Class ids → one-hot vectors on a new ``axis`` (default last); an id outside [0, num_classes) gives zeros."""
    ids = _t(x).long()
    valid = (ids >= 0) & (ids < num_classes)
    out = F.one_hot(torch.where(valid, ids, torch.zeros_like(ids)), num_classes) * valid.unsqueeze(-1)
    out = out.to(torch_dtype(dtype) or torch.float32)
    return out if axis == -1 else out.movedim(-1, axis)


@operation("MultiHot", static=("num_classes", "axis", "dtype", "sparse"), module="nn")
def multi_hot(inputs, num_classes, axis=-1, dtype=None, sparse=False):
    """Each row of ids → one vector with a 1 at every id it holds."""
    hot = one_hot(inputs, num_classes, axis=-1, dtype=dtype)
    out = hot.amax(dim=-2) if hot.dim() > 1 else hot
    return out if axis == -1 else out.movedim(-1, axis)


@operation("Moments", static=("axes", "keepdims", "synchronized"), module="nn")
def moments(x, axes, keepdims=False, synchronized=False):
    """The mean and (population) variance over ``axes``."""
    x = _float(x)
    dims = tuple(axes) if isinstance(axes, (list, tuple)) else (axes,)
    return x.mean(dim=dims, keepdim=keepdims), x.var(dim=dims, keepdim=keepdims, correction=0)


@operation("Normalize", static=("axis", "order", "epsilon"), module="nn")
def normalize(x, axis=-1, order=2, epsilon=None):
    """``x / max(‖x‖_order, ε)`` along ``axis``."""
    x = _float(x)
    return x / torch.clamp(torch.linalg.vector_norm(x, ord=order, dim=axis, keepdim=True),
                           min=EPSILON if epsilon is None else epsilon)


@operation("BinaryCrossentropy", static=("from_logits",), module="nn")
def binary_crossentropy(target, output, from_logits=False):
    """Element-wise: ``−(y log p + (1 − y) log(1 − p))``, p clipped to [ε, 1 − ε] (or from logits, stably)."""
    y, p = _float(target), _float(output)
    if from_logits:
        return F.binary_cross_entropy_with_logits(p, y.to(p.dtype), reduction="none")
    p = torch.clamp(p, EPSILON, 1.0 - EPSILON)
    return -(y * torch.log(p) + (1 - y) * torch.log(1 - p))


@operation("CategoricalCrossentropy", static=("from_logits", "axis"), module="nn")
def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """``−Σ y log p`` over ``axis``; probabilities are first rescaled to sum to 1 and clipped, as Keras does."""
    y, p = _float(target), _float(output)
    if from_logits:
        return -(y * torch.log_softmax(p, dim=axis)).sum(dim=axis)
    p = p / p.sum(dim=axis, keepdim=True)
    return -(y * torch.log(torch.clamp(p, EPSILON, 1.0 - EPSILON))).sum(dim=axis)


@operation("SparseCategoricalCrossentropy", static=("from_logits", "axis"), module="nn")
def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    ids = _t(target).long()
    p = _float(output)
    if ids.dim() == p.dim():
        ids = ids.squeeze(axis)
    return categorical_crossentropy(one_hot(ids, p.shape[axis], axis=axis, dtype=p.dtype), p, from_logits, axis)


@operation("DotProductAttention", static=("is_causal", "flash_attention", "attn_logits_soft_cap"), module="nn")
def dot_product_attention(query, key, value, bias=None, mask=None, scale=None, is_causal=False,
                          flash_attention=None, attn_logits_soft_cap=None):
    """Keras's layout (batch, length, heads, head_dim): ``softmax(q kᵀ · scale + bias, masked) v``; scale defaults to
    1/√head_dim; ``mask`` true where a query may attend."""
    q, k, v = _float(query), _float(key), _float(value)
    s = torch.einsum("bthd,bshd->bhts", q, k) * (1.0 / math.sqrt(q.shape[-1]) if scale is None else scale)
    if attn_logits_soft_cap is not None:
        s = attn_logits_soft_cap * torch.tanh(s / attn_logits_soft_cap)
    if bias is not None:
        s = s + _float(bias)
    allowed = None if mask is None else _t(mask).bool()
    if is_causal:
        causal = torch.ones(s.shape[-2], s.shape[-1], dtype=torch.bool, device=s.device).tril()
        allowed = causal if allowed is None else allowed & causal
    if allowed is not None:
        s = s.masked_fill(~allowed, torch.finfo(s.dtype).min)
    return torch.einsum("bhts,bshd->bthd", torch.softmax(s, dim=-1), v)


@operation("CTCLoss", static=("mask_index",), module="nn")
def ctc_loss(target, output, target_length, output_length, mask_index=0):
    """Per-sequence CTC loss −log p(target | output) (Graves et al. 2006): ``output`` (batch, T, classes) logits,
    log-softmaxed here; ``target`` (batch, S) label ids, the first ``target_length`` of each row counted; the blank is
    class ``mask_index``. torch's ``ctc_loss`` computes it, as Keras's PyTorch backend does."""
    logits = _float(output)
    log_probs = torch.log_softmax(logits.transpose(0, 1), dim=-1)
    return F.ctc_loss(log_probs, _t(target).long(), _t(output_length).long().reshape(-1),
                      _t(target_length).long().reshape(-1), blank=mask_index, reduction="none")


@operation("CTCDecode", static=("strategy", "beam_width", "top_paths", "merge_repeated", "mask_index"), module="nn")
def ctc_decode(inputs, sequence_lengths, strategy="greedy", beam_width=100, top_paths=1, merge_repeated=True,
               mask_index=0):
    """Keras's greedy CTC decoding: per step the best class, steps past a sequence's length dropped, repeats merged
    (``merge_repeated``), blanks (``mask_index``) removed; returns (labels of shape (1, batch, T), −1 after each
    sequence's labels; scores (batch, 1), minus the sum of the chosen inputs — Keras's greedy score, taken from the
    inputs as given)."""
    if strategy != "greedy":
        raise ValueError(f"ctc_decode: strategy={strategy!r} is not supported by rnnkit.keras (only 'greedy'); "
                         "rnnkit.decoding has a CTC prefix beam search")
    x = _float(inputs)
    batch, steps, classes = x.shape
    blank = classes - 1 if mask_index is None else mask_index
    scores, best = x.max(dim=-1)
    past_end = torch.arange(steps, device=x.device)[None, :] >= _t(sequence_lengths).long().reshape(-1, 1)
    best = best.masked_fill(past_end, blank)
    scores = scores.masked_fill(past_end, 0.0)
    keep = best != blank
    if merge_repeated:
        keep[:, 1:] &= best[:, 1:] != best[:, :-1]
    out = torch.full((batch, steps), -1, dtype=torch.int32, device=x.device)
    for b in range(batch):
        labels = best[b][keep[b]]
        out[b, :len(labels)] = labels.to(torch.int32)
    return out.unsqueeze(0), -scores.sum(dim=1, keepdim=True)


hard_tanh = _activation("HardTanh", lambda x: torch.clamp(x, -1.0, 1.0))


@operation("HardShrink", static=("threshold",), module="nn")
def hard_shrink(x, threshold=0.5):
    x = _float(x)
    return torch.where(torch.abs(x) > threshold, x, torch.zeros_like(x))


@operation("SoftShrink", static=("threshold",), module="nn")
def soft_shrink(x, threshold=0.5):
    x = _float(x)
    return torch.where(x > threshold, x - threshold, torch.where(x < -threshold, x + threshold, torch.zeros_like(x)))


@operation("Threshold", static=("threshold", "default_value"), module="nn")
def threshold(x, threshold, default_value):
    x = _float(x)
    return torch.where(x > threshold, x, torch.full_like(x, default_value))


@operation("Squareplus", static=("b",), module="nn")
def squareplus(x, b=4):
    """(x + √(x² + b)) / 2, a smooth ReLU."""
    x = _float(x)
    return (x + torch.sqrt(x * x + b)) / 2


@operation("SparsePlus", module="nn")
def sparse_plus(x):
    """0 for x ≤ −1, (x + 1)²/4 between, x for x ≥ 1."""
    x = _float(x)
    return torch.where(x <= -1, torch.zeros_like(x), torch.where(x >= 1, x, (x + 1) ** 2 / 4))


@operation("SparseSigmoid", module="nn")
def sparse_sigmoid(x):
    """0 for x ≤ −1, (x + 1)/2 between, 1 for x ≥ 1."""
    return torch.clamp((_float(x) + 1) / 2, 0.0, 1.0)


@operation("Sparsemax", static=("axis",), module="nn")
def sparsemax(x, axis=-1):
    """The Euclidean projection of x onto the simplex (Martins & Astudillo 2016): sparse probabilities."""
    z = _float(x).movedim(axis, -1)
    sorted_z = torch.sort(z, dim=-1, descending=True).values
    k = torch.arange(1, z.shape[-1] + 1, dtype=z.dtype, device=z.device)
    cumulative = sorted_z.cumsum(-1)
    support = (1 + k * sorted_z > cumulative).to(z.dtype)
    k_z = support.sum(-1, keepdim=True)
    tau = (torch.gather(cumulative, -1, k_z.long() - 1) - 1) / k_z
    return torch.clamp(z - tau, min=0).movedim(-1, axis)


@operation("PSNR", static=("max_val",), module="nn")
def psnr(x1, x2, max_val):
    """Peak signal-to-noise ratio in dB: 20 log10(max_val) − 10 log10(mean((x1 − x2)²))."""
    mse = torch.mean((_float(x1) - _float(x2)) ** 2)
    return 20 * torch.log10(torch.tensor(float(max_val))) - 10 * torch.log10(mse)


def _along(v, x, axes) -> torch.Tensor:
    """A per-feature vector (or None) shaped to broadcast against x over ``axes``."""
    if v is None:
        return None
    v = _t(v).to(x.dtype)
    if v.dim() == x.dim():
        return v
    shape = [1] * x.dim()
    for a, n in zip(axes, v.shape if v.dim() == len(axes) else [v.shape[0]]):
        shape[a] = n
    return v.reshape(shape)


@operation("LayerNorm", static=("axis", "epsilon"), module="nn")
def layer_normalization(x, gamma=None, beta=None, axis=-1, epsilon=None):
    """(x − mean) / sqrt(var + ε) · γ + β over ``axis`` (ε: Keras's 1e-7 unless given)."""
    x = _float(x)
    axes = sorted(a % x.dim() for a in ([axis] if isinstance(axis, int) else axis))
    eps = EPSILON if epsilon is None else epsilon
    mean = x.mean(axes, keepdim=True)
    var = x.var(axes, keepdim=True, unbiased=False)
    out = (x - mean) * torch.rsqrt(var + eps)
    gamma, beta = _along(gamma, x, axes), _along(beta, x, axes)
    out = out if gamma is None else out * gamma
    return out if beta is None else out + beta


@operation("RMSNorm", static=("axis", "epsilon"), module="nn")
def rms_normalization(x, scale=None, axis=-1, epsilon=None):
    """x / sqrt(mean(x²) + ε) · scale over ``axis``."""
    x = _float(x)
    axes = sorted(a % x.dim() for a in ([axis] if isinstance(axis, int) else axis))
    eps = EPSILON if epsilon is None else epsilon
    out = x * torch.rsqrt((x * x).mean(axes, keepdim=True) + eps)
    scale = _along(scale, x, axes)
    return out if scale is None else out * scale


@operation("BatchNorm", static=("axis", "epsilon"), module="nn")
def batch_normalization(x, mean, variance, axis, offset=None, scale=None, epsilon=1e-3):
    """(x − mean) / sqrt(variance + ε) · scale + offset, the statistics given per feature along ``axis``."""
    x = _float(x)
    axes = [axis % x.dim()]
    out = (x - _along(mean, x, axes)) * torch.rsqrt(_along(variance, x, axes) + epsilon)
    out = out if scale is None else out * _along(scale, x, axes)
    return out if offset is None else out + _along(offset, x, axes)


# Keras's ops.nn also holds the convolutions and pooling (convolution.py)
from rnnkit.keras.ops.convolution import (  # noqa: E402, F401
    adaptive_average_pool,
    adaptive_max_pool,
    average_pool,
    conv,
    conv_transpose,
    depth_to_space,
    depthwise_conv,
    fold,
    max_pool,
    separable_conv,
    space_to_depth,
    unfold,
)
from rnnkit.keras.ops.spectral import polar  # noqa: E402, F401 (keras.ops.nn.polar)
