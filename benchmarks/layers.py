"""Forward+backward throughput of rnnkit's layers against torch.nn and a naive tutorial-style loop.

For each cell (RNN, LSTM, GRU, FeedbackRNN), hidden size and sequence length, at batch 32 and input 64, this times one
forward+backward pass of:

* ``torch.nn``      — torch's fused module (the peer; FeedbackRNN has none),
* ``rnnkit auto``   — rnnkit with ``backend="auto"`` (on CPU: torch's fused LSTM, rnnkit's BPTT for the RNN/GRU),
* ``rnnkit loop``   — rnnkit's explicit loop (hand-written BPTT for RNN/LSTM/GRU, autograd through the cells for
  FeedbackRNN),
* ``naive loop``    — what a tutorial writes: per step ``x[t] @ W_ih.T + h @ W_hh.T`` and the gate math, indexing by ``[t]``.

and prints tokens/s (batch × seq / time) with ratios to torch.nn, and ``loop`` against torch.nn's fused LSTM.
"""

from __future__ import annotations

import argparse

import torch
from torch import nn

import rnnkit
from benchmarks.timing import device_sync, interleaved_medians, machine_line

B, I = 32, 64


def naive_step_fn(kind: str, layer):
    """A tutorial-style cell written inline (single layer), reading the weights of ``layer``'s layer 0."""
    W_ih, W_hh, b_ih, b_hh = layer.weight_ih_l0, layer.weight_hh_l0, layer.bias_ih_l0, layer.bias_hh_l0

    def run(x):
        T = x.shape[0]
        H = W_hh.shape[1]
        h = x.new_zeros(x.shape[1], H)
        c = x.new_zeros(x.shape[1], H)
        outs = []
        for t in range(T):
            gx = x[t] @ W_ih.T + b_ih
            gh = h @ W_hh.T + b_hh
            if kind == "RNN":
                h = torch.tanh(gx + gh)
            elif kind == "LSTM":
                i, f, g, o = (gx + gh).chunk(4, 1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(c)
            else:
                xr, xz, xn = gx.chunk(3, 1)
                hr, hz, hn = gh.chunk(3, 1)
                r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
                n = torch.tanh(xn + r * hn)
                h = (1 - z) * n + z * h
            outs.append(h)
        return torch.stack(outs)

    return run


def fwd_bwd(module_call, x):
    def fn():
        y = module_call(x)
        y = y[0] if isinstance(y, tuple) else y
        y.sum().backward()
    return fn


def bench_config(kind: str, H: int, T: int, repeats: int, device: str = "cpu") -> dict[str, float]:
    x = torch.randn(T, B, I, device=device)
    fns = {}
    if kind == "FeedbackRNN":
        fb = rnnkit.FeedbackRNN(I, H, num_layers=2, cell="tanh").to(device)
        fns["rnnkit loop"] = fwd_bwd(fb, x)
        ref = nn.RNN(I, H, num_layers=2).to(device)
        fns["torch.nn"] = fwd_bwd(ref, x)  # a plain 2-layer tanh RNN, for scale
    else:
        tcls, rcls = {"RNN": (nn.RNN, rnnkit.RNN), "LSTM": (nn.LSTM, rnnkit.LSTM), "GRU": (nn.GRU, rnnkit.GRU)}[kind]
        ref = tcls(I, H).to(device)
        auto, loop = rcls(I, H, backend="auto").to(device), rcls(I, H, backend="loop").to(device)
        auto.load_state_dict(ref.state_dict())
        loop.load_state_dict(ref.state_dict())
        fns["torch.nn"] = fwd_bwd(ref, x)
        fns["rnnkit auto"] = fwd_bwd(auto, x)
        fns["rnnkit loop"] = fwd_bwd(loop, x)
        fns["naive loop"] = fwd_bwd(naive_step_fn(kind, ref), x)
    if "torch.nn" in fns and kind != "LSTM":
        lstm = nn.LSTM(I, H).to(device)
        fns["torch.nn LSTM"] = fwd_bwd(lstm, x)
    medians = interleaved_medians(fns, repeats, sync=device_sync(device))
    return {k: B * T / v for k, v in medians.items()}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="hidden 128 only, seq 100 only, 3 repeats")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--cells", default="RNN,LSTM,GRU,FeedbackRNN")
    p.add_argument("--device", default="cpu", help="cpu or cuda[:N] (on a GPU, torch.nn's modules are cuDNN's)")
    args = p.parse_args(argv)
    torch.manual_seed(0)
    hiddens, seqs, repeats = ([128], [100], 3) if args.quick else ([128, 512], [100, 400], args.repeats)
    print(f"# rnnkit layers: forward+backward tokens/s, batch {B}, input {I} — {machine_line(args.device)}")
    print("# ratio = tokens/s relative to torch.nn's fused module of the same cell (FeedbackRNN: a 2-layer nn.RNN);")
    print("# 'loop/LSTM' = rnnkit loop relative to torch.nn's fused LSTM of the same size (target >= 0.5)")
    print(f"{'cell':<12}{'H':>5}{'T':>5}  {'torch.nn':>10}{'auto':>10}{'loop':>10}{'naive':>10}"
          f"  {'auto/nn':>8}{'loop/nn':>8}{'naive/nn':>9}{'loop/LSTM':>10}")
    for kind in args.cells.split(","):
        for H in hiddens:
            for T in seqs:
                r = bench_config(kind, H, T, repeats, args.device)
                nn_ = r.get("torch.nn")
                lstm = r.get("torch.nn LSTM", nn_ if kind == "LSTM" else None)

                def f(k):
                    return f"{r[k]:>10.0f}" if k in r else f"{'-':>10}"

                def ratio(k, base, w=8):
                    return f"{r[k] / base:>{w}.2f}" if k in r and base else f"{'-':>{w}}"

                print(f"{kind:<12}{H:>5}{T:>5}  {f('torch.nn')}{f('rnnkit auto')}{f('rnnkit loop')}{f('naive loop')}"
                      f"  {ratio('rnnkit auto', nn_)}{ratio('rnnkit loop', nn_)}{ratio('naive loop', nn_, 9)}"
                      f"{ratio('rnnkit loop', lstm, 10)}", flush=True)


if __name__ == "__main__":
    main()
