"""Keras's function transforms on torch: ``associative_scan`` (the parallel prefix a linear RNN is run by),
``vectorize`` (NumPy's, over ``torch.vmap``), ``custom_gradient`` (a torch ``autograd.Function``) and
``linalg.jvp`` (``torch.func.jvp``).

    associative_scan(f, x)_i = f(… f(f(x_0, x_1), x_2) …, x_i)      (f associative; ``reverse``: from the end)

computed by recursive doubling (Hillis & Steele 1986): log₂ n rounds, round r combining each element with the one
2^r before it — the same values as the sequential fold for an associative f, in a logarithmic number of steps."""

from __future__ import annotations

import numpy as np
import torch

from rnnkit.keras.backend import flatten as _flatten
from rnnkit.keras.ops.core import convert_to_tensor


def _pack(tree, leaves: list):
    """``leaves`` (consumed from the front) in ``tree``'s nesting."""
    if isinstance(tree, (list, tuple)):
        return type(tree)(_pack(item, leaves) for item in tree)
    if isinstance(tree, dict):
        return {key: _pack(tree[key], leaves) for key in sorted(tree)}
    return leaves.pop(0)


def _slice(x: torch.Tensor, start, stop, axis: int) -> torch.Tensor:
    index = [slice(None)] * x.dim()
    index[axis] = slice(start, stop)
    return x[tuple(index)]


def associative_scan(f, elems, reverse=False, axis=0):
    """Keras's ``associative_scan``: the inclusive scan of ``elems`` (a tensor or a nested structure of tensors of
    one length along ``axis``) under the associative ``f(a, b)`` (module docstring)."""
    if not callable(f):
        raise TypeError(f"`f` should be a callable. Received: f={f}")
    leaves = [convert_to_tensor(x) for x in _flatten(elems)]
    n = int(leaves[0].shape[axis])
    if any(int(x.shape[axis]) != n for x in leaves[1:]):
        raise ValueError(f"Array inputs to associative_scan must have the same first dimension. (saw: "
                         f"{[tuple(x.shape) for x in leaves]})")
    if reverse:
        leaves = [x.flip(axis) for x in leaves]
    offset = 1
    while offset < n:  # y_i ← f(y_{i−offset}, y_i) for i ≥ offset
        earlier = _pack(elems, [_slice(x, None, n - offset, axis) for x in leaves])
        later = _pack(elems, [_slice(x, offset, None, axis) for x in leaves])
        combined = [convert_to_tensor(c) for c in _flatten(f(earlier, later))]
        leaves = [torch.cat([_slice(x, None, offset, axis), c.to(x.dtype)], dim=axis) for x, c in zip(leaves, combined)]
        offset *= 2
    if reverse:
        leaves = [x.flip(axis) for x in leaves]
    return _pack(elems, leaves)


def vectorize(pyfunc, *, excluded=None, signature=None):
    """Keras's ``vectorize``: ``pyfunc`` mapped over its inputs' elements (or, with a NumPy ``signature`` such as
    "(n),(n)->()", over their leading axes), by ``torch.vmap``."""
    excluded = set(excluded or ())
    if signature is None:
        def mapped(*args, **kwargs):
            tensors = [convert_to_tensor(a) if i not in excluded else a for i, a in enumerate(args)]
            shape = torch.broadcast_shapes(*[t.shape for i, t in enumerate(tensors) if i not in excluded])
            fn = pyfunc
            for _ in range(len(shape)):
                fn = torch.vmap(fn, in_dims=tuple(None if i in excluded else 0 for i in range(len(tensors))))
            return fn(*[t if i in excluded else t.expand(shape) for i, t in enumerate(tensors)], **kwargs)
        return mapped

    core = [[d for d in part.strip("()").split(",") if d.strip()] for part in
            signature.replace(" ", "").split("->")[0].split("),(")]

    def mapped_signature(*args, **kwargs):
        tensors = [convert_to_tensor(a) if i not in excluded else a for i, a in enumerate(args)]
        loops = [t.dim() - len(core[i]) for i, t in enumerate(tensors) if i not in excluded]
        fn = pyfunc
        for _ in range(max(loops, default=0)):
            fn = torch.vmap(fn, in_dims=tuple(None if i in excluded else 0 for i in range(len(tensors))))
        return fn(*tensors, **kwargs)
    return mapped_signature


class _CustomGradient(torch.autograd.Function):
    @staticmethod
    def forward(ctx, forward_fn, *args):
        ctx.save_for_backward(*[a for a in args if isinstance(a, torch.Tensor)])
        output, ctx.grad_fn = forward_fn(*args)
        return output

    @staticmethod
    def backward(ctx, upstream):
        args = ctx.saved_tensors
        try:
            grads = ctx.grad_fn(*args, upstream=upstream)
        except TypeError:  # a grad(upstream) written for the TensorFlow / JAX backends
            grads = ctx.grad_fn(upstream)
        return (None, *(grads if isinstance(grads, tuple) else (grads,)))


def custom_gradient(f):
    """Keras's ``custom_gradient``: ``f(*args)`` returns ``(output, grad_fn)``; the decorated function returns the
    output, and its gradient is ``grad_fn(*args, upstream=g)`` (or ``grad_fn(g)``) — one gradient per argument."""
    def wrapped(*args):
        return _CustomGradient.apply(f, *[convert_to_tensor(a) if isinstance(a, (np.ndarray, list, float, int))
                                           else a for a in args])
    wrapped.__name__ = getattr(f, "__name__", "custom_gradient")
    return wrapped


def jvp(fun, primals, tangents, has_aux=False):
    """Keras's ``linalg.jvp``: (fun(*primals), the Jacobian of fun at primals times tangents) — and fun's auxiliary
    output with ``has_aux`` — by forward-mode differentiation (``torch.func.jvp``)."""
    primals = tuple(convert_to_tensor(p) for p in primals)
    tangents = tuple(convert_to_tensor(t) for t in tangents)
    return torch.func.jvp(fun, primals, tangents, has_aux=has_aux)


__all__ = ["associative_scan", "vectorize", "custom_gradient", "jvp"]
