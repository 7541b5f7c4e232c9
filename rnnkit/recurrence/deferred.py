"""The loop backend's gradient trick: every weight's gradient in one matrix multiplication after the loop.

Autograd through an explicit loop computes, at every step t, the gradient of each recurrent product ``a_t = h_{t-1} W^T``
with respect to ``W``: ``dW += da_t^T h_{t-1}``. That is T small matmuls whose inner dimension is only the batch size —
the slowest shape there is (at hidden 512, half of the loop's backward time on this project's CPU). The sum is one GEMM:

    dW = Σ_t da_t^T h_{t-1} = [da_1; …; da_T]^T [h_0; …; h_{T-1}]          (inner dimension T·B)

``run_loop_deferred`` runs the ordinary loop inside a custom autograd Function on detached copies of the weights, with a
``matmul`` that records each product's input and output. Its backward lets autograd compute every other gradient through
the recorded graph (inputs, initial state, biases, and each ``da_t``), then forms each deferred ``dW`` in one GEMM.
The numbers are the same sum in another order (float32 results agree with plain autograd to ~1e-6). Under
``create_graph=True`` (double backward) the backward runs the plain loop again from the same inputs and lets autograd
differentiate it with a graph (``rnnkit.recurrence.bptt_reference.regrad``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from rnnkit.cells.base import MatMul, State, Step, matmul
from rnnkit.recurrence.bptt_reference import autocast_off, regrad
from rnnkit.recurrence.loop import run_loop
from rnnkit.recurrence.record import active_recorder
from rnnkit.recurrence.transforms import transforming

Bind = Callable[[dict[str, Tensor], MatMul], Step]


class _RecordingMatMul:
    """``x @ W^T`` that records (x, output) for the weights whose gradient is deferred."""

    def __init__(self, deferred: list[Tensor]) -> None:
        self.slots: dict[int, tuple[Tensor, list[Tensor], list[Tensor]]] = {
            id(w): (w.detach().t(), [], []) for w in deferred
        }

    def __call__(self, x: Tensor, W: Tensor, add: Tensor | None = None) -> Tensor:
        slot = self.slots.get(id(W))
        if slot is None:
            return matmul(x, W, add)
        W_T, xs, outs = slot
        out = x @ W_T if add is None else torch.addmm(add, x, W_T)  # ∂L/∂out is ∂L/∂(x W^T) either way
        if out.requires_grad:  # a product of constants (say, with the zero initial state) contributes no gradient
            xs.append(x.detach())
            outs.append(out)
        return out


class _DeferredLoop(torch.autograd.Function):
    @staticmethod
    def forward(ctx, bind, mask, names, deferred_names, xw_is_tuple, n_xw, n_state, *tensors):
        n_in = n_xw + n_state
        with torch.enable_grad():
            leaves = [t.detach().requires_grad_(t.requires_grad) for t in tensors]
            params = dict(zip(names, leaves[n_in:]))
            mm = _RecordingMatMul([params[n] for n in deferred_names])
            xw = tuple(leaves[:n_xw])
            y, final = run_loop(bind(params, mm), xw if xw_is_tuple else xw[0], tuple(leaves[n_xw:n_in]), mask)
        ctx.inner = (leaves, y, final, mm, [params[n] for n in deferred_names])
        ctx.plain = (bind, mask, names, xw_is_tuple, n_xw, n_in)
        ctx.save_for_backward(*tensors)
        return (y.detach(), *(f.detach() for f in final))

    @staticmethod
    @autocast_off
    def backward(ctx, dy, *dfinal):
        # The inner graph is kept (retain_graph) so that backward can run again when the caller retains the outer graph;
        # it is freed with this node, i.e. when the outputs are.
        if torch.is_grad_enabled():  # create_graph=True: the plain loop, differentiated by autograd with a graph
            return (None,) * 7 + regrad(ctx.needs_input_grad[7:], _plain(*ctx.plain), ctx.saved_tensors, (dy, *dfinal))
        leaves, y, final, mm, deferred = ctx.inner
        deferred_ids = {id(w) for w in deferred}
        wanted = [t for t in leaves if t.requires_grad and id(t) not in deferred_ids]
        slots = list(mm.slots.values())
        recorded = [o for _, _, outs in slots for o in outs]
        grads = torch.autograd.grad((y, *final), wanted + recorded, (dy, *dfinal), allow_unused=True, retain_graph=True)
        by_id = {id(t): g for t, g in zip(wanted, grads[:len(wanted)])}
        d_outs = iter(grads[len(wanted):])
        for w, (_, xs, outs) in zip(deferred, slots):
            pairs = [(x, g) for x, g in zip(xs, (next(d_outs) for _ in outs)) if g is not None]
            if pairs:
                X = torch.cat([x for x, _ in pairs])  # (T·B, in)
                dA = torch.cat([g for _, g in pairs])  # (T·B, out)
                by_id[id(w)] = dA.t() @ X  # dW = Σ_t da_t^T x_t, one GEMM
        return (None,) * 7 + tuple(by_id.get(id(t)) for t in leaves)


def _plain(bind, mask, names, xw_is_tuple, n_xw, n_in):
    """The loop as plain autograd operations, as a function of the tensors ``_DeferredLoop`` was given."""

    def run(*tensors):
        xw = tuple(tensors[:n_xw])
        y, final = run_loop(bind(dict(zip(names, tensors[n_in:])), matmul), xw if xw_is_tuple else xw[0],
                            tuple(tensors[n_xw:n_in]), mask)
        return (y, *final)
    return run


def run_loop_deferred(bind: Bind, params: dict[str, Tensor | None], deferred: list[str],
                      xw: Tensor | tuple[Tensor, ...], state: State, mask: Tensor | None = None,
                      record: Callable[[Tensor, State], None] | None = None) -> tuple[Tensor, State]:
    """``run_loop(bind(params, matmul), xw, state, mask)`` with the gradients of ``params[deferred]`` formed after the loop.

    ``bind(params, mm)`` must build the step from the given tensors and compute each product with a deferred weight ``W``
    as ``mm(x, W)``. Falls back to the plain loop when no gradient is needed, under ``torch.func`` transforms, and when
    a ``StepRecorder`` is active (then ``record(output_t, state_t)`` is called after every step, on the tensors of the
    outer graph).
    """
    if record is not None and active_recorder() is not None:
        step = bind(params, matmul)

        def recording_step(xw_t, s):
            out, new_state = step(xw_t, s)
            record(out, new_state)
            return out, new_state

        return run_loop(recording_step, xw, state, mask)
    present = {k: v for k, v in params.items() if v is not None}
    xs = (xw,) if isinstance(xw, Tensor) else tuple(xw)
    tensors = (*xs, *state, *present.values())
    if transforming() or not (torch.is_grad_enabled() and any(t.requires_grad for t in tensors)):
        return run_loop(bind(params, matmul), xw, state, mask)
    names = list(present)
    deferred_names = [k for k in deferred if k in present and present[k].requires_grad]
    absent = {k: None for k in params if k not in present}

    def bind_all(p: dict[str, Tensor], mm: MatMul) -> Step:
        return bind({**absent, **p}, mm)

    out = _DeferredLoop.apply(bind_all, mask, names, deferred_names, not isinstance(xw, Tensor), len(xs), len(state),
                              *tensors)
    return out[0], tuple(out[1:])
