"""What every cell shares: parameters laid out as ``torch.nn.*Cell``, input checks, unbatched input.

A cell is one time step. Its computation is split in two so that the loop over time can be fast:

* ``project_input(x)`` — the part that depends on the input only, ``W_ih x + b_ih``. It is the same matrix for every
  time step, so the sequence layers compute it for all steps in one matrix multiplication before the loop.
* ``bind(...)`` — returns ``step(xw_t, state) -> (output_t, new_state)``, the recurrent part, which must run step by step.

``state`` is always a tuple of tensors: ``(h,)`` for SimpleRNN and GRU, ``(h, c)`` for LSTM.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import torch
from torch import Tensor, nn
from torch.nn import functional as F

State = tuple[Tensor, ...]
Step = Callable[[Tensor, State], tuple[Tensor, State]]
MatMul = Callable[..., Tensor]


def matmul(x: Tensor, W: Tensor, add: Tensor | None = None) -> Tensor:
    """``x W^T`` (``+ add``, in the same kernel) — every recurrent product in a step goes through a function of this
    shape (``mm``), so that the loop backend can substitute one that defers ``W``'s gradient to a single GEMM after the
    loop (``rnnkit.recurrence.deferred``)."""
    return x @ W.t() if add is None else torch.addmm(add, x, W.t())


class ShapeError(ValueError, RuntimeError):
    """A tensor of the wrong shape. rnnkit's message; a ``ValueError``, and a ``RuntimeError`` too, because that is what
    torch raises for the same inputs (wrong feature size, ``hx`` of the wrong size, no time steps) and what code written
    for ``torch.nn`` catches."""


class DtypeError(TypeError, ValueError, RuntimeError):
    """A tensor of the wrong dtype: torch raises ``ValueError`` (layers: input vs weights) or ``RuntimeError`` (cells,
    ``hx``) for these; rnnkit raised ``TypeError`` — every one of them catches this."""


def check_int(owner: str, name: str, value, minimum: int) -> int:
    """torch.nn's constructor checks, in its words: ``TypeError`` for a non-integer (a bool included), ``ValueError``
    below minimum."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{owner}: {name} should be of type int, got: {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{owner}: {name} must be {'greater than zero' if minimum == 1 else 'non-negative'}, "
                         f"got {value}")
    return value


def check_bool(owner: str, name: str, value) -> bool:
    """``TypeError`` unless a bool (``batch_first="False"`` is a non-empty string, hence true: torch refuses it too)."""
    if not isinstance(value, bool):
        raise TypeError(f"{owner}: {name} should be of type bool, got: {type(value).__name__}")
    return value


def check_dropout(owner: str, dropout, num_layers: int) -> float:
    """torch.nn's rule for a layer's ``dropout`` (between stacked layers): a number in [0, 1] (``ValueError`` in torch's
    words), and a warning, as torch gives, when there is only one layer for it to act after."""
    if not isinstance(dropout, (int, float)) or isinstance(dropout, bool) or not 0 <= dropout <= 1:
        raise ValueError(f"{owner}: dropout should be a number in range [0, 1] representing the probability of an "
                         f"element being zeroed, got {dropout!r}")
    if dropout > 0 and num_layers == 1:
        warnings.warn(f"{owner}: dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
                      f"expects num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}",
                      stacklevel=3)
    return float(dropout)


def check_floating(name: str, tensor: Tensor) -> None:
    """Raise ``DtypeError`` (a TypeError and a ValueError) unless ``tensor`` is a floating-point tensor."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(tensor).__name__}")
    if not tensor.is_floating_point():
        raise DtypeError(
            f"{name} must be a floating-point tensor (float32/float64/...), got dtype {tensor.dtype}; "
            "convert it with .float() (token ids go through an embedding first)"
        )


def check_input(owner: str, input: Tensor, input_size: int) -> None:
    """A cell's input: floating point, 1-D (one unbatched step) or 2-D (batch, input_size), ``input_size`` features —
    refused otherwise, in torch.nn's words with the shape."""
    check_floating(f"{owner} input", input)
    if input.dim() not in (1, 2):
        raise ShapeError(f"{owner}: Expected input to be 1D or 2D, got {input.dim()}D instead (shape "
                         f"{tuple(input.shape)}; expected (batch, {input_size}) or ({input_size},))")
    if input.shape[-1] != input_size:
        raise ShapeError(f"{owner}: input has inconsistent input_size: got {input.shape[-1]} expected {input_size} "
                         f"(input shape {tuple(input.shape)})")


def init_uniform_(module: nn.Module, hidden_size: int) -> None:
    """torch.nn's recurrent initialisation: every parameter ~ U(-1/sqrt(H), 1/sqrt(H))."""
    k = 1.0 / math.sqrt(hidden_size) if hidden_size > 0 else 0.0  # a zero-size state has no weights to draw
    for p in module.parameters():
        nn.init.uniform_(p, -k, k)


def check_dtype(name: str, tensor: Tensor, weight: Tensor) -> None:
    """torch's check, in its words: an input whose dtype differs from the weights' is refused, naming both and the
    fix."""
    if tensor.dtype != weight.dtype:
        raise DtypeError(f"{name} dtype ({tensor.dtype}) does not match weight dtype ({weight.dtype}). Convert input: "
                         f"input.to({weight.dtype}), or convert model: model.to({tensor.dtype})")


def check_cell_state(owner: str, i: int, label: str, h: Tensor, batch: int, size: int, batched: bool) -> None:
    """A cell's state tensor ``i`` (``hx`` or ``hx[i]``, called ``label``): as many dimensions as the input (1-D
    unbatched, 2-D batched), ``batch`` rows, ``size`` units — refused otherwise, in torch.nn's words (its tests match
    them) with the shapes."""
    if h.dim() not in (1, 2):
        raise ShapeError(f"{owner}: Expected {label} to be 1D or 2D, got {h.dim()}D instead (shape {tuple(h.shape)})")
    if h.dim() != (2 if batched else 1):
        raise ShapeError(f"{owner}: for a {'batched 2-D' if batched else 'unbatched 1-D'} input, {label} should be "
                         f"{2 if batched else 1}-D too, got shape {tuple(h.shape)}")
    if batched and h.shape[0] != batch:
        raise ShapeError(f"{owner}: Input batch size {batch} doesn't match hidden{i} batch size {h.shape[0]} "
                         f"({label} shape {tuple(h.shape)})")
    if h.shape[-1] != size:
        raise ShapeError(f"{owner}: hidden{i} has inconsistent hidden_size: got {h.shape[-1]}, expected {size} "
                         f"({label} shape {tuple(h.shape)})")


class CellBase(nn.Module):
    """Parameters ``weight_ih (G*H, I)``, ``weight_hh (G*H, H)``, ``bias_ih (G*H)``, ``bias_hh (G*H)`` as in torch.nn.

    ``G`` (``num_gates``) is 1 for SimpleRNN, 4 for LSTM, 3 for GRU. Initialised like torch: U(-1/sqrt(H), 1/sqrt(H)).
    """

    num_gates: int = 1
    state_size: int = 1  # number of tensors in the state tuple

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        name = type(self).__name__
        factory = {"device": device, "dtype": dtype}
        self.input_size = check_int(name, "input_size", input_size, 0)  # torch's cells accept 0 (an empty state)
        self.hidden_size = check_int(name, "hidden_size", hidden_size, 0)
        self.bias = bias  # as torch.nn's cells: any value, its truth decides (torch's layers insist on a bool)
        gh = self.num_gates * self.hidden_size
        self.weight_ih = nn.Parameter(torch.empty(gh, self.input_size, **factory))
        self.weight_hh = nn.Parameter(torch.empty(gh, self.hidden_size, **factory))
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(gh, **factory))
            self.bias_hh = nn.Parameter(torch.empty(gh, **factory))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init_uniform_(self, self.hidden_size)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        return s

    # --- the two halves of a step -------------------------------------------------------------------------
    def project_input(self, x: Tensor) -> Tensor:
        """``xw = W_ih x + b_ih`` for any leading shape of ``x``."""
        return F.linear(x, self.weight_ih, self.bias_ih)

    def bind(self) -> Step:  # pragma: no cover - every cell overrides
        raise NotImplementedError

    # --- torch.nn.*Cell forward contract --------------------------------------------------------------------
    def _state_sizes(self) -> tuple[int, ...]:
        return (self.hidden_size,) * self.state_size

    def _prepare(self, input: Tensor, hx) -> tuple[Tensor, State, bool]:
        name = type(self).__name__
        check_input(name, input, self.input_size)
        batched = input.dim() == 2
        x = input if batched else input.unsqueeze(0)
        batch = x.shape[0]
        parts = () if hx is None else tuple(hx) if isinstance(hx, (tuple, list)) else (hx,)
        if hx is not None and len(parts) != self.state_size:
            raise ShapeError(f"{name}: hx must hold {self.state_size} tensor(s), got {len(parts)}")
        labels = ["hidden"] if self.state_size == 1 else [f"hx[{i}]" for i in range(self.state_size)]
        for i, (p, n) in enumerate(zip(parts, self._state_sizes())):  # shapes first, then dtypes, as torch
            check_floating(f"{name} {labels[i]}", p)
            check_cell_state(name, i, labels[i], p, batch, n, batched)
        check_dtype(f"{name} input", input, self.weight_ih)
        for p, label in zip(parts, labels):
            check_dtype(f"{name} {label}", p, self.weight_ih)
        if hx is None:
            return x, tuple(x.new_zeros(batch, n) for n in self._state_sizes()), batched
        return x, tuple(p if batched else p.unsqueeze(0) for p in parts), batched

    def forward(self, input: Tensor, hx=None):
        x, state, batched = self._prepare(input, hx)
        _, new_state = self.bind()(self.project_input(x), state)
        if not batched:
            new_state = tuple(s.squeeze(0) for s in new_state)
        return new_state if self.state_size > 1 else new_state[0]
