"""``keras.ops``' core: tensors in and out (``convert_to_tensor``, ``convert_to_numpy``, ``cast``, ``shape``), the
gradient stop, slices by start indices, and control flow (``cond``, ``scan``, ``fori_loop``, ``while_loop``, ``map``)
— on torch, as Keras's PyTorch backend runs them (eagerly: a Python loop is a loop)."""

from __future__ import annotations

import builtins

import numpy as np
import torch

from rnnkit.keras.ops.operation import operation

DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32, "float64": torch.float64,
          "int8": torch.int8, "int16": torch.int16, "int32": torch.int32, "int64": torch.int64, "uint8": torch.uint8,
          "bool": torch.bool, "complex64": torch.complex64, "complex128": torch.complex128}
NAMES = {v: k for k, v in DTYPES.items()}


def torch_dtype(dtype) -> torch.dtype | None:
    """A Keras dtype name (``"float32"``), a NumPy or a torch dtype as torch's; None stays None."""
    if dtype is None or isinstance(dtype, torch.dtype):
        return dtype
    name = np.dtype(dtype).name if not isinstance(dtype, str) else dtype
    if name not in DTYPES:
        raise ValueError(f"unsupported dtype {dtype!r}; expected one of {sorted(DTYPES)}")
    return DTYPES[name]


def _python_dtype(x) -> torch.dtype | None:
    """Keras's dtype for Python values: bool, int32 for integers, float32 for floats (lists: the widest leaf)."""
    leaves = list(np.asarray(x, dtype=object).ravel()) if isinstance(x, (list, tuple)) else [x]
    if any(isinstance(v, (float, np.floating)) for v in leaves):
        return torch.float32
    if leaves and all(isinstance(v, (bool, np.bool_)) for v in leaves):
        return torch.bool
    if any(isinstance(v, (int, np.integer)) for v in leaves):
        return torch.int32
    return None


def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    """A tensor of ``x``: tensors pass through, arrays keep their dtype, Python floats become float32 and ints int32
    (Keras's defaults) — or ``dtype``."""
    dt = torch_dtype(dtype)
    if isinstance(x, torch.Tensor):
        return x if dt is None or x.dtype == dt else x.to(dt)
    if isinstance(x, (np.ndarray, np.generic)) and not isinstance(x, float):  # np.float64 is a Python float
        t = torch.from_numpy(np.ascontiguousarray(x))
        return t if dt is None else t.to(dt)
    return torch.as_tensor(x, dtype=dt or _python_dtype(x))


def convert_to_numpy(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def is_tensor(x) -> bool:
    return isinstance(x, torch.Tensor)


def shape(x) -> tuple:
    """The shape as a tuple of ints (Keras's ``ops.shape``; ``None`` for a symbolic tensor's free axes)."""
    from rnnkit.keras.layers.symbolic import KerasTensor

    if isinstance(x, KerasTensor):
        return x.shape
    return tuple(convert_to_tensor(x).shape)


def dtype(x) -> str:
    return NAMES[convert_to_tensor(x).dtype]


@operation("Cast", static=("dtype",), module="core")
def cast(x, dtype):
    return convert_to_tensor(x).to(torch_dtype(dtype))


@operation("StopGradient", module="core")
def stop_gradient(variable):
    return convert_to_tensor(variable).detach()


@operation("Unstack", static=("num", "axis"), module="core")
def unstack(x, num=None, axis=0):
    return list(torch.unbind(convert_to_tensor(x), dim=axis))


@operation("Slice", static=("shape",), module="core")
def slice(inputs, start_indices, shape):  # noqa: A001 (Keras's name)
    """``inputs[start:start + shape]`` on every axis."""
    x = convert_to_tensor(inputs)
    starts = [int(s) for s in convert_to_tensor(start_indices).reshape(-1).tolist()]
    for axis, (s, n) in enumerate(zip(starts, shape)):
        x = x.narrow(axis, s, n if n != -1 else x.shape[axis] - s)
    return x


@operation("SliceUpdate", module="core")
def slice_update(inputs, start_indices, updates):
    """A copy of ``inputs`` with ``updates`` written from ``start_indices`` on."""
    x, u = convert_to_tensor(inputs).clone(), convert_to_tensor(updates)
    starts = [int(s) for s in convert_to_tensor(start_indices).reshape(-1).tolist()]
    x[tuple(builtins.slice(s, s + n) for s, n in zip(starts, u.shape))] = u.to(x.dtype)
    return x


@operation("ScatterUpdate", static=("reduction",), module="core")
def scatter_update(inputs, indices, updates, reduction=None):
    """``inputs`` with ``updates`` written (or added: ``reduction="add"``) at the index rows of ``indices``."""
    x, u = convert_to_tensor(inputs).clone(), convert_to_tensor(updates).to(convert_to_tensor(inputs).dtype)
    idx = tuple(convert_to_tensor(indices).long().t())
    if reduction in (None, "none"):
        x[idx] = u
    elif reduction == "add":
        x.index_put_(idx, u, accumulate=True)
    else:
        raise ValueError(f"scatter_update: reduction must be None or 'add', got {reduction!r}")
    return x


@operation("Scatter", static=("shape",), module="core")
def scatter(indices, values, shape):
    v = convert_to_tensor(values)
    out = torch.zeros(tuple(shape), dtype=v.dtype, device=v.device)
    return out.index_put_(tuple(convert_to_tensor(indices).long().t()), v, accumulate=True)


def cond(pred, true_fn, false_fn):
    return true_fn() if bool(pred) else false_fn()


def switch(index, branches, *operands):
    i = int(min(max(int(index), 0), len(branches) - 1))
    return branches[i](*operands)


def while_loop(cond, body, loop_vars, maximum_iterations=None):
    """``loop_vars = body(*loop_vars)`` while ``cond(*loop_vars)``; a tuple in, a tuple out (one value: itself)."""
    single = not isinstance(loop_vars, (list, tuple))
    state = (loop_vars,) if single else tuple(loop_vars)
    n = 0
    while bool(cond(*state)) and (maximum_iterations is None or n < maximum_iterations):
        out = body(*state)
        state = (out,) if single or not isinstance(out, (list, tuple)) else tuple(out)
        n += 1
    return state[0] if single else state


def fori_loop(lower, upper, body_fun, init_val):
    val = init_val
    for i in range(int(lower), int(upper)):
        val = body_fun(i, val)
    return val


def scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    """Keras's ``scan``: ``carry, y = f(carry, x)`` over the leading axis of ``xs`` (or ``length`` times with x None);
    returns the last carry and the ys stacked."""
    n = length if xs is None else convert_to_tensor(xs).shape[0]
    order = range(n - 1, -1, -1) if reverse else range(n)
    carry, ys = init, []
    for i in order:
        carry, y = f(carry, None if xs is None else xs[i])
        ys.append(y)
    if reverse:
        ys.reverse()
    if ys and all(isinstance(y, torch.Tensor) for y in ys):
        return carry, torch.stack(ys)
    return carry, ys


def map(f, xs):  # noqa: A001 (Keras's name)
    return torch.stack([convert_to_tensor(f(x)) for x in convert_to_tensor(xs)])


vectorized_map = map
