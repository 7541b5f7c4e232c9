"""Keras's optimizers by name or object, with Keras's defaults (Adam eps 1e-7, RMSprop rho 0.9), as rnnkit configs."""

from __future__ import annotations

from dataclasses import dataclass

from rnnkit.train.config import OptimConfig


@dataclass
class Optimizer:
    learning_rate: float = 0.001

    name = "adam"

    def to_config(self) -> OptimConfig:
        return OptimConfig(name=self.name, lr=self.learning_rate, eps=1e-7)


@dataclass
class Adam(Optimizer):
    learning_rate: float = 0.001
    epsilon: float = 1e-7
    name = "adam"

    def to_config(self):
        return OptimConfig(name="adam", lr=self.learning_rate, eps=self.epsilon)


@dataclass
class AdamW(Optimizer):
    learning_rate: float = 0.001
    weight_decay: float = 0.004
    epsilon: float = 1e-7
    name = "adamw"

    def to_config(self):
        return OptimConfig(name="adamw", lr=self.learning_rate, eps=self.epsilon, weight_decay=self.weight_decay)


@dataclass
class SGD(Optimizer):
    learning_rate: float = 0.01
    momentum: float = 0.0
    name = "sgd"

    def to_config(self):
        return OptimConfig(name="sgd", lr=self.learning_rate, momentum=self.momentum)


@dataclass
class RMSprop(Optimizer):
    learning_rate: float = 0.001
    rho: float = 0.9
    momentum: float = 0.0
    epsilon: float = 1e-7
    name = "rmsprop"

    def to_config(self):
        return OptimConfig(name="rmsprop", lr=self.learning_rate, rho=self.rho, momentum=self.momentum, eps=self.epsilon)


def get(optimizer) -> OptimConfig:
    if isinstance(optimizer, Optimizer):
        return optimizer.to_config()
    by_name = {"adam": Adam, "adamw": AdamW, "sgd": SGD, "rmsprop": RMSprop}
    if isinstance(optimizer, str) and optimizer.lower() in by_name:
        return by_name[optimizer.lower()]().to_config()
    raise ValueError(f"unknown optimizer {optimizer!r}; expected one of {sorted(by_name)} or a rnnkit.keras.optimizers "
                     "object")
