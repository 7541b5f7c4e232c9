"""``keras.ops``' arrays: shapes (reshape, transpose, expand/squeeze, concatenate/stack/split, tile/repeat, pad),
indexing (``x[key]`` as ``get_item``, ``take``, ``take_along_axis``), sorting and ``top_k``, and new arrays (zeros,
ones, full, arange, linspace, eye, tri) — NumPy's signatures, as Keras's; torch tensors out."""

from __future__ import annotations

import builtins

import torch

from rnnkit.keras.ops.core import convert_to_tensor as _t
from rnnkit.keras.ops.core import torch_dtype
from rnnkit.keras.ops.operation import OPERATIONS, operation


def _dtype(dtype, default=torch.float32):
    return torch_dtype(dtype) if dtype is not None else default


def _ints(v) -> tuple:
    """A shape or repeat counts given as an int, a list/tuple (of ints or 0-d tensors) or a tensor, as ints."""
    if isinstance(v, torch.Tensor):
        return tuple(int(n) for n in v.reshape(-1).tolist())
    if isinstance(v, (list, tuple)):
        return tuple(int(n) for n in v)
    return (int(v),)


# --- shapes ------------------------------------------------------------------------------------------------------
@operation("Reshape", static=("newshape",))
def reshape(x, newshape):
    return _t(x).reshape(_ints(newshape))


@operation("Transpose", static=("axes",))
def transpose(x, axes=None):
    x = _t(x)
    return x.permute(*(axes if axes is not None else range(x.dim() - 1, -1, -1)))


@operation("ExpandDims", static=("axis",))
def expand_dims(x, axis):
    x = _t(x)
    for a in sorted(a % (x.dim() + len(axis)) for a in axis) if isinstance(axis, (list, tuple)) else [axis]:
        x = x.unsqueeze(a)
    return x


@operation("Squeeze", static=("axis",))
def squeeze(x, axis=None):
    x = _t(x)
    if axis is None:
        return x.squeeze()
    dims = tuple(axis) if isinstance(axis, (list, tuple)) else (axis,)
    for d in dims:
        if x.shape[d] != 1:
            raise ValueError(f"squeeze: axis {d} has size {x.shape[d]}, not 1 (shape {tuple(x.shape)})")
    return x.squeeze(dims)


@operation("Moveaxis", static=("source", "destination"))
def moveaxis(x, source, destination):
    return torch.movedim(_t(x), source, destination)


@operation("Swapaxes", static=("axis1", "axis2"))
def swapaxes(x, axis1, axis2):
    return torch.swapaxes(_t(x), axis1, axis2)


@operation("Ravel")
def ravel(x):
    return _t(x).reshape(-1)


def _same_dtype(xs):
    ts = [_t(x) for x in xs]
    dt = ts[0].dtype
    for t in ts[1:]:
        dt = torch.promote_types(dt, t.dtype)
    return [t.to(dt) for t in ts]


@operation("Concatenate", static=("axis",))
def concatenate(xs, axis=0):
    return torch.cat(_same_dtype(xs), dim=axis)


@operation("Stack", static=("axis",))
def stack(x, axis=0):
    return torch.stack(_same_dtype(x), dim=axis)


@operation("Append", static=("axis",))
def append(x1, x2, axis=None):
    a, b = _same_dtype([x1, x2])
    return torch.cat([a.reshape(-1), b.reshape(-1)]) if axis is None else torch.cat([a, b], dim=axis)


@operation("Split", static=("indices_or_sections", "axis"))
def split(x, indices_or_sections, axis=0):
    """NumPy's ``split``: ``n`` equal parts (an error when the axis does not divide), or cuts at the given indices."""
    x = _t(x)
    if isinstance(indices_or_sections, int):
        if x.shape[axis] % indices_or_sections:
            raise ValueError(f"split: axis {axis} of size {x.shape[axis]} does not divide into "
                             f"{indices_or_sections} equal parts")
        return list(torch.tensor_split(x, indices_or_sections, dim=axis))
    return list(torch.tensor_split(x, list(indices_or_sections), dim=axis))


@operation("ArraySplit", static=("indices_or_sections", "axis"))
def array_split(x, indices_or_sections, axis=0):
    return list(torch.tensor_split(_t(x), indices_or_sections, dim=axis))


@operation("Tile", static=("repeats",))
def tile(x, repeats):
    return torch.tile(_t(x), _ints(repeats))


@operation("Repeat", static=("repeats", "axis"))
def repeat(x, repeats, axis=None):
    x = _t(x)
    r = repeats if isinstance(repeats, int) else _t(repeats)
    return torch.repeat_interleave(x.reshape(-1) if axis is None else x, r, dim=0 if axis is None else axis)


@operation("BroadcastTo", static=("shape",))
def broadcast_to(x, shape):
    return torch.broadcast_to(_t(x), _ints(shape))


@operation("Flip", static=("axis",))
def flip(x, axis=None):
    x = _t(x)
    dims = range(x.dim()) if axis is None else (axis if isinstance(axis, (list, tuple)) else [axis])
    return torch.flip(x, dims=list(dims))


@operation("Roll", static=("shift", "axis"))
def roll(x, shift, axis=None):
    x = _t(x)
    return torch.roll(x, shifts=shift, dims=axis) if axis is not None else torch.roll(x.reshape(-1), shift).reshape(
        x.shape)


@operation("Pad", static=("pad_width", "mode"))
def pad(x, pad_width, mode="constant", constant_values=None):
    """NumPy's ``pad``: ``pad_width`` one (before, after) pair per axis (or one pair, or one number, for all)."""
    x = _t(x)
    if isinstance(pad_width, int):
        pairs = [(pad_width, pad_width)] * x.dim()
    elif len(pad_width) == 2 and all(isinstance(p, int) for p in pad_width):
        pairs = [tuple(pad_width)] * x.dim()
    else:
        pairs = [tuple(p) for p in pad_width]
    flat = [n for before, after in reversed(pairs) for n in (before, after)]
    if mode == "constant":
        return torch.nn.functional.pad(x, flat, value=0 if constant_values is None else constant_values)
    if constant_values is not None:
        raise ValueError("pad: constant_values is only for mode='constant'")
    torch_mode = {"reflect": "reflect", "symmetric": None, "edge": "replicate", "wrap": "circular"}.get(mode)
    if torch_mode is None:
        raise ValueError(f"pad: mode {mode!r} is not supported; expected constant, reflect, edge or wrap")
    return torch.nn.functional.pad(x[None, None], flat, mode=torch_mode)[0, 0] if x.dim() <= 3 \
        else torch.nn.functional.pad(x, flat, mode=torch_mode)


@operation("Tril", static=("k",))
def tril(x, k=0):
    return torch.tril(_t(x), diagonal=k)


@operation("Triu", static=("k",))
def triu(x, k=0):
    return torch.triu(_t(x), diagonal=k)


def size(x) -> int:
    return _t(x).numel()


def ndim(x) -> int:
    return _t(x).dim()


# --- indexing ----------------------------------------------------------------------------------------------------
def _key(key):
    if isinstance(key, list) and builtins.any(isinstance(k, (builtins.slice, type(None), type(Ellipsis)))
                                               for k in key):
        return tuple(key)  # a saved index (Keras writes a tuple as a list)
    if isinstance(key, tuple):
        return tuple(_t(k) if isinstance(k, list) else k for k in key)
    return key


@operation("GetItem")
def get_item(x, key):
    """``x[key]`` (what ``kt[...]`` records on a symbolic tensor)."""
    return _t(x)[_key(key)]


@operation("Take", static=("axis",))
def take(x, indices, axis=None):
    x, idx = _t(x), _t(indices).long()
    if axis is None:
        return x.reshape(-1)[idx]
    moved = x.movedim(axis, 0)[idx]
    return moved.movedim(tuple(range(idx.dim())), tuple(range(axis % x.dim(), axis % x.dim() + idx.dim())))


@operation("TakeAlongAxis", static=("axis",))
def take_along_axis(x, indices, axis=None):
    x, idx = _t(x), _t(indices).long()
    if axis is None:
        return x.reshape(-1)[idx.reshape(-1)]
    shape = builtins.list(torch.broadcast_shapes(x.shape[:axis % x.dim()] + (1,) + x.shape[axis % x.dim() + 1:],
                                                 idx.shape[:axis % x.dim()] + (1,) + idx.shape[axis % x.dim() + 1:]))
    xs, ids = shape.copy(), shape.copy()
    xs[axis], ids[axis] = x.shape[axis], idx.shape[axis]
    return torch.take_along_dim(x.expand(xs), idx.expand(ids), dim=axis)


@operation("Sort", static=("axis",))
def sort(x, axis=-1):
    return torch.sort(_t(x), dim=axis).values


@operation("Argsort", static=("axis",))
def argsort(x, axis=-1):
    x = _t(x)
    return torch.argsort(x.reshape(-1) if axis is None else x, dim=0 if axis is None else axis,
                         stable=True).to(torch.int32)


@operation("TopK", static=("k", "sorted"), module="math")
def top_k(x, k, sorted=True):  # noqa: A002 (Keras's argument name)
    """The ``k`` largest values along the last axis and their indices (int32)."""
    values, indices = torch.topk(_t(x), k, dim=-1, sorted=sorted)
    return values, indices.to(torch.int32)


# --- new arrays --------------------------------------------------------------------------------------------------
_shape = _ints


def zeros(shape, dtype=None):
    return torch.zeros(_shape(shape), dtype=_dtype(dtype))


def ones(shape, dtype=None):
    return torch.ones(_shape(shape), dtype=_dtype(dtype))


def empty(shape, dtype=None):
    return torch.empty(_shape(shape), dtype=_dtype(dtype))


@operation("Full", static=("shape", "dtype"))
def full(shape, fill_value, dtype=None):
    v = _t(fill_value)
    return torch.full(_shape(shape), 0, dtype=torch_dtype(dtype) or v.dtype).add_(v) if v.dim() else \
        torch.broadcast_to(v, _shape(shape)).to(torch_dtype(dtype) or v.dtype).clone()


def _like(fn, class_name):
    @operation(class_name, static=("dtype",))
    def op(x, dtype=None):
        x = _t(x)
        return fn(x, dtype=torch_dtype(dtype) or x.dtype)
    return op


zeros_like = _like(torch.zeros_like, "ZerosLike")
ones_like = _like(torch.ones_like, "OnesLike")
empty_like = _like(torch.empty_like, "EmptyLike")


@operation("FullLike", static=("dtype",))
def full_like(x, fill_value, dtype=None):
    x = _t(x)
    return torch.full_like(x, 0, dtype=torch_dtype(dtype) or x.dtype).add_(_t(fill_value))


def arange(start, stop=None, step=1, dtype=None):
    """NumPy's ``arange``: int32 for integer arguments, float32 otherwise (Keras's default dtypes)."""
    if stop is None:
        start, stop = 0, start
    ints = builtins.all(isinstance(v, int) for v in (start, stop, step))
    return torch.arange(start, stop, step, dtype=torch_dtype(dtype) or (torch.int32 if ints else torch.float32))


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    n = num if endpoint else num + 1
    out = torch.linspace(float(start), float(stop), n, dtype=_dtype(dtype))[:num]
    step = (float(stop) - float(start)) / ((num - 1) if endpoint else num) if num > 1 else 0.0
    return (out, step) if retstep else out


def eye(N, M=None, k=0, dtype=None):  # noqa: N803 (NumPy's names)
    M = N if M is None else M
    return torch.ones(N, M, dtype=_dtype(dtype)).tril(k).triu(k)


def identity(n, dtype=None):
    return eye(n, dtype=dtype)


def tri(N, M=None, k=0, dtype=None):  # noqa: N803
    return torch.ones(N, N if M is None else M, dtype=_dtype(dtype)).tril(k)


def array(x, dtype=None):
    from rnnkit.keras.ops.core import convert_to_tensor

    return convert_to_tensor(x, dtype)


def meshgrid(*x, indexing="xy"):
    return list(torch.meshgrid(*[_t(v) for v in x], indexing=indexing))


def _rearrange(tensor, pattern, **axes_lengths):
    import einops

    return einops.rearrange(_t(tensor), pattern, **axes_lengths)


def rearrange(tensor, pattern, **axes_lengths):
    """Keras's ``rearrange``: einops's axis notation — "b h w -> b (h w)", "b (h1 h2) w -> b h1 h2 w" with h1=3 —
    by the ``einops`` package; on a symbolic tensor, Keras's ``Rearrange`` operation."""
    from rnnkit.keras.ops.operation import Operation, _symbolic

    if _symbolic(tensor):
        return Operation("Rearrange")(tensor, pattern, **axes_lengths)
    return _rearrange(tensor, pattern, **axes_lengths)


OPERATIONS["Rearrange"] = (_rearrange, (), "keras.src.ops.einops")  # the pattern and lengths: call arguments


@operation("View", static=("dtype",))
def view(x, dtype=None):
    """The same bytes read as ``dtype`` (the last axis rescaled when the item sizes differ), as NumPy's ``view``."""
    x = _t(x)
    return x if dtype is None else x.view(torch_dtype(dtype))
