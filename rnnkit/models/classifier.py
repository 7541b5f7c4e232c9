"""The tutorial's model: a recurrent layer, then a linear head on the last (valid) time step.

    h_1..h_T = RNN(x_1..x_T);   y = W_hy h_T + b_y

(the tutorial's ``self.fc(x[:, -1, :])``). With ``lengths``, ``h_T`` is taken at each sequence's own last step.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnkit.layers import make_layer


class SequenceClassifier(nn.Module):
    def __init__(self, cell: str, input_size: int, hidden_size: int, num_classes: int, num_layers: int = 1,
                 **layer_kwargs) -> None:
        super().__init__()
        self.config = {"cell": cell, "input_size": input_size, "hidden_size": hidden_size, "num_classes": num_classes,
                       "num_layers": num_layers, **layer_kwargs}
        self.rnn = make_layer(cell, input_size, hidden_size, num_layers, batch_first=True, **layer_kwargs)
        out = self.rnn(torch.zeros(1, 1, input_size))[0].shape[-1]  # hidden × directions (or proj_size)
        self.fc = nn.Linear(out, num_classes)

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """``x``: (batch, seq, features) → logits (batch, num_classes)."""
        y, _ = self.rnn(x, lengths=lengths)
        if lengths is None:
            last = y[:, -1]
        else:
            idx = torch.as_tensor(lengths, device=y.device).long().sub(1).view(-1, 1, 1).expand(-1, 1, y.shape[-1])
            last = y.gather(1, idx).squeeze(1)
        return self.fc(last)
