"""The tutorial's training loop, in NumPy, with nothing hidden:

    for each step:  loss, grads = model.loss_and_grads(x, y)      (forward, then BPTT by hand)
                    [clip grads by global norm]                     (pre-clip norm recorded)
                    params = optimizer.step(params, grads)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rnnkit.reference.clip import clip_grad_norm
from rnnkit.reference.model import ReferenceSequenceModel


@dataclass
class History:
    loss: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)


def train(model: ReferenceSequenceModel, x, y, optimizer, steps: int, batch_size: int | None = None,
          clip_norm: float | None = None, seed: int = 0) -> History:
    """Full-batch (``batch_size=None``) or shuffled mini-batch training for ``steps`` updates."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y)
    n = x.shape[0] if model.rnn.batch_first else x.shape[1]
    rng = np.random.default_rng(seed)
    history = History()
    order, pos = rng.permutation(n), 0
    for _ in range(steps):
        if batch_size is None or batch_size >= n:
            xb, yb = x, y
        else:
            if pos + batch_size > n:
                order, pos = rng.permutation(n), 0
            idx = order[pos:pos + batch_size]
            pos += batch_size
            xb = x[idx] if model.rnn.batch_first else x[:, idx]
            yb = y[idx] if (model.on == "last" or model.rnn.batch_first) else y[:, idx]
        loss, grads = model.loss_and_grads(xb, yb)
        params = model.params
        grads = {k: grads[k] for k in params}
        history.grad_norm.append(clip_grad_norm(grads, clip_norm) if clip_norm else
                                 float(np.sqrt(sum(float(np.sum(g * g)) for g in grads.values()))))
        model.set_params(optimizer.step(params, grads))
        history.loss.append(loss)
    return history
