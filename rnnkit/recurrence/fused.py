"""The fused backend: PyTorch's own multi-layer kernels (oneDNN/native on CPU, cuDNN on GPU).

They exist for exactly four recurrences: tanh RNN, relu RNN, LSTM (with projections) and GRU with ``reset_after=True``.
The weights are passed as the same flat list ``torch.nn.RNN/LSTM/GRU`` passes (per layer and direction:
``w_ih, w_hh[, b_ih, b_hh][, w_hr]``). Variable lengths go through a ``PackedSequence``, which the kernels understand.
"""

from __future__ import annotations

import torch
from torch import _VF, Tensor
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

FUSED_MODES = {"RNN_TANH": _VF.rnn_tanh, "RNN_RELU": _VF.rnn_relu, "LSTM": _VF.lstm, "GRU": _VF.gru}


_NO_ONEDNN: set[tuple] = set()  # (input dtype, CPU autocast dtype) where oneDNN had no kernel in this process


def _call(kernel, *args):
    """``kernel(*args)``; where oneDNN has no bfloat16 kernel for this CPU (an AVX2 one: torch.nn's own LSTM fails
    there under ``torch.autocast`` with "could not create a primitive descriptor"), torch's native kernel instead,
    which runs in float32 — as rnnkit's other paths do under autocast. The failure is remembered for the process (per
    input dtype and autocast dtype; oneDNN is the CPU's), so later calls go to the native kernel at once; float32
    keeps oneDNN."""
    x = args[0]
    key = None
    if x.device.type == "cpu":
        key = (x.dtype, torch.get_autocast_dtype("cpu") if torch.is_autocast_enabled("cpu") else None)
    if key not in _NO_ONEDNN:
        try:
            return kernel(*args)
        except RuntimeError as e:
            if "could not create a primitive descriptor" not in str(e):
                raise
            if key is not None:
                _NO_ONEDNN.add(key)
    with torch.backends.mkldnn.flags(enabled=False):
        return kernel(*args)


def run_fused(mode: str, x: Tensor, state: tuple[Tensor, ...], flat_weights: list[Tensor], *, bias: bool,
              num_layers: int, dropout: float, training: bool, bidirectional: bool,
              lengths: Tensor | None = None) -> tuple[Tensor, tuple[Tensor, ...]]:
    """Run a whole stack on time-major ``x`` (T, B, I); ``state`` holds stacked (layers·directions, B, ·) tensors.

    ``training`` turns on the dropout between layers. cuDNN keeps what its backward needs only in training mode
    ("cudnn RNN backward can only be called in training mode", torch.nn's error in eval mode): off the CPU the kernel
    runs in training mode whenever autograd will need it, with the dropout still off unless ``training``."""
    kernel = FUSED_MODES[mode]
    if not training:
        dropout = 0.0
        if x.device.type != "cpu" and torch.is_grad_enabled() and (
                x.requires_grad or any(t.requires_grad for t in (*state, *flat_weights))):
            training = True
    hx = state if mode == "LSTM" else state[0]
    if lengths is None:
        out = _call(kernel, x, hx, flat_weights, bias, num_layers, dropout, training, bidirectional, False)
        return out[0], tuple(out[1:])
    packed = pack_padded_sequence(x, lengths, enforce_sorted=False)
    order, unorder = packed.sorted_indices, packed.unsorted_indices
    if mode == "LSTM":
        hx = tuple(s.index_select(1, order) for s in hx)
    else:
        hx = hx.index_select(1, order)
    out = _call(kernel, packed.data, packed.batch_sizes, hx, flat_weights, bias, num_layers, dropout, training,
                bidirectional)
    y, _ = pad_packed_sequence(PackedSequence(out[0], packed.batch_sizes, order, unorder), total_length=x.shape[0])
    return y, tuple(s.index_select(1, unorder) for s in out[1:])


__all__ = ["FUSED_MODES", "run_fused"]
