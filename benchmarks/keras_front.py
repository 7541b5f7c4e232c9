"""Keras-style layers: rnnkit.keras vs real Keras 3 (PyTorch backend) vs torch.nn, forward+backward, side by side.

Layers: batch 32, input 64, hidden 128, seq 100 and 400, the same weights in all three. Keras 3 on torch runs its own
Python loop and indexes the input projection per step; rnnkit.keras runs rnnkit's hand-written BPTT (SimpleRNN, GRU) or
torch's fused kernel (LSTM) for these configurations.

Training: the tutorial's model, ``Sequential([layer(128), Dense(1)])`` compiled with Adam and mean squared error, one
``fit`` epoch of 8 batches of 32 (``verbose=0``) in rnnkit.keras and in Keras 3, starting from the same weights.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import torch  # noqa: E402
from torch import nn  # noqa: E402

from benchmarks.timing import interleaved_medians, machine_line  # noqa: E402

B, I, H = 32, 64, 128


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="seq 100 only")
    args = p.parse_args(argv)
    import keras

    import rnnkit.keras as rk

    seqs = [100] if args.quick else [100, 400]
    print(f"# Keras-style recurrent layers: forward+backward tokens/s, batch {B}, input {I}, hidden {H} — {machine_line()}")
    print(f"{'layer':<10}{'T':>5}  {'torch.nn':>10}{'rnnkit.keras':>14}{'Keras 3':>10}  {'rnnkit/Keras':>13}"
          f"{'rnnkit/nn':>10}")
    for name, tcls in (("SimpleRNN", nn.RNN), ("LSTM", nn.LSTM), ("GRU", nn.GRU)):
        for T in seqs:
            x = torch.randn(B, T, I)
            k = getattr(keras.layers, name)(H)
            k(x[:1])
            r = getattr(rk.layers, name)(H)
            r(x[:1])
            r.set_weights(k.get_weights())
            t = tcls(I, H, batch_first=True)

            def run(layer, out_index=None):
                def fn():
                    y = layer(x)
                    y = y[0] if isinstance(y, tuple) else y
                    y.sum().backward()
                return fn

            med = interleaved_medians({"nn": run(t), "rk": run(r), "keras": run(k)}, args.repeats)
            tok = {k_: B * T / v for k_, v in med.items()}
            print(f"{name:<10}{T:>5}  {tok['nn']:>10.0f}{tok['rk']:>14.0f}{tok['keras']:>10.0f}  "
                  f"{tok['rk'] / tok['keras']:>13.2f}{tok['rk'] / tok['nn']:>10.2f}", flush=True)
    fit_table(keras, rk, seqs, args.repeats)


def fit_table(keras, rk, seqs, repeats: int) -> None:
    """Seconds per ``fit`` epoch of the tutorial's model in both front ends, as training sequences per second."""
    n = 8 * B
    print(f"# fit: Sequential([layer({H}), Dense(1)]), adam, mse, {n} sequences of input {I} per epoch, batch {B}")
    print(f"{'layer':<10}{'T':>5}  {'rnnkit.keras':>14}{'Keras 3':>10}  {'rnnkit/Keras':>13}   (sequences/s)")
    for name in ("SimpleRNN", "LSTM", "GRU"):
        for T in seqs:
            g = torch.Generator().manual_seed(T)
            x, y = torch.randn(n, T, I, generator=g), torch.randn(n, 1, generator=g)
            models = {}
            for key, lib in (("keras", keras), ("rk", rk)):
                m = lib.models.Sequential([lib.Input((T, I)), getattr(lib.layers, name)(H), lib.layers.Dense(1)])
                m.compile(optimizer="adam", loss="mean_squared_error")
                models[key] = m
            models["rk"].set_weights(models["keras"].get_weights())
            data = {"keras": (x.numpy(), y.numpy()), "rk": (x, y)}

            def epoch(key):
                return lambda: models[key].fit(*data[key], epochs=1, batch_size=B, shuffle=False, verbose=0)

            med = interleaved_medians({"rk": epoch("rk"), "keras": epoch("keras")}, repeats)
            seq = {k_: n / v for k_, v in med.items()}
            print(f"{name:<10}{T:>5}  {seq['rk']:>14.0f}{seq['keras']:>10.0f}  {seq['rk'] / seq['keras']:>13.2f}",
                  flush=True)


if __name__ == "__main__":
    main()
