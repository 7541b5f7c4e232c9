"""A CTC acoustic model for speech recognition: log-mel frames in, per-frame label log-probabilities out.

    x_1..T  (log-mel, F bands)
      → front end:  frame stacking ×k — u_τ = [x_{kτ}; …; x_{kτ+k−1}] (the tail zero-padded), T/k frames of k·F
                    or conv ×k — ``log2 k`` 1-D convolutions of stride 2 (kernel 3, ReLU)
      → recurrent layer (any rnnkit cell; bidirectional by default, unidirectional for streaming)
      → linear → log-softmax over the alphabet and the CTC blank (id 0)

Training minimises the CTC loss (Graves et al. 2006; ``torch.nn.functional.ctc_loss``): ``−log Σ_{π ∈ B⁻¹(y)} Π_t
p(π_t | x)``, summed over the paths π that collapse to the transcript y, divided by the transcript's length and averaged
over the batch (``reduction="mean"``); utterances too short for their transcript give 0 (``zero_infinity``) rather than
inf. ``forward`` carries the recurrent state, so a unidirectional model can read an utterance in chunks (multiples of
k frames) and give exactly the whole utterance's outputs.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.layers import make_layer

FRONT_ENDS = ("stack", "conv")


class CTCAcousticModel(nn.Module):
    def __init__(self, n_mels: int = 80, vocab_size: int = 29, hidden_size: int = 192, num_layers: int = 2,
                 cell: str = "gru", bidirectional: bool = True, subsample: int = 2, front_end: str = "stack",
                 dropout: float = 0.1, backend: str = "auto") -> None:
        super().__init__()
        if front_end not in FRONT_ENDS:
            raise ValueError(f"unknown front end {front_end!r}; expected one of {', '.join(FRONT_ENDS)}")
        if subsample < 1 or (front_end == "conv" and subsample & (subsample - 1)):
            raise ValueError(f"subsample must be ≥ 1 (a power of 2 for the conv front end), got {subsample}")
        if bidirectional and cell.startswith("feedback"):
            raise ValueError(f"the {cell!r} cell cannot be bidirectional; pass bidirectional=False")
        self.config = {"class": "CTCAcousticModel", "n_mels": n_mels, "vocab_size": vocab_size,
                       "hidden_size": hidden_size, "num_layers": num_layers, "cell": cell,
                       "bidirectional": bidirectional, "subsample": subsample, "front_end": front_end,
                       "dropout": dropout, "backend": backend}
        self.subsample, self.front_end, self.bidirectional = subsample, front_end, bidirectional
        if front_end == "conv" and subsample > 1:
            convs = []
            for i in range(int(math.log2(subsample))):
                convs += [nn.Conv1d(n_mels if i == 0 else hidden_size, hidden_size, 3, stride=2, padding=1), nn.ReLU()]
            self.conv = nn.Sequential(*convs)
            width = hidden_size
        else:
            self.conv = None
            width = n_mels * subsample
        kwargs = {"bidirectional": True} if bidirectional else {}
        self.rnn = make_layer(cell, width, hidden_size, num_layers, batch_first=True,
                              dropout=dropout if num_layers > 1 else 0.0, backend=backend, **kwargs)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(hidden_size * (2 if bidirectional else 1), vocab_size)
        self.unit_name = "utt"

    def output_frames(self, frames: Tensor) -> Tensor:
        """Frames after the front end: ⌈T / k⌉."""
        return torch.div(frames + self.subsample - 1, self.subsample, rounding_mode="floor")

    def _front(self, feats: Tensor) -> Tensor:
        B, T, Fdim = feats.shape
        k = self.subsample
        if self.conv is not None:
            return self.conv(feats.transpose(1, 2)).transpose(1, 2)
        if k == 1:
            return feats
        feats = F.pad(feats, (0, 0, 0, (k - T % k) % k))  # no test of the pad: one graph for any length (export)
        return feats.reshape(B, -1, k * Fdim)

    def forward(self, feats: Tensor, frames: Tensor, state=None):
        """(B, T, F) features with their valid frame counts → log-probabilities (B, T', V), valid counts (B,), state."""
        x = self.drop(self._front(feats))
        out_frames = self.output_frames(frames.to(feats.device)).clamp(max=x.shape[1])
        y, state = self.rnn(x, state, lengths=out_frames)
        return F.log_softmax(self.out(self.drop(y)), -1), out_frames, state

    def _loss(self, batch):
        feats, frames, targets, target_lengths = batch[:4]
        log_probs, out_frames, _ = self(feats, frames)
        loss = F.ctc_loss(log_probs.transpose(0, 1), targets, out_frames, target_lengths, blank=0,
                          reduction="mean", zero_infinity=True)
        return loss

    def training_step(self, batch):
        return {"loss": self._loss(batch)}

    @torch.no_grad()
    def validation_step(self, batch):
        return {"loss": self._loss(batch).item()}

    @staticmethod
    def batch_units(batch) -> int:
        return int(batch[0].shape[0])


__all__ = ["CTCAcousticModel", "FRONT_ENDS"]
