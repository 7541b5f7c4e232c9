"""Truncated backpropagation through time, TBPTT(k1, k2) in Williams & Peng's (1990) sense.

Every k1 steps, the losses of the last k1 steps are backpropagated through at most the last k2 steps (k2 ≥ k1); the
state entering that window is treated as a constant (in torch: ``h.detach()``). k1 = k2 = k is the common
"split into chunks of k, carry the state, detach between chunks". Gradients of different updates never mix: each window
yields its own (loss, gradients), and a trainer applies an optimizer step after each.
"""

from __future__ import annotations

import numpy as np

from rnnkit.reference.losses import LOSSES, linear_backward
from rnnkit.reference.model import ReferenceSequenceModel


def _state_after(rnn, x_tm: np.ndarray, t: int, h0):
    """The recurrent state after the first t steps (time-major x)."""
    if t == 0:
        return h0
    x = x_tm[:t].transpose(1, 0, 2) if rnn.batch_first else x_tm[:t]
    return rnn.forward(x, h0)[1]


def tbptt_windows(T: int, k1: int, k2: int) -> list[tuple[int, int, int]]:
    """(start of backprop window, first loss step, end) for each update; the last may be shorter than k1."""
    if not (isinstance(k1, int) and isinstance(k2, int) and 1 <= k1 <= k2):
        raise ValueError(f"TBPTT needs integers 1 <= k1 <= k2, got k1={k1!r}, k2={k2!r}")
    windows = []
    for end in range(k1, T + k1, k1):
        end = min(end, T)
        first = end - k1 if end % k1 == 0 else end - end % k1
        windows.append((max(0, end - k2), first, end))
        if end == T:
            break
    return windows


def tbptt_gradients(model: ReferenceSequenceModel, x, target, k1: int, k2: int | None = None, h0=None):
    """One (loss, grads) per update for a per-step model (``on="all"``); weights are held fixed throughout."""
    if model.on != "all":
        raise ValueError("TBPTT needs a loss at every step: build the model with on='all'")
    if getattr(model.rnn, "bidirectional", False):
        raise ValueError("TBPTT needs a unidirectional model (a reverse direction reads the future)")
    k2 = k1 if k2 is None else k2
    rnn = model.rnn
    x_tm = np.asarray(x, dtype=np.float64)
    y_tm = np.asarray(target)
    if rnn.batch_first:
        x_tm, y_tm = x_tm.transpose(1, 0, 2), np.swapaxes(y_tm, 0, 1)
    results = []
    for start, first, end in tbptt_windows(x_tm.shape[0], k1, k2):
        state = _state_after(rnn, x_tm, start, h0)
        xw, yw = x_tm[start:end], y_tm[start:end]
        # the window's loss is on steps [first, end): run the window, backprop only those steps' losses
        out, _ = rnn.forward(xw.transpose(1, 0, 2) if rnn.batch_first else xw, state)
        out_tm = out.transpose(1, 0, 2) if rnn.batch_first else out
        pred = out_tm[first - start:] @ model.fc_weight.T + model.fc_bias
        target_w = yw[first - start:]
        loss, d_pred = LOSSES[model.loss_name](pred, target_w)
        dh, dW, db = linear_backward(model.fc_weight, out_tm[first - start:], d_pred)
        d_out = np.zeros_like(out_tm)
        d_out[first - start:] = dh
        g = rnn.backward(d_out.transpose(1, 0, 2) if rnn.batch_first else d_out)
        grads = {f"rnn.{k}": v for k, v in g.items() if k not in ("input", "h0", "c0")}
        grads.update({"fc.weight": dW, "fc.bias": db})
        results.append((loss, grads))
    return results
