"""The Keras optimizers run by Keras's own equations (``rules.py``'s torch optimizers): ``Adagrad``, ``Adamax``,
``Nadam``, ``Adadelta``, ``Lion``, ``Lamb``, ``Ftrl``, ``Adafactor`` — each its Keras arguments and defaults."""

from __future__ import annotations

from rnnkit.keras.optimizers import Optimizer, rules, schedules


class _Rule(Optimizer):
    """An optimizer run by one of ``rules.py``'s torch optimizers (``rule``), its arguments those of ``defaults``."""

    rule: type = rules.KerasRule

    def build(self, params):
        settings = {("eps" if k == "epsilon" else k): getattr(self, k) for k in self.defaults}
        return self.rule(params, lr=self._initial_lr(), **settings)


class Adagrad(_Rule):
    name, rule = "adagrad", rules.KerasAdagrad
    defaults = {"initial_accumulator_value": 0.1, "epsilon": 1e-7}

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, initial_accumulator_value=initial_accumulator_value, epsilon=epsilon,
                         **kwargs)


class _Moments(_Rule):
    """The optimizers of Adam's arguments (β₁, β₂, ε): Adamax, Nadam, Lamb."""

    defaults = {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, **kwargs)


class Adamax(_Moments):
    name, rule = "adamax", rules.KerasAdamax


class Nadam(_Moments):
    name, rule = "nadam", rules.KerasNadam


class Adadelta(_Rule):
    name, rule = "adadelta", rules.KerasAdadelta
    defaults = {"rho": 0.95, "epsilon": 1e-7}

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, rho=rho, epsilon=epsilon, **kwargs)


class Lion(_Rule):
    name, rule = "lion", rules.KerasLion
    defaults = {"beta_1": 0.9, "beta_2": 0.99}

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99, **kwargs):
        if not 0 <= beta_1 <= 1:
            raise ValueError(f"Argument `beta_1` must be in the [0, 1] range. Otherwise, the optimizer degenerates "
                             f"to SignSGD. Received: beta_1={beta_1}.")
        super().__init__(learning_rate, beta_1=beta_1, beta_2=beta_2, **kwargs)


class Lamb(_Moments):
    name, rule = "lamb", rules.KerasLamb


class Ftrl(_Rule):
    name, rule = "ftrl", rules.KerasFtrl
    defaults = {"learning_rate_power": -0.5, "initial_accumulator_value": 0.1, "l1_regularization_strength": 0.0,
                "l2_regularization_strength": 0.0, "l2_shrinkage_regularization_strength": 0.0, "beta": 0.0}

    def __init__(self, learning_rate=0.001, learning_rate_power=-0.5, initial_accumulator_value=0.1,
                 l1_regularization_strength=0.0, l2_regularization_strength=0.0,
                 l2_shrinkage_regularization_strength=0.0, beta=0.0, **kwargs):
        for name, value in (("learning_rate_power", -learning_rate_power), ("initial_accumulator_value",
                                                                           initial_accumulator_value),
                            ("l1_regularization_strength", l1_regularization_strength),
                            ("l2_regularization_strength", l2_regularization_strength),
                            ("l2_shrinkage_regularization_strength", l2_shrinkage_regularization_strength)):
            if value < 0:
                raise ValueError(f"`{name}` needs to be {'<= 0' if name == 'learning_rate_power' else '>= 0'}, got "
                                 f"{-value if name == 'learning_rate_power' else value}")
        super().__init__(learning_rate, learning_rate_power=learning_rate_power,
                         initial_accumulator_value=initial_accumulator_value,
                         l1_regularization_strength=l1_regularization_strength,
                         l2_regularization_strength=l2_regularization_strength,
                         l2_shrinkage_regularization_strength=l2_shrinkage_regularization_strength, beta=beta, **kwargs)


class Adafactor(_Rule):
    """Keras's ``Adafactor`` (Shazeer & Stern 2018): factored second moments for matrices, steps relative to the
    weights' size."""

    name, rule = "adafactor", rules.KerasAdafactor
    defaults = {"beta_2_decay": -0.8, "epsilon_1": 1e-30, "epsilon_2": 1e-3, "clip_threshold": 1.0,
                "relative_step": True}

    def __init__(self, learning_rate=0.001, beta_2_decay=-0.8, epsilon_1=1e-30, epsilon_2=1e-3, clip_threshold=1.0,
                 relative_step=True, **kwargs):
        super().__init__(learning_rate, beta_2_decay=beta_2_decay, epsilon_1=epsilon_1, epsilon_2=epsilon_2,
                         clip_threshold=clip_threshold, relative_step=relative_step, **kwargs)

    def build(self, params):
        opt = super().build(params)
        if isinstance(self._learning_rate, schedules.LearningRateSchedule):  # Keras caps only a fixed rate
            for group in opt.param_groups:
                group["relative_step"] = False
        return opt


__all__ = ["Adagrad", "Adamax", "Nadam", "Adadelta", "Lion", "Lamb", "Ftrl", "Adafactor"]
