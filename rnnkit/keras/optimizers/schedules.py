"""Keras's learning-rate schedules: a function of the optimizer's step count t (0 before the first update), called
before every update when given as ``learning_rate`` — the formulas of Keras 3, symbol for symbol:

    ExponentialDecay(η₀, decay_steps, decay_rate, staircase)   η = η₀ · decay_rate^p,       p = t / decay_steps
    InverseTimeDecay(η₀, decay_steps, decay_rate, staircase)   η = η₀ / (1 + decay_rate · p)  (p floored if staircase)
    PiecewiseConstantDecay(boundaries b, values v)             η = v₀ for t ≤ b₀, vᵢ for bᵢ₋₁ < t ≤ bᵢ, v_last after
    PolynomialDecay(η₀, decay_steps, η_end, power, cycle)      η = (η₀ − η_end) · (1 − t'/D)^power + η_end,
                                                                 t' = min(t, D), D = decay_steps (cycle: D · ⌈t/D⌉)
    CosineDecay(η₀, decay_steps, alpha, warmup_target, warmup_steps)
                                                               η = η_w · ((1 − α) · ½ (1 + cos(π t'/D)) + α),
                                                                 after a linear warm-up from η₀ to η_w over
                                                                 warmup_steps (η_w = η₀ without one)
    CosineDecayRestarts(η₀, first_decay_steps, t_mul, m_mul, alpha)
                                                               the cosine restarted (SGDR) after periods T·t_mulⁱ,
                                                                 each from η₀·m_mulⁱ

A user's own schedule subclasses ``LearningRateSchedule`` and implements ``__call__(step)``, as in Keras.
"""

from __future__ import annotations

import math


class LearningRateSchedule:
    def __call__(self, step):
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must override `__call__(self, step)`.")

    def get_config(self) -> dict:
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must override `get_config()` in "
                                  "order to be serializable.")

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)


def _positive(name: str, value) -> None:
    if not value > 0:
        raise ValueError(f"Argument `{name}` must be > 0. Received: {name}={value}")


class ExponentialDecay(LearningRateSchedule):
    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="ExponentialDecay"):
        _positive("decay_steps", decay_steps)
        self.initial_learning_rate, self.decay_steps, self.decay_rate = initial_learning_rate, decay_steps, decay_rate
        self.staircase, self.name = staircase, name

    def __call__(self, step):
        p = step / self.decay_steps
        return self.initial_learning_rate * self.decay_rate ** (math.floor(p) if self.staircase else p)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase, "name": self.name}


class InverseTimeDecay(ExponentialDecay):
    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="InverseTimeDecay"):
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def __call__(self, step):
        p = step / self.decay_steps
        return self.initial_learning_rate / (1 + self.decay_rate * (math.floor(p) if self.staircase else p))


class PiecewiseConstantDecay(LearningRateSchedule):
    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        if len(boundaries) != len(values) - 1:
            raise ValueError("The length of boundaries should be 1 less than the length of values. Received: "
                             f"boundaries={boundaries} of length {len(boundaries)}, and values={values} of length "
                             f"{len(values)}.")
        self.boundaries, self.values, self.name = list(boundaries), list(values), name

    def __call__(self, step):
        for boundary, value in zip(self.boundaries, self.values):
            if step <= boundary:
                return value
        return self.values[-1]

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0, cycle=False,
                 name="PolynomialDecay"):
        _positive("decay_steps", decay_steps)
        self.initial_learning_rate, self.decay_steps, self.end_learning_rate = (initial_learning_rate, decay_steps,
                                                                               end_learning_rate)
        self.power, self.cycle, self.name = power, cycle, name

    def __call__(self, step):
        span = self.decay_steps
        if self.cycle:
            span *= 1 if step == 0 else math.ceil(step / self.decay_steps)
        else:
            step = min(step, span)
        return (self.initial_learning_rate - self.end_learning_rate) * (1 - step / span) ** self.power + \
            self.end_learning_rate

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "end_learning_rate": self.end_learning_rate, "power": self.power, "cycle": self.cycle,
                "name": self.name}


class CosineDecay(LearningRateSchedule):
    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay", warmup_target=None,
                 warmup_steps=0):
        _positive("decay_steps", decay_steps)
        self.initial_learning_rate, self.decay_steps, self.alpha, self.name = (initial_learning_rate, decay_steps,
                                                                               alpha, name)
        self.warmup_target, self.warmup_steps = warmup_target, warmup_steps

    def _decayed(self, step, start):
        return start * ((1 - self.alpha) * 0.5 * (1 + math.cos(math.pi * step / self.decay_steps)) + self.alpha)

    def __call__(self, step):
        if self.warmup_target is None:
            return self._decayed(min(step, self.decay_steps), self.initial_learning_rate)
        step = min(step, self.decay_steps + self.warmup_steps)
        if step < self.warmup_steps:
            fraction = step / self.warmup_steps
            return (self.warmup_target - self.initial_learning_rate) * fraction + self.initial_learning_rate
        return self._decayed(step - self.warmup_steps, self.warmup_target)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "alpha": self.alpha, "name": self.name, "warmup_target": self.warmup_target,
                "warmup_steps": self.warmup_steps}


class CosineDecayRestarts(LearningRateSchedule):
    """SGDR (Loshchilov & Hutter 2017): cosine decay over periods of T_i = first_decay_steps · t_mul^i steps, each
    restarting from initial_learning_rate · m_mul^i; within a period at fraction f, η = η_i ((1 − α) ½ (1 + cos πf) + α)."""

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0, name="SGDRDecay"):
        _positive("first_decay_steps", first_decay_steps)
        self.initial_learning_rate, self.first_decay_steps = initial_learning_rate, first_decay_steps
        self.t_mul, self.m_mul, self.alpha, self.name = t_mul, m_mul, alpha, name

    def __call__(self, step):
        done = step / self.first_decay_steps  # in units of the first period
        if self.t_mul == 1.0:
            restarts = math.floor(done)
            f = done - restarts
        else:  # periods 1, t, t², …: restart i starts after (1 − tⁱ) / (1 − t) first periods
            restarts = math.floor(math.log(1 - done * (1 - self.t_mul)) / math.log(self.t_mul))
            f = (done - (1 - self.t_mul ** restarts) / (1 - self.t_mul)) / self.t_mul ** restarts
        cosine = 0.5 * self.m_mul ** restarts * (1 + math.cos(math.pi * f))
        return self.initial_learning_rate * ((1 - self.alpha) * cosine + self.alpha)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "first_decay_steps": self.first_decay_steps,
                "t_mul": self.t_mul, "m_mul": self.m_mul, "alpha": self.alpha, "name": self.name}


SCHEDULES = {cls.__name__: cls for cls in (ExponentialDecay, InverseTimeDecay, PiecewiseConstantDecay,
                                           PolynomialDecay, CosineDecay, CosineDecayRestarts)}


def serialize(schedule: LearningRateSchedule) -> dict:
    return {"module": "keras.optimizers.schedules", "class_name": type(schedule).__name__,
            "config": schedule.get_config(), "registered_name": None}


def deserialize(config: dict, custom_objects: dict | None = None) -> LearningRateSchedule:
    known = {**SCHEDULES, **(custom_objects or {})}
    name = config.get("class_name")
    if name not in known:
        raise ValueError(f"unknown learning rate schedule {name!r}; rnnkit.keras has {sorted(SCHEDULES)}")
    return known[name].from_config(config.get("config", {}))


__all__ = ["LearningRateSchedule", "ExponentialDecay", "InverseTimeDecay", "PiecewiseConstantDecay",
           "PolynomialDecay", "CosineDecay", "CosineDecayRestarts", "serialize", "deserialize"]
