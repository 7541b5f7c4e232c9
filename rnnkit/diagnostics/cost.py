"""What recurrence costs: time and memory of forward+backward against sequence length, hidden size and batch.

Time is the median of interleaved repeats (a shared machine slows every configuration alike). Memory is the bytes of
tensors saved for backward during the forward pass (``torch.autograd.graph.saved_tensors_hooks``) — the activation memory
that grows with T and that truncated BPTT caps. Fitted log-log slopes give the exponents: time ∝ T^a (a ≈ 1: one step
after another) and time ∝ H^b (b → 2 as the matmuls dominate).

Per step, a cell with G gate blocks costs 2·B·G·H·(I + H) FLOPs forward (G = 1 RNN, 3 GRU, 4 LSTM) and has
G·H·(I + H) + 2·G·H parameters — so a GRU has 3/4 of an LSTM's.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import torch

from rnnkit.layers import make_layer

GATES = {"rnn": 1, "relu": 1, "gru": 3, "lstm": 4}


def flops_per_step(cell: str, input_size: int, hidden: int, batch: int) -> int:
    return 2 * batch * GATES[cell] * hidden * (input_size + hidden)


def param_count(cell: str, input_size: int, hidden: int) -> int:
    G = GATES[cell]
    return G * hidden * (input_size + hidden) + 2 * G * hidden


def saved_bytes(fn) -> int:
    """Bytes of the distinct tensors autograd saves for backward while ``fn()`` runs its forward."""
    seen: dict[tuple, int] = {}

    def pack(t):
        key = (t.untyped_storage().data_ptr(), t.untyped_storage().nbytes())
        seen[key] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    del out
    return sum(seen.values())


def measure(cells=("rnn", "lstm", "gru"), backends=("fused", "loop"), seq_lens=(25, 50, 100, 200), hiddens=(64,),
            batches=(32,), input_size: int = 32, repeats: int = 3, progress=None) -> list[dict]:
    if any(c not in GATES for c in cells):
        raise ValueError(f"cost is measured for cells {sorted(GATES)}, got {list(cells)}")
    rows = []
    for H in hiddens:
        for B in batches:
            for T in seq_lens:
                x = torch.randn(T, B, input_size)
                fns, layers = {}, {}
                for cell in cells:
                    for backend in backends:
                        layer = make_layer(cell, input_size, H, batch_first=False, backend=backend)
                        layers[(cell, backend)] = layer

                        def fwd(layer=layer):
                            return layer(x)[0]

                        def fwd_bwd(fwd=fwd):
                            fwd().sum().backward()

                        fns[(cell, backend)] = (fwd, fwd_bwd)
                times: dict[tuple, list[float]] = {k: [] for k in fns}
                for _, f in fns.values():
                    f()  # warm-up
                for _ in range(repeats):
                    for k, (_, f) in fns.items():
                        t0 = time.perf_counter()
                        f()
                        times[k].append(time.perf_counter() - t0)
                for (cell, backend), (fwd, _) in fns.items():
                    rows.append({"cell": cell, "backend": backend, "T": T, "H": H, "B": B,
                                 "seconds": statistics.median(times[(cell, backend)]),
                                 "saved_MB": saved_bytes(fwd) / 2**20,
                                 "params": param_count(cell, input_size, H),
                                 "MFLOP_per_step": flops_per_step(cell, input_size, H, B) / 1e6})
                if progress:
                    progress(f"cost: H={H} B={B} T={T} measured")
    return rows


def fit_exponent(xs, ys) -> float:
    """Slope of log y against log x."""
    return float(np.polyfit(np.log(np.asarray(xs, float)), np.log(np.asarray(ys, float)), 1)[0])


def exponents(rows: list[dict], over: str) -> dict[tuple[str, str], float]:
    """Fitted exponent of time against ``over`` ("T", "H" or "B") for each (cell, backend)."""
    out = {}
    for key in sorted({(r["cell"], r["backend"]) for r in rows}):
        pts = sorted((r[over], r["seconds"]) for r in rows if (r["cell"], r["backend"]) == key)
        xs = [p[0] for p in pts]
        if len(set(xs)) >= 2:
            out[key] = fit_exponent(xs, [p[1] for p in pts])
    return out


NOT_APPLICABLE_NOTE = ("'–': not measured — the H and B sweeps time the first backend only (the T sweep times every "
                       "backend), and an exponent needs at least two sizes.")


def exponent_table(rows_T: list[dict], rows_H: list[dict] = (), rows_B: list[dict] = (), input_size: int = 32,
                   hidden: int = 64) -> list[dict]:
    """One row per (cell, backend): the fitted exponents of time in T, H and B, and the parameter count; "–" where a
    sweep did not measure that backend (see ``NOT_APPLICABLE_NOTE``)."""
    eT, eH, eB = exponents(rows_T, "T"), exponents(list(rows_H), "H"), exponents(list(rows_B), "B")
    return [{"cell": cell, "backend": b, "time ∝ T^a": a, "time ∝ H^b": eH.get((cell, b), "–"),
             "time ∝ B^c": eB.get((cell, b), "–"), f"params (I={input_size}, H={hidden})": param_count(cell, input_size,
                                                                                                      hidden)}
            for (cell, b), a in eT.items()]
