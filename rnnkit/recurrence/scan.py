"""The scan backend: the loop over time as one ``scan`` operator instead of T Python steps.

    state_T, (output_1..output_T) = scan(step, state_0, xw_1..xw_T)

``torch._higher_order_ops.scan`` traces ``step`` once and runs it over dim 0. The same cell equations as the loop backend
(the step is the cell's own), but a program that captures the loop whole: ``torch.export`` and the ONNX exporter turn it
into an ONNX ``Scan`` with a dynamic number of steps, for every cell (torch's fused kernels export only for some). With a
step mask the state is carried unchanged through padded steps and their outputs are zero, as in the loop.

It is the backend rnnkit exports with; for training on CPU the loop and fused backends are faster.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from rnnkit.cells.base import State, Step
from rnnkit.recurrence.transforms import transforming


def scanning(layer) -> bool:
    """Whether ``layer`` runs on the scan backend now: when asked to (``backend="scan"``), and whenever ``torch.export``
    (or the ONNX exporter) traces it — the other backends' Python loops and in-place kernels do not export. Not under a
    torch.func transform, which cannot go through the scan operator (the plain loop runs then)."""
    return (layer.backend == "scan" and not transforming()) or torch.compiler.is_exporting()


def run_scan(make_step: Callable[[], Step], xw: Tensor | tuple[Tensor, ...], state: State, mask: Tensor | None = None
             ) -> tuple[Tensor, State]:
    """``run_loop``'s contract (outputs stacked on dim 0, final state) with torch's scan operator.

    ``make_step()`` builds the step (``lambda: bind(params, matmul)``) inside the scanned function, so that views a cell
    takes of its weights (a split, a transpose) are made there, not captured from outside: scan refuses captured tensors
    that alias one another."""
    from torch._higher_order_ops.scan import scan

    tupled = not isinstance(xw, Tensor)
    xs = tuple(xw) if tupled else (xw,)
    n = len(xs)

    def body(carry: tuple[Tensor, ...], inputs: tuple[Tensor, ...]):
        x_t = tuple(inputs[:n]) if tupled else inputs[0]
        out, new = make_step()(x_t, tuple(carry))
        if mask is not None:
            m_t = inputs[n]
            new = tuple(torch.where(m_t, a, b) for a, b in zip(new, carry))
            out = out * m_t
        return tuple(t.clone() for t in new), out.clone()  # scan's outputs may alias neither its inputs nor each other

    init = tuple(s.clone() for s in state)  # e.g. unbind views of one tensor: they would alias one another
    final, outputs = scan(body, init, xs + ((mask,) if mask is not None else ()))
    return outputs, tuple(final)


def unaliased(params: dict[str, Tensor | None]) -> dict[str, Tensor | None]:
    """``params`` with every tensor that shares memory with an earlier one cloned: torch's scan refuses captured
    tensors that alias one another, and a layer's weights flattened for cuDNN (``flatten_parameters``) are views of
    one buffer. Clones are differentiable; unflattened weights (any CPU layer) pass through as they are."""
    out, seen = {}, set()
    for name, t in params.items():
        if t is None:
            out[name] = t
            continue
        try:
            key = t.untyped_storage().data_ptr()
        except (RuntimeError, NotImplementedError):  # a tensor without storage (traced): nothing to share
            key = id(t)
        out[name] = t.clone() if key in seen else t
        seen.add(key)
    return out


__all__ = ["run_scan", "scanning", "unaliased"]
