"""A global RNN forecaster: one model for many series, each window scaled on its own.

For a window of L past values x_1..L of one series (left-padded when the series is shorter; m_t = 1 on real
values), known features f_t (calendar, covariates) for the L past and H future steps, and the series' frequency e:

    v_t = log x_t (with ``log``) or x_t
    z_t = (v_t − loc) / scale           loc, scale from the window's real values: ``mean`` (0, mean|v|),
                                        ``last`` (0, |v_L|), ``standard`` (mean v, std v), ``none`` (0, 1);
                                        with ``log``, mean/last subtract instead (loc = mean or last v, scale 1)
    h_t = RNN([z_t, m_t, f_t, E e], h_{t−1})     any rnnkit cell (``make_layer``)

**direct** (MQ-RNN style): all H steps at once from the last state,
    a = MLP([h_L, E e, f_{L+1..L+H}]) + [W_skip z_{1..L}, 0, …]      (B, H, P) → the head's parameters
the linear skip W_skip (LSTNet's autoregressive highway, Lai et al. 2018) adds a linear forecast of the window to
the location.

**autoregressive** (DeepAR style): the RNN reads the previous value, h_t = RNN([z_{t−1}, m_{t−1}, f_t, E e]); step
t's state gives the parameters of z_t; trained with the true z_{t−1} (teacher forcing) on the H future steps, and
forecasts by sampling paths (each fed its own draws), their quantiles taken over the paths.

**Loss**: the head's loss on the H future steps, averaged over the windows of a batch — for the quantile head the
mean over the levels τ of the pinball loss ρ_τ. With ``weighting``, window i has the weight
    w_i = 1 / mean_t |z_t − z_{t−m}|    (its in-sample seasonal-naive error, normalised to mean 1 over the batch,
                                        capped at 10: ``naive_weights``)
so the median's pinball loss averages each window's MASE instead of its scaled error: ``mase`` weights every level
(and a likelihood head's whole loss) by w_i; ``mase-median`` only the median's, ρ_0.5, the other levels unweighted —
the point forecast is trained on MASE while the intervals stay calibrated over all windows (a Gaussian or Student-t
head cannot weight its median alone: with ``mase-median`` its likelihood is unweighted).

Forecasts in original units invert the scaling: x̂ = exp(loc + scale · ẑ) with ``log``, else loc + scale · ẑ.
Quantiles map through it (the map is increasing), so intervals and the median stay exact.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnkit.layers import make_layer
from rnnkit.models import forecast_heads as heads

SCALINGS = ("mean", "last", "standard", "none")
DECODERS = ("direct", "autoregressive")
FREQS = ("yearly", "quarterly", "monthly", "weekly", "daily", "hourly", "other")
PERIODS = {"yearly": 1, "quarterly": 4, "monthly": 12, "weekly": 52, "daily": 7, "hourly": 24, "other": 1}
WEIGHTINGS = ("none", "mase", "mase-median")


class RNNForecaster(nn.Module):
    def __init__(self, input_size: int = 24, horizon: int = 6, n_features: int = 0, cell: str = "lstm",
                 hidden_size: int = 64, num_layers: int = 1, decoder: str = "direct", head: str = "quantile",
                 quantiles=heads.DEFAULT_QUANTILES, scaling: str = "mean", log: bool = False, skip: bool = True,
                 freq_dim: int = 4, dropout: float = 0.0, backend: str = "auto", weighting: str = "none") -> None:
        super().__init__()
        if scaling not in SCALINGS:
            raise ValueError(f"unknown scaling {scaling!r}; expected one of {', '.join(SCALINGS)}")
        if decoder not in DECODERS:
            raise ValueError(f"unknown decoder {decoder!r}; expected one of {', '.join(DECODERS)}")
        if weighting not in WEIGHTINGS:
            raise ValueError(f"unknown weighting {weighting!r}; expected one of {', '.join(WEIGHTINGS)}")
        if head not in heads.HEADS:
            raise ValueError(f"unknown head {head!r}; expected one of {', '.join(heads.HEADS)}")
        quantiles = heads.quantile_levels(quantiles) if head == "quantile" else tuple(float(q) for q in quantiles)
        self.config = {"class": "RNNForecaster", "input_size": input_size, "horizon": horizon,
                       "n_features": n_features, "cell": cell, "hidden_size": hidden_size, "num_layers": num_layers,
                       "decoder": decoder, "head": head, "quantiles": list(quantiles), "scaling": scaling,
                       "log": log, "skip": skip, "freq_dim": freq_dim, "dropout": dropout, "backend": backend,
                       "weighting": weighting}
        self.L, self.H, self.F = input_size, horizon, n_features
        self.decoder, self.head, self.scaling, self.log = decoder, head, scaling, log
        self.taus = quantiles
        self.weighting = weighting
        self.register_buffer("periods", torch.tensor([PERIODS[f] for f in FREQS]), persistent=False)
        self.register_buffer("tau_tensor", torch.tensor(quantiles), persistent=False)
        self.P = heads.head_size(head, quantiles)
        self.freq = nn.Embedding(len(FREQS), freq_dim)
        self.rnn = make_layer(cell, 2 + n_features + freq_dim, hidden_size, num_layers, batch_first=True,
                              dropout=dropout if num_layers > 1 else 0.0, backend=backend)
        self.drop = nn.Dropout(dropout)
        if decoder == "direct":
            width = hidden_size + freq_dim + horizon * n_features
            self.out = nn.Sequential(nn.Linear(width, hidden_size), nn.ReLU(), nn.Linear(hidden_size, horizon * self.P))
            self.skip = nn.Linear(input_size, horizon) if skip else None
        else:
            self.out = nn.Linear(hidden_size, self.P)
            self.skip = None
        self.unit_name = "window"

    # ---- scaling ------------------------------------------------------------------------------------------------
    def _transform(self, x: Tensor) -> Tensor:
        return torch.log(x.clamp_min(1e-30)) if self.log else x

    def _untransform(self, v: Tensor) -> Tensor:
        return torch.exp(v.clamp(max=80.0)) if self.log else v

    def scales(self, x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """(loc, scale), each (B, 1), from the real values of each window."""
        v = torch.where(mask, self._transform(x), torch.zeros_like(x))
        n = mask.sum(1, keepdim=True).clamp_min(1)
        last = v[:, -1:]
        zero, one = torch.zeros_like(last), torch.ones_like(last)
        if self.scaling == "none":
            return zero, one
        if self.log and self.scaling in ("mean", "last"):
            return (v.sum(1, keepdim=True) / n if self.scaling == "mean" else last), one
        if self.scaling == "mean":
            s = v.abs().sum(1, keepdim=True) / n
            return zero, torch.where(s > 0, s, one)
        if self.scaling == "last":
            s = last.abs()
            return zero, torch.where(s > 0, s, one)
        mean = v.sum(1, keepdim=True) / n
        var = (torch.where(mask, v - mean, torch.zeros_like(v)) ** 2).sum(1, keepdim=True) / n
        floor = 1e-3 * (v.abs().sum(1, keepdim=True) / n) + 1e-8
        return mean, var.sqrt().clamp_min(floor)

    def _scaled(self, x, mask, loc, scale) -> Tensor:
        return torch.where(mask, (self._transform(x) - loc) / scale, torch.zeros_like(x))

    def to_original(self, z: Tensor, loc: Tensor, scale: Tensor) -> Tensor:
        """Scaled values (B, H, …) back to original units."""
        shape = (-1,) + (1,) * (z.dim() - 1)
        return self._untransform(loc.reshape(shape) + scale.reshape(shape) * z)

    # ---- the network ---------------------------------------------------------------------------------------------
    def _steps(self, z_in: Tensor, m_in: Tensor, feats: Tensor | None, e: Tensor, state=None):
        parts = [z_in.unsqueeze(-1), m_in.to(z_in.dtype).unsqueeze(-1)]
        if self.F:
            parts.append(feats)
        parts.append(e.unsqueeze(1).expand(-1, z_in.shape[1], -1))
        y, state = self.rnn(torch.cat(parts, -1), state)
        return self.drop(y), state

    def _direct(self, z, mask, feats, e) -> Tensor:
        y, _ = self._steps(z, mask, feats[:, :self.L] if self.F else None, e)
        head_in = [y[:, -1], e]
        if self.F:
            head_in.append(feats[:, self.L:].reshape(z.shape[0], -1))
        raw = self.out(torch.cat(head_in, -1)).view(z.shape[0], self.H, self.P)
        if self.skip is not None:
            raw = torch.cat([raw[..., :1] + self.skip(z).unsqueeze(-1), raw[..., 1:]], -1)
        return heads.params(self.head, raw)

    def forward(self, x: Tensor, mask: Tensor, freq: Tensor, feats: Tensor | None = None):
        """Direct decoder: (parameters (B, H, P) in the scaled space, loc, scale)."""
        loc, scale = self.scales(x, mask)
        z = self._scaled(x, mask, loc, scale)
        return self._direct(z, mask, feats, self.freq(freq)), loc, scale

    # ---- training ------------------------------------------------------------------------------------------------
    def loss(self, batch) -> Tensor:
        x, mask, freq, feats, y, y_mask = batch[:6]
        loc, scale = self.scales(x, mask)
        z = self._scaled(x, mask, loc, scale)
        zy = torch.where(y_mask, (self._transform(torch.where(y_mask, y, torch.ones_like(y))) - loc) / scale,
                         torch.zeros_like(y))
        e = self.freq(freq)
        if self.decoder == "direct":
            p = self._direct(z, mask, feats, e)
        else:
            p = self._ar_params(z, mask, zy, feats, e)
        if self.weighting == "mase-median" and self.head == "quantile":
            return self._median_weighted_loss(zy, y_mask, p, self.naive_weights(z, mask, freq))
        per = heads.nll(self.head, zy, p, self.tau_tensor.to(zy.dtype))
        w = y_mask.to(per.dtype)
        if self.weighting == "mase":
            w = w * self.naive_weights(z, mask, freq).unsqueeze(1)
        return (per * w).sum() / w.sum().clamp_min(1e-12)

    def _median_weighted_loss(self, zy: Tensor, y_mask: Tensor, q: Tensor, w: Tensor) -> Tensor:
        """``mase-median``: the mean over the levels τ of each level's pinball loss averaged over the real targets,
        the median's weighted by the windows' ``w`` (B,), the other levels' unweighted."""
        taus = self.tau_tensor.to(zy.dtype)
        per = heads.pinball(zy, q, taus)  # (B, H, Q)
        level_w = torch.where(taus == 0.5, w.unsqueeze(1), torch.ones_like(w).unsqueeze(1))  # (B, Q)
        weight = y_mask.to(per.dtype).unsqueeze(-1) * level_w.unsqueeze(1)  # (B, H, Q)
        return ((per * weight).sum((0, 1)) / weight.sum((0, 1)).clamp_min(1e-12)).mean()

    def naive_weights(self, z: Tensor, mask: Tensor, freq: Tensor) -> Tensor:
        """1 / the window's in-sample seasonal-naive error, mean |z_t − z_{t−m}| (m = 1 where the window is no longer
        than a season), normalised to mean 1 over the batch and capped at 10: the pinball loss at τ = 0.5 then
        averages each window's MASE rather than its scaled error."""
        m = self.periods[freq]  # (B,)
        L = z.shape[1]
        m = torch.where(mask.sum(1) > m, m, torch.ones_like(m))
        idx = torch.arange(L, device=z.device).unsqueeze(0)
        prev = (idx - m.unsqueeze(1)).clamp_min(0)
        valid = mask & mask.gather(1, prev) & (idx >= m.unsqueeze(1))
        d = torch.where(valid, (z - z.gather(1, prev)).abs(), torch.zeros_like(z))
        scale = d.sum(1) / valid.sum(1).clamp_min(1)
        w = 1.0 / scale.clamp_min(1e-3)
        return (w / w.mean()).clamp(max=10.0).detach()

    def _ar_params(self, z, mask, zy, feats, e) -> Tensor:
        seq = torch.cat([z, zy], 1)  # (B, L + H)
        m = torch.cat([mask, torch.ones_like(zy, dtype=torch.bool)], 1)
        z_in = torch.cat([torch.zeros_like(seq[:, :1]), seq[:, :-1]], 1)
        m_in = torch.cat([torch.zeros_like(m[:, :1]), m[:, :-1]], 1)
        y, _ = self._steps(z_in, m_in, feats if self.F else None, e)
        return heads.params(self.head, self.out(y[:, self.L:]))

    def training_step(self, batch):
        return {"loss": self.loss(batch)}

    @torch.no_grad()
    def validation_step(self, batch):
        return {"loss": self.loss(batch).item()}

    @staticmethod
    def batch_units(batch) -> int:
        return int(batch[0].shape[0])

    # ---- forecasting ---------------------------------------------------------------------------------------------
    @torch.no_grad()
    def predict_quantiles(self, x: Tensor, mask: Tensor, freq: Tensor, feats: Tensor | None, taus,
                          samples: int = 200, generator: torch.Generator | None = None) -> Tensor:
        """The τ-quantiles (B, H, len(taus)) of the forecast, in original units."""
        loc, scale = self.scales(x, mask)
        z = self._scaled(x, mask, loc, scale)
        e = self.freq(freq)
        if self.decoder == "direct":
            p = self._direct(z, mask, feats, e)
            zq = heads.quantiles(self.head, p, taus, self.taus)
        else:
            paths = self.sample_paths(z, mask, feats, e, samples, generator)  # (B, S, H)
            taus_t = torch.as_tensor(list(taus), dtype=paths.dtype, device=paths.device)
            zq = torch.quantile(paths, taus_t, dim=1).permute(1, 2, 0)
        return self.to_original(zq, loc, scale)

    def sample_paths(self, z, mask, feats, e, n: int, generator=None) -> Tensor:
        """n sampled future paths per window (B, n, H) in the scaled space, each step fed the previous draw."""
        B = len(z)
        z_in = torch.cat([torch.zeros_like(z[:, :1]), z[:, :-1]], 1)
        m_in = torch.cat([torch.zeros_like(mask[:, :1]), mask[:, :-1]], 1)
        y, state = self._steps(z_in, m_in, feats[:, :self.L] if self.F else None, e)
        def rep(t, dim=0):
            return t.repeat_interleave(n, dim=dim)

        state = tuple(rep(s, 1) for s in state) if isinstance(state, tuple) else rep(state, 1)  # (layers, B, H)
        prev, prev_m, e_n = rep(z[:, -1:]), rep(mask[:, -1:]), rep(e)
        out = []
        for k in range(self.H):
            f = rep(feats[:, self.L + k:self.L + k + 1]) if self.F else None
            y, state = self._steps(prev, prev_m, f, e_n, state)
            p = heads.params(self.head, self.out(y[:, -1]))
            draw = heads.sample(self.head, p, generator, self.taus)
            out.append(draw)
            prev, prev_m = draw.unsqueeze(1), torch.ones_like(prev_m)
        return torch.stack(out, 1).view(B, n, self.H)


__all__ = ["RNNForecaster", "SCALINGS", "DECODERS", "FREQS", "WEIGHTINGS"]
