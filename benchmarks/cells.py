"""The cells people ask for against torch's fused ``nn.LSTM`` of the same hidden size: forward+backward tokens/s.

Rows: ``LayerNormLSTM``, ``LayerNormGRU``, ``FeedbackRNN`` (2 layers), ``IndRNN`` at batch 32, input 64, hidden 128/512,
T = 100/400 (issue #18's target: ≥ 0.77× nn.LSTM), and ``MinGRU``/``MinLSTM`` at T = 1000/4000 (target: ≥ 5× nn.LSTM),
with their backends (``loop``: rnnkit's hand-written BPTT of the linear recurrence step by step, the CPU default;
``scan``: the log-space parallel scan, as the paper; on a GPU also ``auto``: the linear-space parallel scan with
hand-written backward, the GPU default) and the bytes autograd keeps for backward, against nn.LSTM's.
All implementations of one row are timed interleaved (``benchmarks.timing``); ratios, not absolute times, matter.
"""

from __future__ import annotations

import argparse

import torch
from torch import nn

import rnnkit
from benchmarks.layers import fwd_bwd
from benchmarks.timing import device_sync, interleaved_medians, machine_line
from rnnkit.recurrence import native

B, I = 32, 64


def saved_bytes(module, x) -> int:
    """Bytes of the tensors autograd saves for backward in one forward (storage counted once)."""
    seen, total = set(), 0

    def pack(t):
        nonlocal total
        key = (t.untyped_storage().data_ptr(), t.untyped_storage().nbytes())
        if key not in seen:
            seen.add(key)
            total += key[1]
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        y = module(x)
    del y
    return total


def _thp() -> str:
    """The kernel's transparent-huge-page mode (the bracketed word of its setting), or why it is unknown."""
    try:
        text = open("/sys/kernel/mm/transparent_hugepage/enabled").read()
    except OSError:
        return "unknown (not Linux, or no THP)"
    return text[text.find("[") + 1:text.find("]")] if "[" in text else text.strip()


def make(kind: str, H: int, backend: str | None = None):
    kw = {} if backend is None else {"backend": backend}
    if kind == "FeedbackRNN":
        return rnnkit.FeedbackRNN(I, H, num_layers=2, cell="tanh")
    return getattr(rnnkit, kind)(I, H, **kw)


def row(kind: str, H: int, T: int, repeats: int, backends: list[str | None], device: str = "cpu",
        batch: int = B) -> dict:
    x = torch.randn(T, batch, I, device=device)
    lstm = nn.LSTM(I, H).to(device)
    fns = {"nn.LSTM": fwd_bwd(lstm, x)}
    mods = {}
    for be in backends:
        mods[be or "auto"] = make(kind, H, be).to(device)
        fns[be or "auto"] = fwd_bwd(mods[be or "auto"], x)
    medians = interleaved_medians(fns, repeats, sync=device_sync(device))
    out = {k: batch * T / v for k, v in medians.items()}
    out["mem"] = {k: saved_bytes(m, x) for k, m in {"nn.LSTM": lstm, **mods}.items()}
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="hidden 128, the shorter lengths, 3 repeats")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--cells", default="LayerNormLSTM,LayerNormGRU,FeedbackRNN,IndRNN,MinGRU,MinLSTM")
    p.add_argument("--device", default="cpu", help="cpu or cuda[:N] (on a GPU, nn.LSTM is cuDNN's)")
    p.add_argument("--batch", type=int, default=B, help="batch size (the issue's rows: 32)")
    p.add_argument("--backends", default=None, help="MinGRU/MinLSTM backends to time, e.g. loop (default: loop,scan; "
                   "on a GPU also auto)")
    args = p.parse_args(argv)
    torch.manual_seed(0)
    hiddens, repeats = ([128], 3) if args.quick else ([128, 512], args.repeats)
    print(f"# rnnkit cells vs torch.nn.LSTM: forward+backward tokens/s, batch {args.batch}, input {I} — "
          f"{machine_line(args.device)}")
    print(f"# compiled steps (rnnkit.recurrence.native; RNNKIT_NATIVE=0 for the torch-operation path): {native.status()}")
    print(f"# transparent huge pages (rnnkit.recurrence.hugepages marks its large buffers): {_thp()}")
    print("# ratio = tokens/s / nn.LSTM's; mem = MiB autograd saves for backward (nn.LSTM's in brackets)")
    print(f"{'cell':<14}{'backend':<8}{'H':>5}{'T':>6}  {'nn.LSTM':>10}{'cell':>10}{'ratio':>8}{'mem':>9}{'[LSTM]':>9}")
    for kind in args.cells.split(","):
        minimal = kind.startswith("Min")
        seqs = ([1000] if args.quick else [1000, 4000]) if minimal else ([100] if args.quick else [100, 400])
        default = ["loop", "scan"] + (["auto"] if args.device != "cpu" else [])
        backends = (args.backends.split(",") if args.backends else default) if minimal else [None]
        for H in hiddens:
            for T in seqs:
                r = row(kind, H, T, repeats, backends, args.device, args.batch)
                for be in backends:
                    name = be or "auto"
                    mib = r["mem"][name] / 2**20
                    print(f"{kind:<14}{name:<8}{H:>5}{T:>6}  {r['nn.LSTM']:>10.0f}{r[name]:>10.0f}"
                          f"{r[name] / r['nn.LSTM']:>8.2f}{mib:>9.1f}{r['mem']['nn.LSTM'] / 2**20:>9.1f}", flush=True)


if __name__ == "__main__":
    main()
