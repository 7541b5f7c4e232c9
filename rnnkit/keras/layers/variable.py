"""Keras's weights as torch ``Parameter``s: ``Variable`` answers Keras's variable methods and stays a Parameter."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


class Variable(nn.Parameter):
    """A Keras weight: a torch ``Parameter`` (optimizers, ``state_dict``, autograd and torch.func see no difference)
    that also answers Keras's variable methods — ``numpy()`` (no ``detach()`` needed), ``assign``/``assign_add``/
    ``assign_sub`` (in place, without recording gradients; arrays, tensors and numbers) and ``value``."""

    def numpy(self, *, force: bool = False) -> np.ndarray:  # (torch's ``force`` too: the ONNX exporter passes it)
        return self.detach().cpu().numpy()

    @torch.no_grad()
    def assign(self, value):
        value = _tensor(value)
        if value.numel() != 1 and tuple(value.shape) != tuple(self.shape):
            raise ValueError(f"assign: a value of shape {tuple(value.shape)} into a variable of shape "
                             f"{tuple(self.shape)}")
        self.copy_(value.to(self.dtype).to(self.device).expand_as(self))
        return self

    def assign_add(self, delta):
        return self.assign(self.detach() + _tensor(delta))

    def assign_sub(self, delta):
        return self.assign(self.detach() - _tensor(delta))

    @property
    def value(self) -> torch.Tensor:
        return self

    def __reduce_ex__(self, protocol):  # pickled as what it is (nn.Parameter's own rebuilds a plain Parameter)
        return _rebuild_variable, (self.detach(), self.requires_grad)


def _tensor(value) -> torch.Tensor:
    """An array, a number or a tensor (any device) as a tensor."""
    return value if torch.is_tensor(value) else torch.as_tensor(np.asarray(value))


def _rebuild_variable(data: torch.Tensor, requires_grad: bool) -> Variable:
    return Variable(data, requires_grad=requires_grad)
