"""Text applications on real data, against the peers a user would otherwise write.

``python -m benchmarks text [classify|lm|cells] [--quick] [--minutes M] [--cell-minutes M] [--lm-cell lstm|gru]
[--bptt K] [--streams S] [--lr LR] [--backend auto|loop] [--precision 32|bf16] [--out DIR]``

* classify — ``rt-polarity`` (random split) and ``rt-polarity-by-movie`` (no film in two parts): rnnkit's text
  classifier (the recipe below) next to a TF-IDF 1–2-gram logistic regression (C picked on validation), same splits.
* lm — ``austen`` character LM, LSTM 512 (or ``--lm-cell gru``: a GRU with as many parameters): held-out bits per
  character against training minutes, for a cosine schedule sized to ``--minutes`` of this machine; throughput
  (characters/s) next to a hand-written ``torch.nn.LSTM``/``GRU`` loop, timed interleaved so that the ratio holds on a
  noisy machine.
* cells — LSTM, GRU, SimpleRNN (tanh), FeedbackRNN (2 layers, gated feedback), and the newer cells: LayerNormLSTM,
  IndRNN (2 layers), MinGRU and MinLSTM (2 layers each) at the LSTM's parameter count, each for ``--cell-minutes``
  (``--cells`` picks some); one plot of their curves.

Each run trains for a time budget (``LMOptions.max_minutes``: training time, evaluation excluded), its cosine schedule
annealing over that time; a short throughput calibration only spaces the evaluations. The step count a run reaches thus
depends on the machine's speed at the time.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import time
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from benchmarks.timing import interleaved_medians, machine_line
from rnnkit.data.corpora import prepare
from rnnkit.models.text import LanguageModel
from rnnkit.tasks.text import ClassifyOptions, LMOptions, load_run, plot_curves, train_classifier, train_language_model

CLASSIFY_RECIPE = {"cell": "lstm", "pooling": "attention", "word_dropout": 0.25, "dropout": 0.5, "scheduler": "cosine",
                   "epochs": 12, "patience": 12, "ensemble": 3}
LM_RECIPE = {"cell": "lstm", "hidden_size": 512, "embedding_dim": 128, "bptt": 32, "streams": 32, "lr": 4e-3,
             "optimizer": "adamw", "weight_decay": 0.1, "decay_vectors": True, "beta2": 0.95, "scheduler": "cosine",
             "clip_norm": 1.0, "backend": "auto", "precision": "32", "dropout": 0.0, "variational_dropout": 0.0,
             "weight_drop": 0.0}
REGULARIZERS = ("variational_dropout", "weight_drop")


# --- classification ------------------------------------------------------------------------------------------------
def bag_of_words(name: str) -> dict:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    folder = prepare(name)
    parts = {}
    for part in ("train", "validation", "test"):
        with open(folder / f"{part}.csv", newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        parts[part] = ([r["text"] for r in rows], [r["label"] for r in rows])
    t0 = time.perf_counter()
    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    X = vec.fit_transform(parts["train"][0])
    best = None
    for C in (1.0, 3.0, 10.0, 30.0):
        clf = LogisticRegression(C=C, max_iter=2000).fit(X, parts["train"][1])
        val = clf.score(vec.transform(parts["validation"][0]), parts["validation"][1])
        if best is None or val > best[0]:
            best = (val, C, clf.score(vec.transform(parts["test"][0]), parts["test"][1]))
    return {"validation_accuracy": best[0], "test_accuracy": best[2], "C": best[1],
            "minutes": (time.perf_counter() - t0) / 60}


def classify(out: Path, quick: bool) -> list[dict]:
    recipe = dict(CLASSIFY_RECIPE, **({"epochs": 2, "ensemble": 2} if quick else {}))
    rows = []
    for name in ("rt-polarity", "rt-polarity-by-movie"):
        bow = bag_of_words(name)
        rows.append({"data": name, "model": f"TF-IDF 1-2 grams + logistic regression (C={bow['C']:g})", **bow})
        t0 = time.perf_counter()
        r = train_classifier(ClassifyOptions(data=name, progress=False, **recipe), out / f"classify-{name}")
        minutes = (time.perf_counter() - t0) / 60
        for m, (va, te) in enumerate(zip(r["validation_member_accuracy"], r["test_member_accuracy"])):
            rows.append({"data": name, "model": f"rnnkit member {m} (seed {m})", "validation_accuracy": va,
                         "test_accuracy": te, "minutes": float("nan")})
        rows.append({"data": name, "model": f"rnnkit ensemble of {recipe['ensemble']}", "minutes": minutes,
                     "validation_accuracy": r["validation_accuracy"], "test_accuracy": r["test_accuracy"]})
        print_table(rows[-(recipe["ensemble"] + 2):], ("data", "model", "validation_accuracy", "test_accuracy", "minutes"))
    return rows


# --- language modelling ----------------------------------------------------------------------------------------------
class PlainLM(nn.Module):
    """What a user writes by hand: embedding → torch.nn.LSTM/GRU/RNN → linear."""

    def __init__(self, vocab: int, emb: int, hidden: int, cell: str) -> None:
        super().__init__()
        kind = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[cell]
        self.emb, self.rnn, self.out = nn.Embedding(vocab, emb), kind(emb, hidden, batch_first=True), nn.Linear(hidden, vocab)

    def forward(self, x, state=None):
        y, state = self.rnn(self.emb(x), state)
        return self.out(y), state


def _train_step_fn(model: nn.Module, vocab: int, streams: int, bptt: int):
    """One TBPTT step (forward, backward, clip, Adam) on random tokens, the state carried and detached."""
    opt = torch.optim.Adam(model.parameters(), 1e-4)
    g = torch.Generator().manual_seed(0)
    x, y = torch.randint(0, vocab, (streams, bptt), generator=g), torch.randint(0, vocab, (streams, bptt), generator=g)
    state = [None]

    def step():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=LM_RECIPE["precision"] == "bf16"):
            logits, s = model(x, state[0])
        state[0] = tuple(t.detach() for t in s) if isinstance(s, tuple) else s.detach()
        loss = F.cross_entropy(logits.reshape(-1, vocab), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    return step


def chars_per_second(cell: str, hidden: int, num_layers: int, vocab: int, repeats: int, plain: bool) -> dict[str, float]:
    r = LM_RECIPE
    model = LanguageModel(vocab, r["embedding_dim"], hidden, cell, num_layers, r["dropout"], backend=backend_for(cell),
                          regularizers={k: r[k] for k in REGULARIZERS if r[k]}).train()
    fns = {"rnnkit": _train_step_fn(model, vocab, r["streams"], r["bptt"])}
    if plain:
        fns["torch.nn"] = _train_step_fn(PlainLM(vocab, r["embedding_dim"], hidden, cell), vocab, r["streams"], r["bptt"])
    medians = interleaved_medians(fns, repeats)
    return {k: r["streams"] * r["bptt"] / v for k, v in medians.items()}


def backend_for(cell: str) -> str:
    """The recipe's backend where the cell has a choice (FeedbackRNN always runs on the loop)."""
    return LM_RECIPE["backend"] if cell in ("rnn", "relu", "lstm", "gru") else "auto"


def equal_param_hidden(cell: str, num_layers: int, vocab: int, target: int) -> int:
    def count(h: int) -> int:
        return sum(p.numel() for p in LanguageModel(vocab, LM_RECIPE["embedding_dim"], h, cell, num_layers).parameters())

    lo, hi = 8, 4096
    while lo < hi:  # the smallest hidden size whose model has at least the target's parameters
        mid = (lo + hi) // 2
        lo, hi = (mid + 1, hi) if count(mid) < target else (lo, mid)
    return lo if abs(count(lo) - target) <= abs(count(lo - 1) - target) else lo - 1


def lm_run(out: Path, cell: str, hidden: int, num_layers: int, minutes: float, vocab: int, speed: float,
           evals: int = 10) -> dict:
    """Train for ``minutes`` of training time (the cosine schedule anneals over it), with about ``evals`` evaluations
    along the way (spaced by the measured ``speed``)."""
    r = LM_RECIPE
    window = r["bptt"] * 4  # LMOptions.window_chunks
    batches = max(2, int(minutes * 60 * speed / (r["streams"] * window)))
    opts = LMOptions(data="austen", cell=cell, hidden_size=hidden, num_layers=num_layers, embedding_dim=r["embedding_dim"],
                     bptt=r["bptt"], streams=r["streams"], lr=r["lr"], optimizer=r["optimizer"],
                     weight_decay=r["weight_decay"], decay_vectors=r["decay_vectors"], beta2=r["beta2"],
                     scheduler=r["scheduler"],
                     clip_norm=r["clip_norm"], precision=r["precision"], dropout=r["dropout"],
                     **{k: r[k] for k in REGULARIZERS},
                     backend=backend_for(cell),
                     epochs=1000, max_minutes=minutes, eval_every=max(1, batches // evals), progress=False)
    result = train_language_model(opts, out)
    with open(out / "curve.csv", newline="") as f:
        curve = [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]
    params = sum(p.numel() for p in load_run(out)[0].parameters())
    return {"cell": cell, "hidden": hidden, "layers": num_layers, "params": params, "steps": int(curve[-1]["step"]),
            "minutes": result["train_seconds"] / 60, "chars_per_s": result["train_tokens"] / result["train_seconds"],
            "bpc": result["val_bits_per_token"], "curve": curve}


def at_minutes(curve: list[dict], m: float) -> float:
    """Held-out bits per character at ``m`` training minutes, interpolated between evaluations (nan past the end)."""
    pts = [(row["train_seconds"] / 60, row["val_bits_per_token"]) for row in curve]
    for (t0, b0), (t1, b1) in zip(pts, pts[1:]):
        if t0 <= m <= t1:
            return b0 + (b1 - b0) * (m - t0) / max(t1 - t0, 1e-9)
    return float("nan")


def vocab_size() -> int:
    from rnnkit.data.readers import read_text

    return len(set(read_text(prepare("austen") / "text.txt"))) + 4


def lm(out: Path, minutes: float, quick: bool, cell: str = "lstm") -> dict:
    vocab = vocab_size()
    hidden = 512 if cell == "lstm" else equal_param_hidden(cell, 1, vocab, lstm512_params(vocab))
    plain = cell in ("lstm", "gru")  # cells torch.nn has: timed against a hand-written loop of it
    speed = chars_per_second(cell, hidden, 1, vocab, repeats=3 if quick else 8, plain=plain)
    peer = (f", torch.nn by hand {speed['torch.nn']:.0f} (ratio {speed['rnnkit'] / speed['torch.nn']:.2f})"
            if plain else "")
    print(f"austen char LM, {cell.upper()} {hidden} (backend {backend_for(cell)}), {LM_RECIPE['streams']} streams x TBPTT "
          f"{LM_RECIPE['bptt']}, {LM_RECIPE['optimizer']} {LM_RECIPE['lr']:g} (weight decay {LM_RECIPE['weight_decay']:g}, "
          f"beta2 {LM_RECIPE['beta2']:g}{'' if LM_RECIPE['decay_vectors'] else ', matrices only'}) cosine, "
          f"precision {LM_RECIPE['precision']}, dropout {LM_RECIPE['dropout']:g}"
          + "".join(f", {k} {LM_RECIPE[k]:g}" for k in REGULARIZERS if LM_RECIPE[k]) + ": training characters/s "
          f"rnnkit {speed['rnnkit']:.0f}{peer}")
    run = lm_run(out / f"lm-{cell}", cell, hidden, 1, minutes, vocab, speed["rnnkit"])
    marks = [m for m in (5, 10, 15, 20, 30) if m <= run["minutes"] + 1e-9]
    print("held-out bits per character: " + ", ".join(f"{at_minutes(run['curve'], m):.3f} @ {m} min" for m in marks)
          + f"; final {run['bpc']:.3f} after {run['minutes']:.1f} min ({run['chars_per_s']:.0f} chars/s in the run)")
    return {"speed": speed, "run": run}


def lstm512_params(vocab: int) -> int:
    return sum(p.numel() for p in LanguageModel(vocab, LM_RECIPE["embedding_dim"], 512, "lstm").parameters())


CELL_RUNS = (("lstm", 1), ("gru", 1), ("rnn", 1), ("feedback", 2), ("layernorm-lstm", 1), ("layernorm-gru", 1),
             ("indrnn", 2), ("mingru", 2), ("minlstm", 2))


def cells(out: Path, minutes: float, quick: bool, names: list[str] | None = None) -> list[dict]:
    vocab = vocab_size()
    target = lstm512_params(vocab)
    runs = []
    for cell, layers in (c for c in CELL_RUNS if names is None or c[0] in names):
        hidden = 512 if cell == "lstm" else equal_param_hidden(cell, layers, vocab, target)
        speed = chars_per_second(cell, hidden, layers, vocab, repeats=2 if quick else 3, plain=False)["rnnkit"]
        runs.append(lm_run(out / f"cells-{cell}", cell, hidden, layers, minutes, vocab, speed, evals=6))
    print_table(runs, ("cell", "hidden", "layers", "params", "chars_per_s", "minutes", "bpc"))
    plot_curves({f"{r['cell']} H={r['hidden']}" + (f" x{r['layers']}" if r["layers"] > 1 else ""): r["curve"] for r in runs},
                out / "cells.png", "held-out bits per character (austen)")
    return runs


def print_table(rows: list[dict], cols: tuple[str, ...]) -> None:
    def fmt(v):
        if isinstance(v, float):
            return "-" if math.isnan(v) else f"{v:.4f}" if v < 10 else f"{v:.0f}"
        return str(v)

    cells_ = [[fmt(r.get(c, "")) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells_)) for i, c in enumerate(cols)]
    print("  ".join(c.ljust(w) for c, w in zip(cols, widths)))
    for row in cells_:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)))


def main(argv: list[str]) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks text")
    p.add_argument("parts", nargs="*", help="classify, lm and/or cells (default: all three)")
    p.add_argument("--quick", action="store_true", help="tiny budgets: checks that everything runs")
    p.add_argument("--minutes", type=float, default=20.0, help="training minutes of the LSTM language model")
    p.add_argument("--cell-minutes", type=float, default=5.0, help="training minutes of each cell in the comparison")
    p.add_argument("--out", default="runs/bench-text")
    p.add_argument("--lm-cell", choices=("lstm", "gru", "layernorm-lstm", "layernorm-gru"), default="lstm",
                   help="the lm part's cell: LSTM 512, or another with as many parameters")
    p.add_argument("--cells", default=None, help="the cells part's cells, comma-separated (default: all of "
                   + ", ".join(c for c, _ in CELL_RUNS) + ")")
    # the language-model recipe (all LM runs, the cell comparison too)
    keys = ("bptt", "streams", "lr", "optimizer", "weight_decay", "decay_vectors", "beta2", "backend", "precision",
            "dropout", *REGULARIZERS)
    for key in keys:
        kind = type(LM_RECIPE[key])
        p.add_argument(f"--{key}", default=LM_RECIPE[key],
                       type=(lambda v: v.lower() in ("1", "true", "yes")) if kind is bool else kind)
    args = p.parse_args(argv)
    LM_RECIPE.update({key: getattr(args, key) for key in keys})
    args.parts = args.parts or ["classify", "lm", "cells"]
    if set(args.parts) - {"classify", "lm", "cells"}:
        p.error(f"unknown part(s) {sorted(set(args.parts) - {'classify', 'lm', 'cells'})}; choose classify, lm, cells")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"machine: {machine_line()}")
    report = {}
    if "lm" in args.parts:
        report["lm"] = lm(out, 0.3 if args.quick else args.minutes, args.quick, args.lm_cell)
    if "classify" in args.parts:
        report["classify"] = classify(out, args.quick)
    if "cells" in args.parts:
        report["cells"] = cells(out, 0.2 if args.quick else args.cell_minutes, args.quick,
                                args.cells.split(",") if args.cells else None)
    (out / "report.json").write_text(json.dumps(report, indent=1, default=float))
    print(f"report: {out / 'report.json'}")
