"""What a speech run exports: the acoustic model from features to CTC label log-probabilities.

``posteriors``: (feats, frames) → log_probs, out_frames — normalised log-mel features (B, T, n_mels), as the run's
``Featurizer`` makes them (its configuration — sample rate, n_mels, hop, normalisation and its mean/std — is in the
manifest), with each recording's frame count (B,), to the log-probabilities (B, T', V) of the CTC labels (id 0 the
blank; the alphabet in the manifest) and the valid output frames (B,) (T' = ⌈T / subsample⌉). A caller decodes them
greedily (the best label per frame, repeats merged, blanks dropped) or with a prefix beam search, as ``rnnkit
transcribe`` does. The features are computed outside the graph (an STFT; any library's log-mel with the same
configuration, or ``rnnkit.tasks.transcriber.Featurizer``).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnkit.tasks.graphs import GraphSpec, random_lengths


class _Posteriors(nn.Module):
    def __init__(self, model) -> None:
        super().__init__()
        self.model = model

    def forward(self, feats: Tensor, frames: Tensor):
        log_probs, out_frames, _ = self.model(feats, frames)
        return log_probs, out_frames


def speech_graphs(model, features: dict, alphabet: list[str]) -> list[GraphSpec]:
    model = model.eval()
    n_mels = model.config["n_mels"]

    def sample(batch, steps, g):
        frames = random_lengths(batch, steps, g)
        feats = torch.randn(batch, steps, n_mels, generator=g)
        return feats * (torch.arange(steps)[None, :, None] < frames[:, None, None]), frames

    return [GraphSpec("posteriors", _Posteriors(model), ["feats", "frames"], ["log_probs", "out_frames"],
                      {"feats": {0: "batch", 1: "time"}, "frames": {0: "batch"}}, sample,
                      "normalised log-mel features → CTC label log-probabilities per output frame",
                      {"features": features, "alphabet": alphabet, "blank": 0,
                       "subsample": model.config["subsample"]})]


__all__ = ["speech_graphs"]
