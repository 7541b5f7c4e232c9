"""Central finite differences: the independent check of every hand-written gradient.

    ∂L/∂θ_k ≈ (L(θ + ε e_k) - L(θ - ε e_k)) / 2ε            error O(ε²) + rounding O(u/ε)

with L = Σ outputs ⊙ R + Σ final_state ⊙ S for fixed random R, S (so every output and state entry matters). The
relative error of a parameter is ‖g_analytic - g_numeric‖ / (‖g_analytic‖ + ‖g_numeric‖); ``gradcheck`` returns the worst.
"""

from __future__ import annotations

import numpy as np

from rnnkit.reference.common import Array


def _as_tuple(s):
    return tuple(s) if isinstance(s, tuple) else (s,)


def gradcheck(model, x, h0=None, eps: float = 1e-6, seed: int = 0, include_input: bool = True
              ) -> tuple[float, dict[str, float]]:
    """Returns (worst relative error, relative error per parameter name [and ``"input"``])."""
    rng = np.random.default_rng(seed)
    x = np.asarray(x, dtype=np.float64).copy()
    out, final = model.forward(x, h0)
    R = rng.standard_normal(out.shape)
    S = [rng.standard_normal(f.shape) for f in _as_tuple(final)]

    def loss() -> float:
        o, f = model.forward(x, h0)
        return float(np.sum(o * R) + sum(np.sum(a * b) for a, b in zip(_as_tuple(f), S)))

    model.forward(x, h0)
    d_final = tuple(S) if isinstance(final, tuple) else S[0]
    analytic = model.backward(R, d_final)
    targets: dict[str, Array] = dict(model.params)
    if include_input:
        targets["input"] = x
    errors = {}
    for name, arr in targets.items():
        numeric = np.zeros_like(arr)
        it = np.nditer(arr, flags=["multi_index"])
        for _ in it:
            i = it.multi_index
            old = arr[i]
            arr[i] = old + eps
            plus = loss()
            arr[i] = old - eps
            minus = loss()
            arr[i] = old
            numeric[i] = (plus - minus) / (2 * eps)
        a = analytic[name]
        denom = np.linalg.norm(a) + np.linalg.norm(numeric)
        errors[name] = float(np.linalg.norm(a - numeric) / denom) if denom > 0 else 0.0
    return max(errors.values()), errors
