"""Keras's optimizers — ``SGD``, ``Adam``, ``AdamW``, ``RMSprop``, ``Adagrad``, ``Adamax``, ``Nadam``, ``Adadelta``,
``Lion``, ``Lamb``, ``Ftrl`` with Keras's arguments and defaults (Adam's ε 1e-7, RMSprop's ρ 0.9) — run by torch's
optimizers or, where torch's update is not Keras's, by Keras's equations (``rules.py``, ``rule_optimizers.py``), plus
what Keras adds around the update:

* ``clipnorm`` (each gradient's norm at most c), ``global_clipnorm`` (all gradients' norm together), ``clipvalue``
  (each entry within ±c) — at most one of them, as Keras: g ← g · c / max(‖g‖, c) or g ← clip(g, −c, c);
* ``weight_decay`` decoupled, as Keras applies it to every optimizer: w ← w − η · λ · w before the update;
* ``learning_rate`` a number or a schedule (``optimizers.schedules``) of the step count, set before every update;
* ``use_ema``: an exponential moving average of each trainable weight after every update, w̄ ← m w̄ + (1 − m) w
  (w̄ = w at the first; m = ``ema_momentum``), written into the weights every ``ema_overwrite_frequency`` updates and
  at the end of ``fit`` (Keras's ``finalize_variable_values``);
* ``optimizer.learning_rate`` readable and settable during and after ``fit`` (callbacks change it there) and
  ``optimizer.iterations`` counting the updates.

``model.optimizer`` is this object after ``compile``; during ``fit`` it drives the torch optimizer rnnkit's training
engine builds (``bind``).
"""

from __future__ import annotations

import math

import torch

from rnnkit.keras.optimizers import rules, schedules
from rnnkit.train.config import OptimConfig
from rnnkit.train.optim import build_optimizer

UNSUPPORTED = {"loss_scale_factor": None, "gradient_accumulation_steps": None}
AVERAGE = "ema_average"  # a weight's moving average, kept in the torch optimizer's state beside its slots


class LearningRate(float):
    """The current learning rate: a number, with the Keras variable methods code calls on it (``numpy()``,
    ``assign()``)."""

    def __new__(cls, value: float, optimizer: Optimizer | None = None):
        lr = super().__new__(cls, value)
        lr.optimizer = optimizer
        return lr

    def numpy(self) -> float:
        return float(self)

    def assign(self, value) -> None:
        self.optimizer.learning_rate = value


class Optimizer:
    name = "optimizer"
    torch_name = ""
    defaults: dict = {}  # the subclass's own arguments and Keras's defaults for them

    def __init__(self, learning_rate=0.001, weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None, name=None, **kwargs):
        own = {k: kwargs.pop(k, v) for k, v in self.defaults.items()}
        if use_ema and not 0 <= ema_momentum <= 1:
            raise ValueError(f"`ema_momentum` must be in the range [0, 1]. Received: ema_momentum={ema_momentum}")
        if use_ema and ema_overwrite_frequency and (not isinstance(ema_overwrite_frequency, int)
                                                   or ema_overwrite_frequency < 1):
            raise ValueError("`ema_overwrite_frequency` must be an integer >= 1 or None. Received: "
                             f"ema_overwrite_frequency={ema_overwrite_frequency}")
        self.use_ema, self.ema_momentum = bool(use_ema), ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        for key, neutral in UNSUPPORTED.items():
            if kwargs.pop(key, neutral) != neutral:
                raise ValueError(f"{type(self).__name__}: {key} is not supported by rnnkit.keras")
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected argument(s) {sorted(kwargs)}")
        clips = {"clipnorm": clipnorm, "clipvalue": clipvalue, "global_clipnorm": global_clipnorm}
        if sum(v is not None for v in clips.values()) > 1:
            raise ValueError("Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. Received: "
                             + ", ".join(f"{k}={v}" for k, v in clips.items()))
        for key, value in clips.items():
            if value is not None and not value > 0:
                raise ValueError(f"{type(self).__name__}: {key} must be positive, got {value}")
        if isinstance(learning_rate, dict):
            learning_rate = schedules.deserialize(learning_rate)
        self._learning_rate, self.weight_decay = learning_rate, weight_decay
        self.clipnorm, self.clipvalue, self.global_clipnorm = clipnorm, clipvalue, global_clipnorm
        self.name = name or type(self).name
        self.__dict__.update(own)
        self._torch: torch.optim.Optimizer | None = None
        self._iterations = 0

    # --- what Keras code reads --------------------------------------------------------------------------------
    @property
    def learning_rate(self) -> LearningRate:
        if isinstance(self._learning_rate, schedules.LearningRateSchedule):
            return LearningRate(float(self._learning_rate(self._iterations)), self)
        if self._torch is not None:
            return LearningRate(float(self._torch.param_groups[0]["lr"]), self)
        return LearningRate(float(self._learning_rate), self)

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        if isinstance(self._learning_rate, schedules.LearningRateSchedule):
            raise TypeError("This optimizer was created with a `LearningRateSchedule` object as its `learning_rate` "
                            "constructor argument, hence its learning rate is not settable.")
        self._learning_rate = float(value)
        if self._torch is not None:
            for group in self._torch.param_groups:
                group["lr"] = float(value)

    lr = learning_rate  # Keras 2's name

    @property
    def iterations(self) -> int:
        return self._iterations

    def get_config(self) -> dict:
        lr = self._learning_rate
        lr = schedules.serialize(lr) if isinstance(lr, schedules.LearningRateSchedule) else float(lr)
        return {"name": self.name, "learning_rate": lr, "weight_decay": self.weight_decay, "clipnorm": self.clipnorm,
                "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue, "use_ema": self.use_ema,
                "ema_momentum": self.ema_momentum, "ema_overwrite_frequency": self.ema_overwrite_frequency,
                **UNSUPPORTED,
                **{k: getattr(self, k) for k in self.defaults}}

    @classmethod
    def from_config(cls, config: dict, custom_objects=None):
        return cls(**config)

    # --- running it -------------------------------------------------------------------------------------------
    def _initial_lr(self) -> float:
        lr = self._learning_rate
        return float(lr(self._iterations) if isinstance(lr, schedules.LearningRateSchedule) else lr)

    def to_config(self) -> OptimConfig:
        """The torch optimizer's settings (weight decay and clipping stay here: they run in ``_before_step``)."""
        return OptimConfig(name=self.torch_name, lr=self._initial_lr(), **self._torch_args())

    def _torch_args(self) -> dict:
        return {}

    def build(self, params) -> torch.optim.Optimizer:
        """The torch optimizer running this one's update over ``params`` (``fit`` binds it)."""
        return build_optimizer(self.to_config(), params)

    def bind(self, optimizer: torch.optim.Optimizer) -> None:
        """Drive ``optimizer`` (the engine's, for one ``fit``, its state restored from the fit before): the learning
        rate as last set; schedule, clipping and weight decay before each of its steps, the step count after."""
        self._torch = optimizer
        if not isinstance(self._learning_rate, schedules.LearningRateSchedule):  # the rate set since (not a state's)
            for group in optimizer.param_groups:
                group["lr"] = float(self._learning_rate)
        optimizer.register_step_pre_hook(lambda opt, args, kwargs: self._before_step(opt))
        optimizer.register_step_post_hook(lambda opt, args, kwargs: self._after_step(opt))

    @torch.no_grad()
    def _before_step(self, opt: torch.optim.Optimizer) -> None:
        if isinstance(self._learning_rate, schedules.LearningRateSchedule):
            for group in opt.param_groups:
                group["lr"] = float(self._learning_rate(self._iterations))
        params = [p for group in opt.param_groups for p in group["params"] if p.grad is not None]
        if self.clipnorm is not None:
            for p in params:
                p.grad.mul_(self.clipnorm / torch.clamp(p.grad.norm(), min=self.clipnorm))
        elif self.global_clipnorm is not None:
            torch.nn.utils.clip_grad_norm_(params, self.global_clipnorm)
        elif self.clipvalue is not None:
            for p in params:
                p.grad.clamp_(-self.clipvalue, self.clipvalue)
        if self.weight_decay:
            for group in opt.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        p.mul_(1 - group["lr"] * self.weight_decay)

    @torch.no_grad()
    def _after_step(self, opt: torch.optim.Optimizer) -> None:
        if self.use_ema:
            m = self.ema_momentum if self._iterations else 0.0  # the first update's average is the weight
            overwrite = self.ema_overwrite_frequency and (self._iterations + 1) % self.ema_overwrite_frequency == 0
            for p in (p for group in opt.param_groups for p in group["params"]):
                state = opt.state[p]
                if AVERAGE not in state:
                    state[AVERAGE] = torch.zeros_like(p)
                state[AVERAGE].mul_(m).add_(p, alpha=1 - m)
                if overwrite:
                    p.copy_(state[AVERAGE])
        self._iterations += 1

    def _averaged(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """(weight, its moving average) for every weight the bound torch optimizer averages."""
        if not (self.use_ema and self._torch is not None):
            raise ValueError("SwapEMAWeights needs an optimizer with use_ema=True that has made an update")
        return [(p, self._torch.state[p][AVERAGE]) for group in self._torch.param_groups for p in group["params"]
                if AVERAGE in self._torch.state.get(p, {})]

    @torch.no_grad()
    def swap_averages(self) -> None:
        """Each weight and its moving average exchange places (``callbacks.SwapEMAWeights``)."""
        for p, average in self._averaged():
            kept = p.detach().clone()
            p.copy_(average)
            average.copy_(kept)

    @torch.no_grad()
    def averages_from_weights(self) -> None:
        """Each moving average set to its weight's value (the EMA weights are in the model at the end of fit)."""
        for p, average in self._averaged():
            average.copy_(p)

    @torch.no_grad()
    def finalize_variable_values(self, var_list=None) -> None:
        """Keras's end of ``fit``: with ``use_ema``, each weight takes its moving average."""
        if not (self.use_ema and self._torch is not None):
            return
        ids = None if var_list is None else {id(v) for v in var_list}
        for p, average in self._averaged():
            if ids is None or id(p) in ids:
                p.copy_(average)

    # --- a state restored from a file (``optimizer_state.restore``) ------------------------------------------------
    restored: tuple | None = None  # ({id(weight): torch state}, group settings): for the next torch optimizer made

    def restore_state(self, by_weight: dict, group: dict, iterations: int) -> None:
        """Keep a restored state for the next torch optimizer made (the engine's fit, a custom step's first
        ``apply``), and hand it at once to the one bound now, if any (running: a callback restoring a backup during
        ``fit``); a fit's end forgets it (``fit_ended``)."""
        self.restored, self._iterations = (by_weight, group), iterations
        if self._torch is not None:
            self.install_restored(self._torch, keep=True)

    def fit_ended(self) -> None:
        """A fit is over: its torch optimizer's state is the state now (a restored one was used, or is stale); with
        ``use_ema`` the weights take their averages."""
        self.finalize_variable_values()
        self.restored = None

    def install_restored(self, opt: torch.optim.Optimizer, keep: bool = False) -> None:
        """Put the restored state into ``opt`` — each weight's on that weight's device — and forget it (unless
        ``keep``: a look for a file, not a fit)."""
        if self.restored is None:
            return
        by_weight, settings = self.restored
        for group in opt.param_groups:
            group.update(settings)
            for p in group["params"]:
                if id(p) in by_weight:
                    opt.state[p] = {k: v if k == "step" else v.to(p.device) for k, v in by_weight[id(p)].items()}
        if not keep:
            self.restored = None

    @torch.no_grad()
    def apply(self, grads, trainable_variables=None) -> None:
        """Keras's ``apply``: one update of ``trainable_variables`` with ``grads`` (a custom ``train_step``); the
        torch optimizer running it is made on the first call, over those variables."""
        if trainable_variables is None:
            raise ValueError("apply() needs the trainable_variables the gradients belong to")
        variables = list(trainable_variables)
        bound = self._torch is not None and {id(p) for g in self._torch.param_groups for p in g["params"]} == \
            {id(v) for v in variables}
        if not bound:
            opt = self.build(variables)
            self.install_restored(opt)
            self.bind(opt)
        for v, g in zip(variables, grads):
            v.grad = g
        self._torch.step()

    def apply_gradients(self, grads_and_vars) -> None:
        pairs = list(grads_and_vars)
        self.apply([g for g, _ in pairs], [v for _, v in pairs])

    def __repr__(self) -> str:
        return f"<{type(self).__name__} learning_rate={self._learning_rate!r}>"


class SGD(Optimizer):
    name, torch_name = "SGD", "sgd"
    defaults = {"momentum": 0.0, "nesterov": False}

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        if not 0 <= momentum <= 1:
            raise ValueError("`momentum` must be a float between [0, 1].")
        super().__init__(learning_rate, momentum=momentum, nesterov=nesterov, **kwargs)

    def _torch_args(self):
        return {"momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    name, torch_name = "adam", "adam"
    defaults = {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7, "amsgrad": False}

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, **kwargs):
        super().__init__(learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, amsgrad=amsgrad, **kwargs)

    def _torch_args(self):
        return {"beta1": self.beta_1, "beta2": self.beta_2, "eps": self.epsilon, "amsgrad": self.amsgrad}

    def _before_step(self, opt):
        """Keras's Adam divides the bias-corrected step by sqrt(v) + ε where torch's divides by sqrt(v / (1 − β₂ᵗ)) + ε;
        torch's ε set to ε / sqrt(1 − β₂ᵗ) at step t makes the two updates the same."""
        super()._before_step(opt)
        for group in opt.param_groups:
            group["eps"] = self.epsilon / math.sqrt(1 - self.beta_2 ** (self._iterations + 1))


class AdamW(Adam):
    name = "adamw"

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, **kwargs):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay=weight_decay, **kwargs)


class RMSprop(Optimizer):
    name = "rmsprop"
    defaults = {"rho": 0.9, "momentum": 0.0, "epsilon": 1e-7, "centered": False}

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, **kwargs):
        super().__init__(learning_rate, rho=rho, momentum=momentum, epsilon=epsilon, centered=centered, **kwargs)

    def build(self, params):
        """Keras's update rule (ε inside the square root: ``rules.py``), not torch's."""
        return rules.KerasRMSprop(params, self._initial_lr(), self.rho, self.momentum, self.epsilon, self.centered)


# the optimizers that run Keras's own equations (rules.py): defined on Optimizer, so imported once it exists
from rnnkit.keras.optimizers.rule_optimizers import (  # noqa: E402, F401 (_Rule: optimizer_state reads it)
    Adadelta,
    Adafactor,
    Adagrad,
    Adamax,
    Ftrl,
    Lamb,
    Lion,
    Nadam,
    _Rule,
)

BY_NAME = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop, "adagrad": Adagrad, "adamax": Adamax,
           "nadam": Nadam, "adadelta": Adadelta, "lion": Lion, "lamb": Lamb, "ftrl": Ftrl, "adafactor": Adafactor}


def get(identifier) -> Optimizer:
    """An optimizer object (used as it is), a name ("adam") or a Keras config dict ({"class_name": "Adam", ...})."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in BY_NAME:
        return BY_NAME[identifier.lower()]()
    if isinstance(identifier, dict) and str(identifier.get("class_name", "")).lower() in BY_NAME:
        return BY_NAME[identifier["class_name"].lower()].from_config(identifier.get("config", {}))
    raise ValueError(f"unknown optimizer {identifier!r}; expected one of {sorted(BY_NAME)} or a rnnkit.keras.optimizers "
                     "object")


def serialize(optimizer: Optimizer) -> dict:
    return {"module": "keras.optimizers", "class_name": type(optimizer).__name__, "config": optimizer.get_config(),
            "registered_name": None}


deserialize = get

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adamax", "Nadam", "Adadelta", "Lion", "Lamb",
           "Ftrl", "Adafactor", "get", "serialize", "deserialize", "schedules"]


def __getattr__(name: str):  # a Keras name rnnkit.keras does not provide: say why (not_provided.py)
    from rnnkit.keras.not_provided import missing

    raise missing("optimizers", name)
