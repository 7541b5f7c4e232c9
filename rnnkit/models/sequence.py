"""Recurrent layer + linear head, with the steps a trainer calls.

    h_1..h_T = RNN(x_1..x_T)
    on="last":  ŷ = W_hy h_T + b_y     (the tutorial's ``self.fc(x[:, -1, :])``; with lengths, each sequence's own last step)
    on="all":   ŷ_t = W_hy h_t + b_y   (a prediction at every step: tagging, language models, forecasting)

``training_step(batch)`` / ``validation_step(batch)`` take ``(x, y)`` or ``(x, y, lengths)`` and return a dict with
``loss`` (a tensor for training) and metrics. For truncated BPTT, ``split_for_tbptt(batch, k)`` cuts a batch into
chunks of k steps and ``tbptt_step(chunk, state)`` returns ``(metrics or None, new_state)``; the trainer detaches the
state between chunks.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.layers import make_layer


class SequenceModel(nn.Module):
    task: str = "regression"

    def __init__(self, cell: str, input_size: int, hidden_size: int, out_features: int, num_layers: int = 1,
                 on: str = "last", **layer_kwargs) -> None:
        super().__init__()
        if on not in ("last", "all"):
            raise ValueError(f"on must be 'last' or 'all', got {on!r}")
        self.on = on
        self.config = {"cell": cell, "input_size": input_size, "hidden_size": hidden_size,
                       "out_features": out_features, "num_layers": num_layers, "on": on, **layer_kwargs}
        self.rnn = make_layer(cell, input_size, hidden_size, num_layers, batch_first=True, **layer_kwargs)
        with torch.no_grad():
            width = self.rnn(torch.zeros(1, 1, input_size))[0].shape[-1]  # hidden × directions (or proj_size)
        self.fc = nn.Linear(width, out_features)

    # --- prediction -------------------------------------------------------------------------------------------
    def run(self, x: Tensor, lengths=None, state=None):
        """Returns (predictions, final recurrent state)."""
        y, h_n = self.rnn(x, state, lengths=lengths)
        if self.on == "all":
            return self.fc(y), h_n
        if lengths is None:
            last = y[:, -1]
        else:
            idx = torch.as_tensor(lengths, device=y.device).long().sub(1).view(-1, 1, 1).expand(-1, 1, y.shape[-1])
            last = y.gather(1, idx).squeeze(1)
        return self.fc(last), h_n

    def forward(self, x: Tensor, lengths=None) -> Tensor:
        return self.run(x, lengths)[0]

    # --- what the trainer calls -------------------------------------------------------------------------------
    def loss(self, pred: Tensor, y: Tensor) -> Tensor:
        raise NotImplementedError

    def metrics(self, pred: Tensor, y: Tensor) -> dict[str, float]:
        return {}

    @staticmethod
    def _unpack(batch):
        x, y, *rest = batch
        return x, y, (rest[0] if rest else None)

    def training_step(self, batch) -> dict:
        x, y, lengths = self._unpack(batch)
        pred, _ = self.run(x, lengths)
        return {"loss": self.loss(pred, y)}

    @torch.no_grad()
    def validation_step(self, batch) -> dict:
        x, y, lengths = self._unpack(batch)
        pred, _ = self.run(x, lengths)
        return {"loss": self.loss(pred, y).item(), **self.metrics(pred, y)}

    def split_for_tbptt(self, batch, k: int) -> list:
        x, y, lengths = self._unpack(batch)
        if lengths is not None:
            raise ValueError("truncated BPTT needs equal-length sequences (no lengths)")
        T = x.shape[1]
        chunks = []
        for s in range(0, T, k):
            e = min(s + k, T)
            target = y[:, s:e] if self.on == "all" else (y if e == T else None)
            chunks.append((x[:, s:e], target))
        return chunks

    def tbptt_step(self, chunk, state):
        x, y = chunk
        y_seq, h_n = self.rnn(x, state)
        if y is None:  # a loss only at the end of the sequence, and this chunk is not the end
            return None, h_n
        pred = self.fc(y_seq) if self.on == "all" else self.fc(y_seq[:, -1])
        return {"loss": self.loss(pred, y)}, h_n


class SequenceRegressor(SequenceModel):
    """Mean squared error on the head's output (``out_features`` values per sequence or per step)."""

    task = "regression"

    def loss(self, pred, y):
        # the wider of the two dtypes: a float64 model keeps float64; a bfloat16 prediction (autocast) keeps y's float32
        return F.mse_loss(pred, y.to(torch.promote_types(pred.dtype, y.dtype)).reshape(pred.shape))


class SequenceClassifier(SequenceModel):
    """Cross-entropy over ``num_classes`` logits; reports accuracy."""

    task = "classification"

    def __init__(self, cell: str, input_size: int, hidden_size: int, num_classes: int, num_layers: int = 1,
                 on: str = "last", **layer_kwargs) -> None:
        super().__init__(cell, input_size, hidden_size, num_classes, num_layers, on, **layer_kwargs)

    def loss(self, pred, y):
        return F.cross_entropy(pred.reshape(-1, pred.shape[-1]), y.reshape(-1))

    def metrics(self, pred, y):
        return {"accuracy": (pred.argmax(-1) == y).float().mean().item()}
