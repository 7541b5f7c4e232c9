"""The per-step recurrent product ``x ↦ x W^T`` of the hand-written BPTT kernels, through oneDNN with the weight packed
once per sequence where that pays, else ``torch.mm``.

Each step of a recurrence multiplies a small batch (B rows) by the same weight; ``torch.mm`` re-reads the weight in
its plain layout every time, while oneDNN's linear with the weight reordered once into its blocked layout
(``mkldnn._reorder_linear_weight``, what inductor's CPU freezing uses) runs the same float32 product faster at larger
sizes. Measured on this project's 2-core machine: (32 × 512) · (512 × 2048) 350 µs against 560–590 µs for
``torch.mm``; the hand-written GRU kernel 1.15× faster forward+backward at H = 256 and 512. For weights under ~128k
entries no gain or a loss (a SimpleRNN's 256 × 256: 0.84×; an LSTM's 512 × 128: equal): those keep ``torch.mm``.
The results are float32 products in another summation order (single products agree with float64 to ~1e-6 relative,
as torch.mm's do).
"""

from __future__ import annotations

import contextlib
import contextvars

import torch
from torch import Tensor

#: the weight's size (entries) from which the packed product is used
PACK_FROM = 1 << 17


class RecurrentProduct:
    """``x W^T`` for (rows, in) inputs; ``W`` (out, in) — packed by oneDNN (CPU float32/bfloat16, ``W.numel() ≥
    PACK_FROM``, oneDNN present) or torch.mm. With ``dtype`` (e.g. bfloat16, what ``products_in`` sets under autocast)
    the product runs in that precision — operands rounded to it, the result handed back in ``W``'s dtype."""

    def __init__(self, W: Tensor, rows: int, dtype: torch.dtype | None = None) -> None:
        self.dtype = None if dtype in (None, W.dtype) else dtype
        self.out_dtype = W.dtype
        Wc = W if self.dtype is None else W.detach().to(self.dtype)
        self.W_T, self.packed = Wc.t(), None
        if (W.device.type == "cpu" and Wc.dtype in (torch.float32, torch.bfloat16) and W.numel() >= PACK_FROM
                and torch.backends.mkldnn.is_available() and not torch.compiler.is_compiling()):
            try:
                self.packed = torch.ops.mkldnn._reorder_linear_weight(Wc.detach().contiguous(), rows)
                self.linear = torch.ops.mkldnn._linear_pointwise
            except (AttributeError, RuntimeError):  # a build without these oneDNN operators
                self.packed = None

    def _raw(self, x: Tensor, out: Tensor | None = None) -> Tensor:
        """The product in the compute dtype (into ``out`` where torch.mm can write it)."""
        if self.dtype is not None:
            x, out = x.to(self.dtype), None
        if self.packed is None:
            return torch.mm(x, self.W_T, out=out)
        return self.linear(x, self.packed, None, "none", [], "")

    def __call__(self, x: Tensor, out: Tensor | None = None) -> Tensor:
        """``x W^T`` (into ``out`` where given and the product is torch.mm's; a fresh tensor otherwise)."""
        r = self._raw(x, out)
        if self.dtype is None:
            return r
        return r.to(self.out_dtype) if out is None else out.copy_(r)

    def add_to(self, acc: Tensor, x: Tensor) -> Tensor:
        """``acc += x W^T`` in place."""
        if self.packed is None and self.dtype is None:
            return acc.addmm_(x, self.W_T)
        return acc.add_(self._raw(x))

    def plus(self, c: Tensor | None, x: Tensor) -> Tensor:
        """``c + x W^T`` as a fresh tensor (``c`` None: the product alone)."""
        if c is None:
            return self(x)
        if self.dtype is not None:
            return torch.add(c, self._raw(x))  # the float32 sum of a bfloat16 product
        return torch.addmm(c, x, self.W_T) if self.packed is None else self._raw(x).add_(c)


_PRODUCT_DTYPE: contextvars.ContextVar[torch.dtype | None] = contextvars.ContextVar("rnnkit_product_dtype",
                                                                                    default=None)


@contextlib.contextmanager
def products_in(dtype: torch.dtype | None):
    """Within: the kernels that follow autocast (the layer-normalised cells') run their matrix products in ``dtype``
    (None: the weights' own). ``SequenceLayer`` sets it to autocast's dtype around its own paths."""
    token = _PRODUCT_DTYPE.set(dtype)
    try:
        yield
    finally:
        _PRODUCT_DTYPE.reset(token)


def product_dtype() -> torch.dtype | None:
    """The dtype ``products_in`` set (None outside)."""
    return _PRODUCT_DTYPE.get()


__all__ = ["RecurrentProduct", "PACK_FROM", "products_in", "product_dtype"]
