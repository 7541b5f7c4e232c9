"""Machine translation on real data: rnnkit's translator next to a rule-based translator and a hand-written model.

``python -m benchmarks translate [--minutes M] [--plain-minutes M (0: skip that row)] [--set OPTION=VALUE ...]
[--quick] [--out DIR]``

Data: ``kjv-rv1909`` (English → Spanish), trained on the training books, measured on **500 held-out verses of at most
20 English words** from the test books (Ruth, Jonah, Acts, Romans; sampled with seed 0). BLEU and chrF are sacrebleu's,
case-insensitive (every row lower-cased alike, as the peers in issue #15 were measured).

Rows:

* rnnkit, attention (``RECIPE``), ``--minutes`` of training (default 30), greedy and beam 5 — the beam's length penalty
  α picked from ``ALPHAS`` by chrF on 300 validation verses (the validation books), then used once on the test verses;
  mixed precision (bf16) where the CPU has AVX-512 BF16 (oneDNN says so), float32 elsewhere;
* rnnkit, the tutorial's plain encoder–decoder (``attention=none``), ``--plain-minutes`` (default 10), greedy and beam 5;
* Apertium (``apertium -u eng-spa``; Debian ``apertium-eng-spa``), where installed — skipped with a note elsewhere;
* the hand-written plain-PyTorch bi-GRU 256 + GRU 256 additive-attention model of issue #15 (15 minutes, greedy), as
  reported there (not rerun: BLEU 12.35, chrF 30.7 on the same books' verses).

Speed: training target tokens/s of rnnkit's model against a hand-written ``torch.nn`` loop of the same architecture on
the same batches, timed interleaved; beam-5 search sentences/s decoding a batch of 64 at once against one sentence at
a time.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import time
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from benchmarks.timing import interleaved_medians, machine_line, training_steps
from rnnkit.tasks.translate import TranslateOptions, load_parts, train_translator
from rnnkit.tasks.translator import Translator, collate_pairs, normalize, scores

RECIPE = {"lowercase": True, "tokenizer": "bpe", "vocab_size": 4000, "embedding_dim": 256, "hidden_size": 384,
          "encoder_cell": "lstm", "decoder_cell": "lstm", "attention": "general", "dropout": 0.3,
          "label_smoothing": 0.1, "batch_size": 64, "lr": 2e-3, "scheduler": "cosine", "bleu_sentences": 300}
ALPHAS = (0.6, 1.0, 1.5, 2.0)


def default_precision() -> str:
    """bf16 mixed precision where this CPU computes bfloat16 natively (about 1.3× here), float32 elsewhere."""
    return "bf16" if torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported() else "32"


RECIPE["precision"] = default_precision()
ISSUE_BASELINE = {"model": "hand-written bi-GRU 256 + GRU 256, additive attention (issue #15, 15 min, not rerun)",
                  "bleu_greedy": 12.35, "chrf_greedy": 30.7}


def test_verses(n: int = 500, max_words: int = 20, part: int = 2) -> tuple[list[str], list[str]]:
    """``n`` verses of at most ``max_words`` English words from the test books (``part=1``: the validation books)."""
    short = [p for p in load_parts(TranslateOptions(data="kjv-rv1909"))[part] if len(p.source.split()) <= max_words]
    picked = sorted(random.Random(0).sample(range(len(short)), min(n, len(short))))
    return [short[i].source for i in picked], [short[i].target for i in picked]


def measure(translator: Translator, sources: list[str], refs: list[str], beam: int, alpha: float = 0.6) -> dict:
    t0 = time.perf_counter()
    hyps = [r[0]["text"] for r in translator.translate(sources, beam=beam, alpha=alpha)]
    seconds = time.perf_counter() - t0
    found = scores(hyps, refs, lowercase=True)
    return {"bleu": found["bleu"], "chrf": found["chrf"], "sentences_per_s": len(sources) / seconds,
            "signature": found["bleu_signature"]}


def apertium(sources: list[str], refs: list[str]) -> dict | None:
    if shutil.which("apertium") is None:
        return None
    t0 = time.perf_counter()
    run = subprocess.run(["apertium", "-u", "eng-spa"], input="\n".join(sources) + "\n", capture_output=True,
                         text=True, check=True)
    hyps = run.stdout.splitlines()[:len(sources)]
    seconds = time.perf_counter() - t0
    found = scores(hyps, refs, lowercase=True)
    return {"bleu": found["bleu"], "chrf": found["chrf"], "sentences_per_s": len(sources) / seconds}


def train_row(name: str, minutes: float, out: Path, sources, refs, **changes) -> dict:
    folder = out / name
    if folder.exists():
        shutil.rmtree(folder)
    opts = TranslateOptions(data="kjv-rv1909", max_minutes=minutes, progress=False, **{**RECIPE, **changes})
    results = train_translator(opts, folder)
    t = Translator(folder)
    history = t.config.get("history") or [{}]
    row = {"model": name, "minutes": minutes, "epochs": len(history), "val_bleu": results["val_bleu"],
           "tgt_tok_per_s": history[-1].get("tgt_tok_per_s"), "precision": opts.precision}
    val_sources, val_refs = test_verses(100 if len(sources) < 500 else 300, part=1)
    by_alpha = {a: measure(t, val_sources, val_refs, 5, a)["chrf"] for a in ALPHAS}
    row["alpha"] = max(by_alpha, key=by_alpha.get)
    row["val_chrf_beam5_by_alpha"] = by_alpha
    for beam in (1, 5):
        m = measure(t, sources, refs, beam, row["alpha"])
        key = "greedy" if beam == 1 else "beam5"
        row.update({f"bleu_{key}": m["bleu"], f"chrf_{key}": m["chrf"], f"sentences_per_s_{key}": m["sentences_per_s"]})
        row["signature"] = m["signature"]
    return row


# --- the hand-written model of the same architecture (speed peer) ---------------------------------------------------
class HandWritten(nn.Module):
    """bi-LSTM encoder (H/2 per direction), bridge, LSTM decoder, Luong general attention, plain torch.nn."""

    def __init__(self, V_src, V_tgt, E, H):
        super().__init__()
        self.H = H
        self.src_emb, self.tgt_emb = nn.Embedding(V_src, E, padding_idx=0), nn.Embedding(V_tgt, E, padding_idx=0)
        self.enc = nn.LSTM(E, H // 2, batch_first=True, bidirectional=True)
        self.bridge = nn.Linear(H, 2 * H)
        self.dec = nn.LSTM(E, H, batch_first=True)
        self.W_a, self.W_c, self.out = nn.Linear(H, H, bias=False), nn.Linear(2 * H, H, bias=False), nn.Linear(H, V_tgt)
        self.drop = nn.Dropout(0.3)

    def loss(self, src, lengths, tgt_in, tgt_out):
        packed = nn.utils.rnn.pack_padded_sequence(self.drop(self.src_emb(src)), lengths, batch_first=True,
                                                   enforce_sorted=False)
        y, (h, _) = self.enc(packed)
        y, _ = nn.utils.rnn.pad_packed_sequence(y, batch_first=True, total_length=src.shape[1])
        init = torch.tanh(self.bridge(torch.cat([h[0], h[1]], -1))).view(-1, 2, self.H)
        d, _ = self.dec(self.drop(self.tgt_emb(tgt_in)), (init[:, 0][None].contiguous(), init[:, 1][None].contiguous()))
        mask = torch.arange(src.shape[1])[None] < lengths[:, None]
        a = torch.softmax((d @ self.W_a(y).transpose(1, 2)).masked_fill(~mask[:, None], float("-inf")), -1)
        h_tilde = torch.tanh(self.W_c(torch.cat([a @ y, d], -1)))
        logits = self.out(self.drop(h_tilde))
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1), ignore_index=0,
                               label_smoothing=0.1)


def training_speed(run_dir: Path, repeats: int) -> dict:
    t = Translator(run_dir)
    mc = t.config["model"]
    opts = TranslateOptions(data="kjv-rv1909", **RECIPE)
    train, _, _ = load_parts(opts)
    rng = random.Random(1)
    picked = sorted((train[i] for i in rng.sample(range(len(train)), 64 * 4)), key=lambda p: len(p.source))
    pairs = [(t.source_tokenizer.encode(normalize(p.source, True)), t.target_tokenizer.encode(normalize(p.target, True)))
             for p in picked]
    batches = [collate_pairs(pairs[i:i + 64]) for i in range(0, len(pairs), 64)]
    ours = t.model.train()
    hand = HandWritten(mc["src_vocab"], mc["tgt_vocab"], mc["embedding_dim"], mc["hidden_size"]).train()
    opt_ours, opt_hand = torch.optim.Adam(ours.parameters(), 1e-4), torch.optim.Adam(hand.parameters(), 1e-4)

    amp = dict(device_type="cpu", dtype=torch.bfloat16, enabled=RECIPE["precision"] == "bf16")  # both alike

    def ours_loss(b):
        with torch.autocast(**amp):
            return ours.training_step(b)["loss"]

    def hand_loss(b):
        with torch.autocast(**amp):
            return hand.loss(*b)
    med = interleaved_medians({"rnnkit": training_steps(ours_loss, opt_ours, batches),
                               "hand": training_steps(hand_loss, opt_hand, batches)}, repeats)
    tokens = sum(int((b[3] != 0).sum()) for b in batches)
    return {"rnnkit_tok_per_s": tokens / med["rnnkit"], "hand_tok_per_s": tokens / med["hand"],
            "ratio": med["hand"] / med["rnnkit"]}


def beam_speed(run_dir: Path, sources: list[str]) -> dict:
    t = Translator(run_dir)
    batch = sources[:64]
    t0 = time.perf_counter()
    t.translate(batch, beam=5, batch_size=64)
    together = time.perf_counter() - t0
    t0 = time.perf_counter()
    for s in batch:
        t.translate([s], beam=5, batch_size=1)
    alone = time.perf_counter() - t0
    return {"batched_sentences_per_s": len(batch) / together, "one_at_a_time_sentences_per_s": len(batch) / alone}


def _setting(text: str) -> tuple[str, object]:
    """``dropout=0.2`` → ("dropout", 0.2); a value that is not JSON stays a string (``attention=dot``)."""
    key, _, value = text.partition("=")
    try:
        return key, json.loads(value)
    except ValueError:
        return key, value


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks translate")
    ap.add_argument("--minutes", type=float, default=30.0, help="training minutes of the attention model")
    ap.add_argument("--plain-minutes", type=float, default=10.0, help="training minutes of the plain encoder-decoder")
    ap.add_argument("--quick", action="store_true", help="1-minute runs and 100 verses (a smoke test of the benchmark)")
    ap.add_argument("--out", type=Path, default=Path("runs/bench-translate"))
    ap.add_argument("--set", action="append", default=[], metavar="OPTION=VALUE",
                    help="change the recipe, e.g. --set dropout=0.2 (any TranslateOptions field)")
    args = ap.parse_args(argv)
    if args.quick:
        args.minutes = args.plain_minutes = 1.0
    torch.set_num_threads(max(1, torch.get_num_threads()))
    sources, refs = test_verses(100 if args.quick else 500)
    print(f"machine: {machine_line()}; {len(sources)} held-out verses (≤ 20 English words, test books); "
          f"training precision {RECIPE['precision']}", flush=True)
    rows = []
    peer = apertium(sources, refs)
    if peer is None:
        print("note: apertium is not installed (apt-get install apertium-eng-spa): its row is skipped", flush=True)
    else:
        rows.append({"model": "Apertium eng-spa (rule-based)", "bleu_greedy": peer["bleu"], "chrf_greedy": peer["chrf"],
                     "sentences_per_s_greedy": peer["sentences_per_s"]})
    rows.append(dict(ISSUE_BASELINE))
    changes = dict(_setting(s) for s in args.set)
    if args.plain_minutes > 0:
        rows.append(train_row("plain-encoder-decoder", args.plain_minutes, args.out, sources, refs,
                              **{**changes, "attention": "none"}))
    rows.append(train_row("attention", args.minutes, args.out, sources, refs, **changes))
    speed = training_speed(args.out / "attention", repeats=2 if args.quick else 5)
    beams = beam_speed(args.out / "attention", sources)
    print(f"\n{'model':<72} {'BLEU greedy':>11} {'chrF':>6} {'BLEU beam5':>10} {'chrF':>6} {'min':>5}")
    for r in rows:
        def f(k):
            return f"{r[k]:.2f}" if isinstance(r.get(k), float) else "-"
        print(f"{r['model']:<72} {f('bleu_greedy'):>11} {f('chrf_greedy'):>6} {f('bleu_beam5'):>10} "
              f"{f('chrf_beam5'):>6} {r.get('minutes', '-')!s:>5}")
    print(f"\ntraining speed (same batches, interleaved): rnnkit {speed['rnnkit_tok_per_s']:.0f} target tokens/s, "
          f"hand-written torch.nn {speed['hand_tok_per_s']:.0f} → {speed['ratio']:.2f}×")
    print(f"beam 5: {beams['batched_sentences_per_s']:.1f} sentences/s in a batch of 64 vs "
          f"{beams['one_at_a_time_sentences_per_s']:.1f} one at a time")
    print(f"beam length penalty α (wu) picked on validation verses by chrF: {rows[-1]['alpha']} "
          f"({', '.join(f'{a}: {c:.2f}' for a, c in rows[-1]['val_chrf_beam5_by_alpha'].items())})")
    print(f"signature: {rows[-1]['signature']}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps({"machine": machine_line(), "rows": rows, "speed": speed,
                                                       "beam": beams}, indent=1))
