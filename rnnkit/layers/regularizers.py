"""Regularisers for recurrent layers (keyword arguments of every stacked layer: ``rnnkit.LSTM(..., zoneout=0.1)``).

* ``variational_dropout`` — Gal & Ghahramani (2016), "locked" dropout in Merity et al. (2017): one mask per sequence
  and feature, the same at every step, on each layer's input and on the last layer's output.
* ``recurrent_dropout`` — Gal & Ghahramani's mask on the recurrent connection: one mask per sequence on ``h_{t−1}``
  where it enters the step (the state carried on is not masked).
* ``zoneout`` — Krueger et al. (2017): at every step each unit keeps its previous value with probability p,
  ``h_t = d_t ⊙ h_{t−1} + (1 − d_t) ⊙ h̃_t`` (and ``c_t`` likewise, with its own draw), ``d_t ~ Bernoulli(p)``.
* ``weight_drop`` — DropConnect on the recurrent weights (Wan et al. 2013; AWD-LSTM's WeightDrop): each forward uses
  ``dropout(W_hh, p)``; the stored weights are never modified.

All are off in eval mode (the layer is then exactly the unregularised one), drawn from torch's RNG (repeatable with a
seed; the trainer's checkpoints carry the RNG, so exact resume holds), and the dropout masks are scaled by 1/(1 − p).
Recurrent dropout and zoneout act inside the step, so a layer using them in training runs autograd through its cells'
steps (the loop backend) instead of a fused kernel or the hand-written BPTT. The other two keep the fast paths: the
hand-written BPTT, or torch's fused kernel called one layer at a time with the masked inputs and dropped weights
(drawn in the same order as the loop's, so one seed gives both backends the same run).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch
from torch import Tensor
from torch.nn import functional as F

from rnnkit.cells.base import Step


@dataclass(frozen=True)
class Regularizers:
    variational_dropout: float = 0.0
    recurrent_dropout: float = 0.0
    zoneout: float = 0.0
    weight_drop: float = 0.0

    @classmethod
    def checked(cls, owner: str, **values) -> Regularizers:
        for name, value in values.items():
            top = 1.0 if name == "zoneout" else 1.0 - 1e-12  # zoneout 1 keeps the state; a dropout of 1 drops all
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= top:
                interval = "[0, 1]" if name == "zoneout" else "[0, 1)"
                raise ValueError(f"{owner}: {name} must be a number in {interval}, got {value!r}")
        return cls(**{k: float(v) for k, v in values.items()})

    def active(self) -> dict[str, float]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}

    def in_step(self, training: bool) -> bool:
        """Whether a regulariser must act inside the step (then the layer steps through autograd)."""
        return training and bool(self.recurrent_dropout or self.zoneout)


def locked_mask(like: Tensor, p: float) -> Tensor:
    """(1, B, F) inverted-dropout mask for a time-major (T, B, F) tensor: one per sequence and feature."""
    keep = 1.0 - p
    return torch.bernoulli(like.new_full((1, *like.shape[1:]), keep)) / keep


def drop_weights(params: dict[str, Tensor | None], p: float) -> dict[str, Tensor | None]:
    """DropConnect on the recurrent weights of a step's parameters (``weight_hh*``; IndRNN's ``recurrent``)."""
    return {k: F.dropout(v, p, training=True) if v is not None and (k.startswith("weight_hh") or k == "recurrent")
            else v for k, v in params.items()}


def zoneout_draws(T: int, state: tuple[Tensor, ...], p: float) -> Tensor:
    """(T, B, Σ sizes) keep indicators ``d_t`` for every state tensor, drawn before the loop (a step may be
    recomputed in backward; its randomness must not be redrawn)."""
    total = sum(s.shape[-1] for s in state)
    first = state[0]
    return torch.bernoulli(first.new_full((T, first.shape[0], total), p))


def regularized_step(step: Step, recurrent_mask: Tensor | None, sizes: list[int] | None) -> Step:
    """``step`` with the recurrent-dropout mask on ``h_{t−1}`` and, when ``sizes`` is given, zoneout: the inputs are
    then ``(xw_t, d_t)`` with ``d_t`` split by the state tensors' sizes."""

    def wrapped(inputs, state):
        xw_t, d_t = inputs if sizes is not None else (inputs, None)
        seen = state if recurrent_mask is None else (state[0] * recurrent_mask, *state[1:])
        out, new = step(xw_t, seen)
        if d_t is not None:
            new = tuple(torch.lerp(n, old, d) for n, old, d in zip(new, state, d_t.split(sizes, dim=-1)))
            out = new[0]
        return out, new

    return wrapped


__all__ = ["Regularizers", "locked_mask", "drop_weights", "zoneout_draws", "regularized_step"]
