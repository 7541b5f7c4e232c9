"""torch.func transforms (``grad``, ``vmap``, ``jacrev``, per-sample gradients) meet rnnkit's fast paths.

The fast paths — hand-written BPTT (custom autograd Functions without functorch rules), C loops that read a tensor's
memory, torch's fused kernels (no ``vmap`` batching rule for ``aten::lstm``) — cannot be transformed. So, as torch.nn's
own layers allow, a layer called under a transform runs the plain loop of its cell's step, whose every operation can
(``transforming``); and a kernel's backward that receives batched gradients (``autograd.grad(...,
is_grads_batched=True)``, which gradcheck's batched check and Jacobian code use, on a forward that ran outside any
transform) hands over to its reference equations in autograd operations (``batched``).
"""

from __future__ import annotations

import torch
from torch import Tensor


def transforming() -> bool:
    """Whether a torch.func transform is tracing the call now."""
    return torch._C._functorch.peek_interpreter_stack() is not None


def batched(t) -> bool:
    """Whether ``t`` is a functorch wrapper (a ``vmap`` batch — torch.func's or the legacy one ``is_grads_batched``
    uses — or a ``grad`` level): a tensor with no memory of its own for a compiled loop to read."""
    f = torch._C._functorch
    return isinstance(t, Tensor) and (f.is_functorch_wrapped_tensor(t) or f.is_legacy_batchedtensor(t))


__all__ = ["transforming", "batched"]
