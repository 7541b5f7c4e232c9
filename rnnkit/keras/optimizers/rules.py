"""Keras's update rules where torch's differ, as torch optimizers in Keras's equations (torch's own versions place ε
outside the square root, start the accumulators elsewhere, schedule Nadam's momentum differently), with η the learning
rate and g the gradient:

    RMSprop   v ← ρ v + (1 − ρ) g²  (centered: ḡ ← ρ ḡ + (1 − ρ) g,  d = v − ḡ² + ε; else d = v + ε)
              Δ = η g / sqrt(d);  w ← w − Δ  (momentum μ > 0: m ← μ m + Δ,  w ← w − m)
              — torch divides by sqrt(v) + ε: with Keras's ε = 1e-7 a gradient of 1e-4 moves a weight ten times
              further there (sqrt(1e-9) + 1e-7 against sqrt(1e-9 + 1e-7)), so "rmsprop", compile's default, would
              train differently

    Adagrad   a ← a + g²  (a₀ = initial_accumulator_value)             w ← w − η g / sqrt(a + ε)
    Adamax    m ← m + (1 − β₁)(g − m),  u ← max(β₂ u, |g|)              w ← w − η m / ((1 − β₁ᵗ)(u + ε))
    Nadam     μ_t = β₁ (1 − ½·0.96ᵗ),  Π_t = Π_{t−1} μ_t  (Π₀ = 1)
              m ← m + (1 − β₁)(g − m),  v ← v + (1 − β₂)(g² − v)
              m̂ = μ_{t+1} m / (1 − Π_t μ_{t+1}) + (1 − μ_t) g / (1 − Π_t),  v̂ = v / (1 − β₂ᵗ)
                                                                       w ← w − η m̂ / (sqrt(v̂) + ε)
    Adadelta  a ← ρ a + (1 − ρ) g²,  Δ = −sqrt(d + ε) g / sqrt(a + ε),  d ← ρ d + (1 − ρ) Δ²     w ← w + η Δ
    Lion      w ← w − η sign(β₁ m + (1 − β₁) g),  then m ← β₂ m + (1 − β₂) g
    Lamb      m, v as Adam's;  u = m̂ / (sqrt(v̂) + ε)  (m̂ = m / (1 − β₁ᵗ), v̂ = v / (1 − β₂ᵗ))
              w ← w − η r u,  r = ‖w‖ / ‖u‖ (1 where either norm is 0): Adam's step scaled to the weight's size
    Adafactor ρ_t = min(η, 1/sqrt(t)) (η itself capped so with ``relative_step``), α_t = max(ε₂, RMS(w)) ρ_t,
              β_t = 1 − t^decay, G = g² + ε₁; a matrix (last two axes) keeps factored second moments
              r ← β_t r + (1 − β_t) mean_cols(G), c ← β_t c + (1 − β_t) mean_rows(G), v = (r / mean(r)) ⊗ c;
              a vector v ← β_t v + (1 − β_t) G;  u = g / sqrt(v),  w ← w − α_t u / max(1, RMS(u) / d)
    Ftrl      n' = n + g²  (n₀ = initial_accumulator_value),  σ = (n'^(−p) − n^(−p)) / η  (p = learning_rate_power)
              z ← z + g + 2 λ₂' w − σ w  (λ₂' = l2_shrinkage),  w ← (clip(z, −λ₁, λ₁) − z) / (n'^(−p) / η + 2 (λ₂ +
              β / (2η))),  n ← n'

Each state key is Keras's slot name (``optimizer_state`` writes them in Keras's layout); ``step`` counts updates.
"""

from __future__ import annotations

import math

import torch


class KerasRule(torch.optim.Optimizer):
    """A per-weight update ``update(w, g, state, group)`` run over every weight with a gradient; ``slots`` (Keras's
    names) are created as zeros (``initial`` overrides a slot's start) on the first update."""

    slots: tuple[str, ...] = ()
    initial: dict[str, str] = {}  # slot → the group setting that is its starting value

    def __init__(self, params, **defaults) -> None:
        super().__init__(params, defaults)

    def slots_for(self, group: dict) -> tuple[str, ...]:
        """The slots this group's settings need (RMSprop's depend on its momentum and centering)."""
        return self.slots

    @staticmethod
    def slot_shape(slot: str, shape: tuple) -> tuple:
        """The shape of a weight's slot (the weight's own, but for Adafactor's factored moments)."""
        return tuple(shape)

    def begin_step(self, group: dict, t: int) -> None:
        """Per-group work before the weights' updates of step t (Nadam's schedule)."""

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            group["t"] = group.get("t", 0) + 1
            self.begin_step(group, group["t"])
            for w in group["params"]:
                if w.grad is None:
                    continue
                state = self.state[w]
                if not state:
                    state["step"] = torch.tensor(0.0)
                    for slot in self.slots_for(group):
                        state[slot] = torch.full(self.slot_shape(slot, tuple(w.shape)), float(
                            group[self.initial[slot]]) if slot in self.initial else 0.0, dtype=w.dtype,
                            device=w.device)
                state["step"] += 1
                self.update(w, w.grad, state, group)
        return loss

    def update(self, w: torch.Tensor, g: torch.Tensor, state: dict, group: dict) -> None:
        raise NotImplementedError


class KerasRMSprop(KerasRule):
    slots = ("velocity", "momentum", "average_gradient")  # Keras's order (the last two when its settings need them)

    def __init__(self, params, lr: float = 0.001, rho: float = 0.9, momentum: float = 0.0, eps: float = 1e-7,
                 centered: bool = False) -> None:
        if not 0.0 <= rho < 1.0:
            raise ValueError(f"RMSprop: rho must be in [0, 1), got {rho}")
        super().__init__(params, lr=lr, rho=rho, momentum=momentum, eps=eps, centered=centered)

    def slots_for(self, group):
        return tuple(s for s in self.slots if s == "velocity" or (s == "momentum" and group["momentum"] > 0)
                     or (s == "average_gradient" and group["centered"]))

    def update(self, w, g, state, group):
        rho, eps, mu, v = group["rho"], group["eps"], group["momentum"], state["velocity"]
        v.mul_(rho).addcmul_(g, g, value=1 - rho)
        if group["centered"]:
            avg = state["average_gradient"]
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


class KerasAdagrad(KerasRule):
    slots, initial = ("accumulator",), {"accumulator": "initial_accumulator_value"}

    def update(self, w, g, state, group):
        a = state["accumulator"]
        a.addcmul_(g, g)
        w.sub_(group["lr"] * g / (a + group["eps"]).sqrt())


class KerasAdamax(KerasRule):
    slots = ("momentum", "norm")

    def update(self, w, g, state, group):
        m, u, t = state["momentum"], state["norm"], float(state["step"])
        m.add_((g - m) * (1 - group["beta_1"]))
        torch.maximum(group["beta_2"] * u, g.abs(), out=u)
        w.sub_(group["lr"] * m / ((1 - group["beta_1"] ** t) * (u + group["eps"])))


def nadam_mu(beta_1: float, t: int) -> float:
    return beta_1 * (1.0 - 0.5 * 0.96 ** t)


class KerasNadam(KerasRule):
    """``u_product`` (Π_t, shared by every weight) lives in the group, as Keras keeps one variable for it."""

    slots = ("momentum", "velocity")

    def begin_step(self, group, t):
        group["u_product"] = group.get("u_product", 1.0) * nadam_mu(group["beta_1"], t)

    def update(self, w, g, state, group):
        m, v, t = state["momentum"], state["velocity"], int(state["step"])
        b1, b2 = group["beta_1"], group["beta_2"]
        mu_t, mu_next, prod = nadam_mu(b1, t), nadam_mu(b1, t + 1), group["u_product"]
        m.add_((g - m) * (1 - b1))
        v.add_((g * g - v) * (1 - b2))
        m_hat = mu_next * m / (1 - prod * mu_next) + (1 - mu_t) * g / (1 - prod)
        v_hat = v / (1 - b2 ** t)
        w.sub_(m_hat * group["lr"] / (v_hat.sqrt() + group["eps"]))


class KerasAdadelta(KerasRule):
    slots = ("accumulated_grad", "accumulated_delta_var")

    def update(self, w, g, state, group):
        a, d, rho, eps = state["accumulated_grad"], state["accumulated_delta_var"], group["rho"], group["eps"]
        a.mul_(rho).addcmul_(g, g, value=1 - rho)
        delta = -(d + eps).sqrt() * g / (a + eps).sqrt()
        d.mul_(rho).addcmul_(delta, delta, value=1 - rho)
        w.add_(group["lr"] * delta)


class KerasLion(KerasRule):
    slots = ("momentum",)

    def update(self, w, g, state, group):
        m, b1, b2 = state["momentum"], group["beta_1"], group["beta_2"]
        w.sub_(group["lr"] * torch.sign(m * b1 + g * (1 - b1)))
        m.mul_(b2).add_(g * (1 - b2))


class KerasLamb(KerasRule):
    slots = ("momentum", "velocity")

    def update(self, w, g, state, group):
        m, v, b1, b2, t = state["momentum"], state["velocity"], group["beta_1"], group["beta_2"], group["t"]
        m.add_((g - m) * (1 - b1))
        v.add_((g * g - v) * (1 - b2))
        u = (m / (1 - b1 ** t)) / ((v / (1 - b2 ** t)).sqrt() + group["eps"])
        w_norm, u_norm = w.norm(), u.norm()
        ratio = torch.where((w_norm > 0) & (u_norm > 0), w_norm / u_norm, torch.ones_like(w_norm))
        w.sub_(ratio * group["lr"] * u)


class KerasAdafactor(KerasRule):
    slots = ("r", "c", "velocity")  # Keras's order; r and c are scalars for a weight of fewer than two axes

    @staticmethod
    def slot_shape(slot, shape):
        if slot == "velocity":
            return tuple(shape)
        if len(shape) < 2:
            return ()
        return tuple(shape[:-1]) if slot == "r" else tuple(shape[:-2]) + (shape[-1],)

    def update(self, w, g, state, group):
        t = float(group["t"])
        lr = min(group["lr"], 1 / math.sqrt(t)) if group["relative_step"] else group["lr"]
        alpha = max(group["epsilon_2"], float(w.square().mean().sqrt())) * min(lr, 1 / math.sqrt(t))
        G, beta = g * g + group["epsilon_1"], 1 - t ** group["beta_2_decay"]
        v = state["velocity"]
        if w.dim() >= 2:
            r, c = state["r"], state["c"]
            r.mul_(beta).add_(G.mean(-1) * (1 - beta))
            c.mul_(beta).add_(G.mean(-2) * (1 - beta))
            v.copy_((r / r.mean(-1, keepdim=True)).unsqueeze(-1) * c.unsqueeze(-2))
        else:
            v.mul_(beta).add_(G * (1 - beta))
        u = g / v.sqrt()
        w.sub_(alpha * u / max(1.0, float(u.square().mean().sqrt()) / group["clip_threshold"]))


class KerasFtrl(KerasRule):
    slots = ("accumulator", "linear")
    initial = {"accumulator": "initial_accumulator_value"}

    def update(self, w, g, state, group):
        n, z, lr, p = state["accumulator"], state["linear"], group["lr"], group["learning_rate_power"]
        l2 = group["l2_regularization_strength"] + group["beta"] / (2.0 * lr)
        l1 = group["l1_regularization_strength"]
        new_n = n + g * g
        z.add_(g + 2 * group["l2_shrinkage_regularization_strength"] * w - (new_n ** -p - n ** -p) / lr * w)
        quadratic = new_n ** -p / lr + 2 * l2
        w.copy_((torch.clamp(z, -l1, l1) - z) / quadratic)
        n.copy_(new_n)


def nadam_u_product(beta_1: float, steps: int) -> float:
    """Π_t after ``steps`` updates (for a state restored from a file)."""
    return math.prod(nadam_mu(beta_1, t) for t in range(1, steps + 1))
