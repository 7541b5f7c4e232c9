"""The optimizer's state in a saved model, in Keras's layout: ``optimizer/vars/0`` the iteration count,
``optimizer/vars/1`` the learning rate (not kept with a learning-rate schedule: the count gives it), then
(``use_ema``) every weight's moving average, then the optimizer's slots for each trainable weight
(``model.trainable_weights`` order) — Adam: momentum and velocity per weight, then (``amsgrad``) every weight's
velocity_hat; SGD with momentum: its momentum; RMSprop: every velocity, then every momentum (momentum > 0), then
every average gradient (``centered``); Adagrad its accumulator, Adamax momentum and norm, Nadam momentum and velocity
(and, last, the product of its momentum schedule), Adadelta accumulated_grad and accumulated_delta_var, Lion its
momentum, Adafactor its factored moments r and c (scalars for a vector) and its velocity — per weight.

So a model saved after training and loaded again — by rnnkit or by Keras — goes on training where it stopped, as
Keras's does. rnnkit's updates run in torch optimizers; the slots are their state under other names, and SGD's
momentum another quantity: Keras keeps m = μ m − η g (the step itself), torch b = μ b + g, so m = −η b.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from rnnkit.keras import optimizers as O

# Keras's slot blocks per optimizer (each block's names interleaved per weight) and the torch state key of each
SLOTS = {"momentum": "exp_avg", "velocity": "exp_avg_sq", "velocity_hat": "max_exp_avg_sq"}
RMSPROP_SLOTS = {"velocity": "velocity", "momentum": "momentum", "average_gradient": "average_gradient"}


def _blocks(opt: O.Optimizer) -> tuple[list[list[str]], dict[str, str]]:
    """Keras's slot blocks of ``opt`` and the torch state key of each; with ``use_ema`` the moving averages first, as
    Keras builds them."""
    blocks, keys = _slot_blocks(opt)
    if opt.use_ema:
        return [[O.AVERAGE]] + blocks, {**keys, O.AVERAGE: O.AVERAGE}
    return blocks, keys


def _slot_blocks(opt: O.Optimizer) -> tuple[list[list[str]], dict[str, str]]:
    if isinstance(opt, O._Rule):  # Keras's own equations: the state keys are Keras's slot names
        slots = list(opt.rule.slots)
        return [slots], {s: s for s in slots}
    if isinstance(opt, O.Adam):
        return [["momentum", "velocity"]] + ([["velocity_hat"]] if opt.amsgrad else []), SLOTS
    if isinstance(opt, O.SGD):
        return ([["momentum"]] if opt.momentum > 0 else []), {"momentum": "momentum_buffer"}
    if isinstance(opt, O.RMSprop):
        blocks = [["velocity"]] + ([["momentum"]] if opt.momentum > 0 else []) + \
            ([["average_gradient"]] if opt.centered else [])
        return blocks, RMSPROP_SLOTS
    raise TypeError(f"no Keras layout for {type(opt).__name__}")


def _torch_optimizer(model) -> torch.optim.Optimizer | None:
    """The torch optimizer holding the model's optimizer state: the last fit's, or one rebuilt from a carried or a
    restored (not yet used) state."""
    optimizer, opt = model.optimizer, model.optimizer._torch
    if opt is None and (getattr(model, "_trainer_state", None) is not None or optimizer.restored is not None):
        opt = optimizer.build(list(model.parameters()))
        if getattr(model, "_trainer_state", None) is not None:
            opt.load_state_dict(model._trainer_state)
        optimizer.install_restored(opt, keep=True)
    return opt


def _slot_shape(optimizer, slot: str, w) -> tuple:
    """A slot's shape for weight w: the weight's, but for a rule with slots of its own shapes (Adafactor's)."""
    rule = getattr(optimizer, "rule", None)
    return rule.slot_shape(slot, tuple(w.shape)) if rule is not None else tuple(w.shape)


def _scheduled(optimizer) -> bool:
    """Whether the learning rate is a schedule (Keras then keeps no learning-rate variable)."""
    return isinstance(optimizer._learning_rate, O.schedules.LearningRateSchedule)


def keras_variables(model) -> list[np.ndarray]:
    """The optimizer's variables in Keras's order; empty before its first update (Keras writes none either)."""
    optimizer = getattr(model, "optimizer", None)
    if not isinstance(optimizer, O.Optimizer) or optimizer.iterations == 0:
        return []
    opt = _torch_optimizer(model)
    if opt is None:
        return []
    blocks, keys = _blocks(optimizer)
    lr = float(optimizer.learning_rate)
    out = [np.asarray(optimizer.iterations, dtype=np.int64)] + ([] if _scheduled(optimizer) else
                                                                [np.asarray(lr, dtype=np.float32)])
    for block in blocks:
        for w in model.trainable_weights:
            state = opt.state.get(w, {})
            for slot in block:
                value = state.get(keys[slot])
                arr = np.zeros(_slot_shape(optimizer, slot, w), np.float32) if value is None else \
                    value.detach().cpu().numpy()
                out.append(-lr * arr if isinstance(optimizer, O.SGD) and slot != O.AVERAGE else arr)
    if isinstance(optimizer, O.Nadam):  # Keras keeps the momentum schedule's product as one more variable
        out.append(np.asarray(opt.param_groups[0].get("u_product", 1.0), dtype=np.float32))
    return out


def restore(model, arrays: list[np.ndarray], source: str) -> None:
    """Load Keras-layout optimizer variables into a compiled model: its next ``fit`` starts from them."""
    optimizer = model.optimizer
    try:
        blocks, keys = _blocks(optimizer)
    except TypeError as e:
        warnings.warn(f"{source}: the optimizer's state is not restored ({e})", stacklevel=3)
        return
    weights = list(model.trainable_weights)
    tail = 1 if isinstance(optimizer, O.Nadam) else 0
    head = 1 if _scheduled(optimizer) else 2  # the iteration count (and the learning rate)
    expected = head + sum(len(b) for b in blocks) * len(weights) + tail
    if len(arrays) != expected:
        warnings.warn(f"{source}: the saved optimizer has {len(arrays)} variables where {type(optimizer).__name__} "
                      f"over this model has {expected}; its state starts afresh", stacklevel=3)
        return
    iterations = int(arrays[0])
    if not _scheduled(optimizer):
        optimizer.learning_rate = lr = float(arrays[1])
    else:
        lr = float(optimizer._learning_rate(iterations))
    by_weight: dict[int, dict] = {id(w): {} for w in weights}
    slots = iter(arrays[head:len(arrays) - tail])
    for block in blocks:
        for w in weights:
            state = by_weight[id(w)]
            if not isinstance(optimizer, O.SGD):  # Adam's bias correction and RMSprop count their steps
                state.setdefault("step", torch.tensor(float(iterations)))
            for slot in block:
                value = torch.as_tensor(np.asarray(next(slots)), dtype=w.dtype).clone()
                if tuple(value.shape) != _slot_shape(optimizer, slot, w):
                    raise ValueError(f"{source}: optimizer slot {slot} of shape {tuple(value.shape)} for a weight of "
                                     f"shape {tuple(w.shape)}")
                state[keys[slot]] = value / -lr if isinstance(optimizer, O.SGD) and slot != O.AVERAGE else value
    group = {"t": iterations} if isinstance(optimizer, O._Rule) else {}  # Keras's own rules count their steps
    if tail:
        group["u_product"] = float(arrays[-1])  # Nadam's momentum-schedule product
    model._trainer_state = None  # the restored state replaces what an earlier fit carried
    optimizer.restore_state(by_weight, group, iterations)
