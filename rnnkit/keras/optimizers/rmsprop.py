"""Keras's RMSprop update, where it is not torch's: ε inside the square root.

    v ← ρ v + (1 − ρ) g²                      (centered: ḡ ← ρ ḡ + (1 − ρ) g,  d = v − ḡ² + ε; else d = v + ε)
    Δ = η g / sqrt(d)
    w ← w − Δ                                 (momentum μ > 0: m ← μ m + Δ,  w ← w − m)

torch's ``RMSprop`` divides by sqrt(v) + ε instead: with Keras's ε = 1e-7 a gradient of 1e-4 moves a weight ten
times further there than in Keras (sqrt(1e-9) + 1e-7 against sqrt(1e-9 + 1e-7)), so models compiled with Keras's
default optimizer ("rmsprop") would train differently.
"""

from __future__ import annotations

import torch


class KerasRMSprop(torch.optim.Optimizer):
    def __init__(self, params, lr: float = 0.001, rho: float = 0.9, momentum: float = 0.0, eps: float = 1e-7,
                 centered: bool = False) -> None:
        if not 0.0 <= rho < 1.0:
            raise ValueError(f"RMSprop: rho must be in [0, 1), got {rho}")
        super().__init__(params, {"lr": lr, "rho": rho, "momentum": momentum, "eps": eps, "centered": centered})

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            rho, eps, mu = group["rho"], group["eps"], group["momentum"]
            for w in group["params"]:
                if w.grad is None:
                    continue
                g, state = w.grad, self.state[w]
                if not state:
                    state["step"] = torch.tensor(0.0)
                    state["velocity"] = torch.zeros_like(w)
                    if group["centered"]:
                        state["average_grad"] = torch.zeros_like(w)
                    if mu > 0:
                        state["momentum"] = torch.zeros_like(w)
                state["step"] += 1
                v = state["velocity"]
                v.mul_(rho).addcmul_(g, g, value=1 - rho)
                if group["centered"]:
                    avg = state["average_grad"]
                    avg.mul_(rho).add_(g, alpha=1 - rho)
                    d = v - avg * avg + eps
                else:
                    d = v + eps
                increment = group["lr"] * g / d.sqrt()
                if mu > 0:
                    m = state["momentum"]
                    m.mul_(mu).add_(increment)
                    w.sub_(m)
                else:
                    w.sub_(increment)
        return loss
