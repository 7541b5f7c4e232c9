"""The forward contract every rnnkit sequence layer shares with ``torch.nn.RNN``.

``forward(input, hx=None, lengths=None) -> (output, h_n)``:

* ``input``: (T, B, I), or (B, T, I) with ``batch_first=True``, or unbatched (T, I), or a ``PackedSequence``.
* ``hx``: initial state, (rows, B, H) per state tensor (``rows = num_layers · num_directions``), (rows, H) when unbatched;
  zeros when omitted. LSTM-like layers take and return a tuple ``(h, c)``.
* ``lengths``: rnnkit's extra: 1-D lengths of a right-padded batch. Outputs past a sequence's end are zero and ``h_n`` is the
  state at each sequence's true end — the same numbers as packing the batch.
* ``output`` has the same layout as ``input`` (a ``PackedSequence`` in gives one out, with the same ordering).

Under ``torch.autocast`` (mixed precision), as ``torch.nn.RNN``: the input and state may be in another floating dtype than
the weights; torch's fused kernels then run in the autocast dtype where torch's autocast lists them (the LSTM on CPU, all
on CUDA), the layer-normalised cells' kernels run their matrix products in the autocast dtype (norms, gates and states
in float32; ``rnnkit.recurrence.packed.products_in``), every other path — rnnkit's loops and hand-written kernels — in
the weights' dtype (a float32 recurrence).

Subclasses declare their state (``_state_sizes``) and implement ``_run(x, state, lengths)`` on time-major tensors with the
batch in its original order.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from rnnkit.cells.base import DtypeError, ShapeError, check_dtype, check_floating
from rnnkit.recurrence import as_lengths
from rnnkit.recurrence.packed import products_in


def _autocast_on(x: Tensor) -> bool:
    """Whether ``torch.autocast`` is on for ``x``'s device (and ``x`` is floating: autocast only ever casts those)."""
    return x.is_floating_point() and x.device.type != "meta" and torch.is_autocast_enabled(x.device.type)


class SequenceLayer(nn.Module):
    input_size: int
    batch_first: bool

    # --- what subclasses provide --------------------------------------------------------------------------
    def _state_rows(self) -> int:
        raise NotImplementedError

    def _state_sizes(self) -> tuple[int, ...]:
        """Last dimension of each state tensor, e.g. ``(H,)`` or ``(H_out, H)`` for (h, c)."""
        raise NotImplementedError

    def _run(self, x: Tensor, state: tuple[Tensor, ...], lengths: Tensor | None) -> tuple[Tensor, tuple[Tensor, ...]]:
        raise NotImplementedError

    def _autocasts(self, x: Tensor, lengths: Tensor | None) -> bool:
        """Whether ``_run`` hands this call to a kernel that torch's autocast handles itself (mixed dtypes in)."""
        return False

    def __prepare_scriptable__(self):
        raise TypeError(f"torch.jit.script cannot compile {type(self).__name__}: its kernels are autograd Functions, "
                        "which TorchScript does not take; torch.jit.trace, torch.export and torch.compile can")

    # --- the shared contract --------------------------------------------------------------------------------
    @property
    def _state_is_tuple(self) -> bool:
        return len(self._state_sizes()) > 1

    def _check_state(self, hx, batch: int, batched: bool, like: Tensor) -> tuple[Tensor, ...]:
        name = type(self).__name__
        rows, sizes = self._state_rows(), self._state_sizes()
        if hx is None:
            return tuple(like.new_zeros(rows, batch, n) for n in sizes)
        if self._state_is_tuple:
            if not isinstance(hx, (tuple, list)) or len(hx) != len(sizes):
                raise ValueError(f"{name}: hx must be a tuple of {len(sizes)} tensors (h_0, c_0), got {type(hx).__name__}")
            parts = tuple(hx)
        else:
            if isinstance(hx, (tuple, list)):
                raise ValueError(f"{name}: hx must be a single tensor, got a {type(hx).__name__}")
            parts = (hx,)
        out = []
        for i, (p, n) in enumerate(zip(parts, sizes)):
            label = f"{name} hx" if len(parts) == 1 else f"{name} hx[{i}]"
            check_floating(label, p)
            expected = (rows, batch, n) if batched else (rows, n)
            if p.dim() != len(expected):  # torch.nn's words
                raise ShapeError(f"{name}: For {'batched 3-D' if batched else 'unbatched 2-D'} input, hx should also "
                                 f"be {len(expected)}-D but got {p.dim()}-D tensor ({label} shape {tuple(p.shape)})")
            if tuple(p.shape) != expected:
                what = "(num_layers * num_directions, batch, hidden)" if batched else "(num_layers * num_directions, hidden)"
                hidden = "hidden" if len(parts) == 1 else f"hidden[{i}]"
                raise ShapeError(f"{name}: Expected {hidden} size {expected}, got {list(p.shape)} {what}")
            if p.dtype != like.dtype and not _autocast_on(like):
                raise DtypeError(f"{label} has dtype {p.dtype} but the input has dtype {like.dtype}")
            out.append(p if batched else p.unsqueeze(1))
        return tuple(out)

    def check_forward_args(self, input: Tensor, hidden, batch_sizes: Tensor | None = None) -> None:
        """torch.nn.RNNBase's check, for code that calls it: raise unless ``input`` and ``hidden`` fit this layer."""
        if batch_sizes is not None:
            input = PackedSequence(input, batch_sizes)
        self._prepare(input, hidden, None)

    def forward(self, input, hx=None, lengths=None):
        if parametrize.is_parametrized(self):
            # a parametrised weight (weight_norm, spectral_norm, orthogonal) is computed once per call, not once per
            # read (a step of spectral_norm's power iteration each, in training, and its cost)
            with parametrize.cached():
                return self._forward(input, hx, lengths)
        return self._forward(input, hx, lengths)

    def _forward(self, input, hx, lengths):
        x, state, lengths, packed, batched = self._prepare(input, hx, lengths)
        weight = next(self.parameters(), None) if _autocast_on(x) else None
        if weight is not None and not self._autocasts(x, lengths):
            # rnnkit's own paths run their recurrence in the weights' dtype, with autocast off inside; the kernels
            # that follow autocast (the layer-normalised cells') run their matrix products in its dtype
            with torch.autocast(x.device.type, enabled=False), products_in(torch.get_autocast_dtype(x.device.type)):
                y, h_n = self._run(x.to(weight.dtype), tuple(s.to(weight.dtype) for s in state), lengths)
        else:
            y, h_n = self._run(x, state, lengths)
        if packed:
            order = input.sorted_indices
            y_sorted = y if order is None else y.index_select(1, order)
            sorted_lengths = lengths if order is None else lengths[order.cpu()]
            p = pack_padded_sequence(y_sorted, sorted_lengths, enforce_sorted=True)
            y = PackedSequence(p.data, p.batch_sizes, input.sorted_indices, input.unsorted_indices)
        elif not batched:
            y = y.squeeze(1)
            h_n = tuple(s.squeeze(1) for s in h_n)
        elif self.batch_first:
            y = y.transpose(0, 1)
        return y, (h_n if self._state_is_tuple else h_n[0])

    def _prepare(self, input, hx, lengths):
        """Check everything; return (time-major x, state tuple, lengths, packed?, batched?)."""
        name = type(self).__name__
        packed = isinstance(input, PackedSequence)
        if packed:
            if lengths is not None:
                raise ValueError(f"{name}: pass either a PackedSequence or lengths=, not both")
            check_floating(f"{name} input", input.data)
            x, lengths = pad_packed_sequence(input)  # original batch order, time-major
            batched = True
        else:
            check_floating(f"{name} input", input)
            if input.dim() not in (2, 3):
                layout = "(batch, seq, feature)" if self.batch_first else "(seq, batch, feature)"
                raise ShapeError(f"{name}: Expected input to be 2D or 3D, got {input.dim()}D instead: a 3-D input "
                                 f"{layout} or a 2-D unbatched input (seq, feature), got shape {tuple(input.shape)}")
            batched = input.dim() == 3
            if not batched:
                x = input.unsqueeze(1)
            else:
                x = input.transpose(0, 1) if self.batch_first else input
        if x.shape[-1] != self.input_size:
            raise ShapeError(f"{name}: input.size(-1) must be equal to input_size. Expected {self.input_size}, got "
                             f"{x.shape[-1]} (input shape {tuple(x.shape)} time-major)")
        T, B = x.shape[0], x.shape[1]
        if not torch.compiler.is_exporting() and T == 0:
            raise ShapeError(f"{name}: the input has no time steps (shape {tuple(input.shape)})")
        if lengths is not None and not packed:
            if not batched:
                raise ValueError(f"{name}: lengths= needs a batched input")
            lengths = as_lengths(lengths, B, T)
        weight = next(self.parameters(), None)
        if weight is not None and not _autocast_on(x):
            check_dtype(f"{name}: RNN input", x, weight)
        state = self._check_state(hx, B, batched, x)
        return x, state, lengths, packed, batched
