"""How the gradient flows back through time: ‖∂L/∂h_t‖ for every step t and layer, and the recurrent matrices' spectra.

``gradient_flow(model, batch, loss_fn)`` runs ``loss_fn(model, batch)`` (a scalar loss) once while recording every step's
hidden state (``rnnkit.recurrence.record_steps``), then asks autograd for the total gradient reaching each h_t — through
the output at t *and* through all later steps, exactly the reference engine's ``dh_steps`` — and returns its Frobenius
norm over the batch at each t. For a loss on the last step only, ``norms[t]`` shows how much of the signal survives
T - t steps back: the vanishing (or exploding) gradient, measured.

``recurrent_spectra(model)``: for each recurrent weight, the singular values and spectral radius of each H×H block (per
gate for LSTM/GRU; per source layer for the Gated-Feedback RNN's U^{i→j}). For a tanh RNN, ‖∂h_t/∂h_{t-k}‖ ≤
(max σ' · σ_max(W_hh))^k — a spectral norm below 1 forces a geometric decay.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from rnnkit.layers.base import SequenceLayer
from rnnkit.recurrence import record_steps


@dataclass
class GradientFlow:
    norms: dict[str, np.ndarray]  # "rnn.l0" -> (T,) norms of ∂L/∂h_t in time order
    loss: float
    spectra: dict[str, dict] = field(default_factory=dict)

    def decay_rate(self, name: str, skip_last: int = 1) -> float:
        """Geometric rate r of ‖∂L/∂h_t‖ ∝ r^{T-t}, fitted by least squares on the log norms (excluding the last steps,
        where the loss enters)."""
        n = self.norms[name]
        n = n[: len(n) - skip_last] if skip_last else n
        k = np.arange(len(n))[::-1].astype(float)  # steps back from the end of the fitted range
        ok = n > 0
        slope = np.polyfit(k[ok], np.log(n[ok]), 1)[0]
        return float(np.exp(slope))


def _layer_names(model: nn.Module) -> dict[int, str]:
    return {id(m): (name or type(m).__name__) for name, m in model.named_modules() if isinstance(m, SequenceLayer)}


def gradient_flow(model: nn.Module, batch, loss_fn: Callable[[nn.Module, object], torch.Tensor],
                  spectra: bool = True) -> GradientFlow:
    if not isinstance(model, nn.Module):
        raise TypeError(f"gradient_flow needs a torch.nn.Module, got {type(model).__name__}")
    names = _layer_names(model)
    if not names:
        raise ValueError(f"{type(model).__name__} contains no rnnkit recurrent layer (rnnkit.RNN/LSTM/GRU/FeedbackRNN)")
    with record_steps() as rec:
        loss = loss_fn(model, batch)
    if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
        raise ValueError("loss_fn must return a scalar tensor")
    keys = list(rec.series)
    flat = [t for k in keys for t in rec.series[k]]
    grads = torch.autograd.grad(loss, flat, allow_unused=True)
    norms, i = {}, 0
    for layer, label in keys:
        steps = rec.series[(layer, label)]
        g = grads[i:i + len(steps)]
        i += len(steps)
        n = np.array([0.0 if x is None else float(x.detach().double().norm()) for x in g])
        if (layer, label) in rec.reversed:
            n = n[::-1].copy()  # the reverse direction ran backwards in time
        norms[f"{names[id(layer)]}.{label}"] = n
    return GradientFlow(norms, float(loss.detach()), recurrent_spectra(model) if spectra else {})


def _blocks(name: str, W: torch.Tensor, module: SequenceLayer) -> dict[str, torch.Tensor]:
    if name.startswith("weight_fb"):  # U^j = [U^{1→j} … U^{L→j}], (H, L·H)
        H = W.shape[0]
        return {f"{name}[from l{i}]": W[:, i * H:(i + 1) * H] for i in range(W.shape[1] // H)}
    H = W.shape[1]
    if W.shape[0] == H:
        return {name: W}
    gates = {4: "ifgo", 3: "rzn", 2: "rz"}.get(W.shape[0] // H, None)
    if getattr(module, "cell", None) == "lstm" and W.shape[0] == 3 * H:
        gates = "ifo"
    if gates is None:
        return {}
    return {f"{name}[{g}]": W[k * H:(k + 1) * H] for k, g in enumerate(gates)}


@torch.no_grad()
def recurrent_spectra(model: nn.Module) -> dict[str, dict]:
    out = {}
    names = _layer_names(model)
    for m in model.modules():
        if not isinstance(m, SequenceLayer):
            continue
        for pname, W in m.named_parameters():
            if not (pname.startswith("weight_hh") or pname.startswith("weight_fb")):
                continue
            for bname, B in _blocks(pname, W, m).items():
                if B.shape[0] != B.shape[1]:
                    continue
                s = torch.linalg.svdvals(B.double()).numpy()
                rho = float(torch.linalg.eigvals(B.double()).abs().max())
                out[f"{names[id(m)]}.{bname}"] = {"singular_values": s, "spectral_norm": float(s[0]),
                                                  "spectral_radius": rho}
    return out
