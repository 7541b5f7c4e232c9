"""``ReferenceSequenceModel``: recurrent layer → linear head → loss, the tutorial's model, forward and backward by hand.

``on="last"``: the head reads the last step (``fc(x[:, -1, :])`` of the tutorial); ``on="all"``: every step (a loss per
step, as a language model). Parameter names are ``rnn.<torch name>`` and ``fc.weight`` / ``fc.bias``, the state_dict
names of a torch module with attributes ``rnn`` and ``fc`` (e.g. ``rnnkit.models.SequenceClassifier``).
"""

from __future__ import annotations

import numpy as np

from rnnkit.reference.common import Array
from rnnkit.reference.losses import LOSSES, linear_backward, linear_forward


class ReferenceSequenceModel:
    def __init__(self, rnn, out_features: int, loss: str = "mse", on: str = "last", seed: int = 0,
                 fc_weight: Array | None = None, fc_bias: Array | None = None) -> None:
        if loss not in LOSSES:
            raise ValueError(f"unknown loss {loss!r}; expected one of {sorted(LOSSES)}")
        if on not in ("last", "all"):
            raise ValueError(f"on must be 'last' or 'all', got {on!r}")
        self.rnn, self.loss_name, self.on = rnn, loss, on
        width = _output_width(rnn)
        rng = np.random.default_rng(seed)
        k = 1.0 / np.sqrt(width)
        self.fc_weight = rng.uniform(-k, k, (out_features, width)) if fc_weight is None else np.asarray(fc_weight, float)
        self.fc_bias = rng.uniform(-k, k, (out_features,)) if fc_bias is None else np.asarray(fc_bias, float)
        if self.fc_weight.shape != (out_features, width):
            raise ValueError(f"fc.weight has shape {self.fc_weight.shape}, expected {(out_features, width)}")

    @property
    def params(self) -> dict[str, Array]:
        return {**{f"rnn.{k}": v for k, v in self.rnn.params.items()}, "fc.weight": self.fc_weight,
                "fc.bias": self.fc_bias}

    def set_params(self, params: dict[str, Array]) -> None:
        for k, v in params.items():
            if k == "fc.weight":
                self.fc_weight = v
            elif k == "fc.bias":
                self.fc_bias = v
            else:
                self.rnn.params[k[len("rnn."):]] = v

    def _time_major(self, y: Array) -> Array:
        return y.transpose(1, 0, 2) if self.rnn.batch_first else y

    def predict(self, x, h0=None) -> Array:
        out, _ = self.rnn.forward(x, h0)
        out_tm = self._time_major(out)
        h = out_tm[-1] if self.on == "last" else out_tm
        pred = linear_forward(self.fc_weight, self.fc_bias, h)
        return pred if self.on == "last" or not self.rnn.batch_first else pred.transpose(1, 0, 2)

    def loss_and_grads(self, x, target, h0=None) -> tuple[float, dict[str, Array]]:
        """L and ∂L/∂θ for every parameter (``rnn.*``, ``fc.*``), plus ``input`` and ``h0`` (``c0``)."""
        out, _ = self.rnn.forward(x, h0)
        out_tm = self._time_major(out)
        h = out_tm[-1] if self.on == "last" else out_tm
        pred = linear_forward(self.fc_weight, self.fc_bias, h)
        if self.on == "all" and self.rnn.batch_first:
            pred = pred.transpose(1, 0, 2)
        loss, d_pred = LOSSES[self.loss_name](pred, target)
        if self.on == "all" and self.rnn.batch_first:
            d_pred = d_pred.transpose(1, 0, 2)
        dh, dW, db = linear_backward(self.fc_weight, h, d_pred)
        d_out = np.zeros_like(out_tm)
        if self.on == "last":
            d_out[-1] = dh
        else:
            d_out = dh
        g = self.rnn.backward(d_out.transpose(1, 0, 2) if self.rnn.batch_first else d_out)
        grads = {f"rnn.{k}": v for k, v in g.items() if k not in ("input", "h0", "c0")}
        grads.update({"fc.weight": dW, "fc.bias": db})
        grads.update({k: g[k] for k in ("input", "h0", "c0") if k in g})
        return loss, grads


def _output_width(rnn) -> int:
    if getattr(rnn, "mode", None) == "feedback":
        return rnn.hidden_size
    return rnn.output_size * rnn.num_directions
