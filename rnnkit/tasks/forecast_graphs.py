"""What a forecast run exports: one graph per group, its whole RNN ensemble from raw values to quantiles.

``forecast_<group>``: (x, mask, freq, feats) → quantiles, where for a batch of B windows of the group's longest lookback
L (left-padded; mask True on real values), the frequency index of each series (``rnnkit.models.forecaster.FREQS``) and
the known features of the L past and H future steps (calendar, covariates: as the run's ``FeatureMaker`` makes them,
its config in the manifest; F = 0 columns without them):

    q_m = member m's τ-quantiles (B, H, Q) in original units, from the last L_m values of the window
          (its own scaling, log and head inside the graph)
    quantiles = the members' median at each step and level, sorted along the levels

— what ``Forecaster.rnn_quantiles`` computes in Python. The graph is the RNN ensemble alone: a hybrid run's partners
(statsmodels' fits on each series' history) are not part of it. Exported for the direct decoder with a quantile or
Gaussian head; the autoregressive decoder samples paths (random draws inside the graph) and the Student-t head needs
its quantile function — both are refused with a message.
"""

from __future__ import annotations

from statistics import NormalDist

import torch
from torch import Tensor, nn

from rnnkit.models.forecaster import FREQS, RNNForecaster
from rnnkit.tasks.graphs import GraphSpec


class EnsembleGraph(nn.Module):
    """The members of one group as one module: plain tensors in, the ensemble's quantiles out."""

    def __init__(self, members: list[RNNForecaster]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)
        self.L = max(m.L for m in members)
        first = members[0]
        self.H, self.F, self.head, self.taus = first.H, first.F, first.head, tuple(first.taus)
        z = [NormalDist().inv_cdf(t) for t in self.taus] if self.head == "gaussian" else [0.0]
        self.register_buffer("z", torch.tensor(z, dtype=torch.float32), persistent=False)

    def member_quantiles(self, m: RNNForecaster, x: Tensor, mask: Tensor, freq: Tensor, feats: Tensor) -> Tensor:
        cut = self.L - m.L  # a member of a shorter lookback reads the window's last L_m values
        x, mask, feats = x[:, cut:], mask[:, cut:], feats[:, cut:]
        p, loc, scale = m(x, mask, freq, feats)
        zq = p if self.head == "quantile" else p[..., :1] + p[..., 1:2] * self.z
        return m.to_original(zq, loc, scale)

    def forward(self, x: Tensor, mask: Tensor, freq: Tensor, feats: Tensor) -> Tensor:
        q = torch.stack([self.member_quantiles(m, x, mask, freq, feats) for m in self.members])  # (M, B, H, Q)
        q = torch.sort(q, dim=0).values
        n = len(self.members)
        median = q[n // 2] if n % 2 else 0.5 * (q[n // 2 - 1] + q[n // 2])  # numpy's median of an even count
        return torch.sort(median, dim=-1).values


def forecast_graphs(groups: dict, group_freqs: dict[str, list[str]], features: dict) -> list[GraphSpec]:
    """A ``GraphSpec`` per group of a loaded forecast run (``Forecaster.groups``; ``group_freqs``: each group's
    frequencies, whose indices the check's inputs take; ``features``: the run's ``FeatureMaker`` config, copied into
    the manifest so a caller can make the same feature columns)."""
    specs = []
    for key, group in groups.items():
        members = group["members"]
        for m in members:
            if m.decoder != "direct" or m.head == "student_t":
                raise ValueError(f"group {key!r}: exporting a forecaster with the {m.decoder} decoder and the "
                                 f"{m.head} head is not supported (export needs the direct decoder with a quantile "
                                 "or Gaussian head); forecast it with 'rnnkit forecast' or 'rnnkit serve'")
        graph = EnsembleGraph(members).eval()
        positive = any(m.log for m in members)
        freqs = [FREQS.index(f) for f in group_freqs.get(key, ())] or [FREQS.index("other")]

        def sample(batch, steps, g, graph=graph, positive=positive, freqs=freqs):
            L, H, F = graph.L, graph.H, graph.F
            # values near 1: the members' scaling divides a window's level out, so an absolute check there is a
            # relative one at any level (in float32, 1e-4 absolute is out of reach for forecasts in the hundreds)
            x = 0.5 + torch.rand(batch, L, generator=g) if positive else torch.randn(batch, L, generator=g)
            real = torch.randint(1, L + 1, (batch,), generator=g)
            real[0] = L
            mask = torch.arange(L).unsqueeze(0) >= (L - real).unsqueeze(1)  # left padding, as windows are made
            x = torch.where(mask, x, torch.zeros_like(x))
            freq = torch.tensor(freqs)[torch.randint(0, len(freqs), (batch,), generator=g)]
            return x, mask, freq, torch.randn(batch, L + H, F, generator=g)

        specs.append(GraphSpec(
            f"forecast_{key}", graph, ["x", "mask", "freq", "feats"], ["quantiles"],
            {"x": {0: "batch"}, "mask": {0: "batch"}, "freq": {0: "batch"}, "feats": {0: "batch"},
             "quantiles": {0: "batch"}}, sample,
            f"group {key}: {len(members)} members, the last {graph.L} values → {graph.H} steps × {len(graph.taus)} "
            "quantiles (the members' median)",
            {"group": key, "lookback": graph.L, "horizon": graph.H, "levels": list(graph.taus),
             "members_lookback": [m.L for m in members], "log": positive, "frequencies": list(FREQS),
             "features": features,
             "partners": "not in the graph: a hybrid run's statistical partners are fitted on each series' history "
                         "in Python ('rnnkit forecast')"}))
    return specs


__all__ = ["EnsembleGraph", "forecast_graphs"]
