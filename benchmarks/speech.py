"""Speech recognition on a synthesised corpus: rnnkit's CTC recogniser on voices it never heard in training.

``python -m benchmarks speech [--minutes M] [--utterances N] [--preset commands|sentences] [--lm LMRUN|auto]
[--lm-minutes M] [--ablation] [--quick] [--out DIR]``

* synthesises (or reuses) ``N`` utterances with ``rnnkit data synth-speech`` (espeak-ng; the test voices are never
  used in training) into ``DIR/corpus-PRESET-N``;
* trains rnnkit's recogniser (``RECIPE``: 80 log-mel, 2× frame stacking, 2-layer BiGRU 192, CTC; speed perturbation,
  noise and SpecAugment) for ``--minutes`` of training, then measures CER and WER (jiwer) on the test voices with
  greedy decoding and the prefix beam search (16), and — with ``--lm`` (a character LM run) — the fused search, its
  weight α and bonus β picked on 150 validation utterances (never the test ones). ``--lm auto`` (``sentences``) first
  trains a character LSTM LM for ``--lm-minutes`` on the corpus's ``lm-text.txt``: the source text without the
  validation and test sentences;
* the real-time factor of transcription (seconds of compute per second of audio, greedy and beam);
* training utterances/s of rnnkit's model against a hand-written ``torch.nn.GRU`` model of the same shape on the same
  batches, timed interleaved;
* ``--ablation``: the recipe again with each augmentation turned off in turn (one run of ``--minutes`` each);
  ``--variants "no augmentation"`` trains only the named ones.

Issue #16's hand-written baseline (3,000 commands utterances, 11 minutes of training, 2 unseen voices): CER 3.5%,
WER 10.6%, 76 utterances/s.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from benchmarks.timing import interleaved_medians, machine_line, training_steps
from rnnkit.data.speech_synth import synth_speech
from rnnkit.tasks.speech import ASROptions, SpeechCollate, SpeechSet, load_audio, load_parts, train_asr
from rnnkit.tasks.transcriber import CharLMScorer, Transcriber, error_rates

RECIPE = {"n_mels": 80, "subsample": 2, "cell": "gru", "hidden_size": 192, "num_layers": 2, "bidirectional": True,
          "dropout": 0.1, "batch_size": 32, "lr": 2e-3, "scheduler": "cosine", "speed_perturb": True, "noise": 0.5,
          "spec_augment": True, "eval_utterances": 200}
ABLATIONS = {"no speed perturbation": {"speed_perturb": False}, "no noise": {"noise": 0.0},
             "no SpecAugment": {"spec_augment": False}, "no augmentation": {"speed_perturb": False, "noise": 0.0,
                                                                           "spec_augment": False}}
EXTRAS = {"VTLP": {"vtlp": 0.1}}  # trained only when named in --variants


def corpus(out: Path, preset: str, n: int, flite: bool) -> Path:
    """The corpus (cached): espeak-ng's voices, and a quarter from flite's with ``flite`` (the default where installed;
    the figures before session 33 were measured on espeak-only corpora)."""
    folder = out / f"corpus-{preset}-{n}{'-flite' if flite else ''}"
    if not (folder / "test.jsonl").is_file():
        if folder.exists():
            shutil.rmtree(folder)
        synth_speech(folder, preset, n, seed=0, flite=flite)
    return folder


LM_RECIPE = {"tokenizer": "char", "cell": "lstm", "hidden_size": 512, "embedding_dim": 64, "lr": 3e-3,
             "held_out": 0.02}
FUSION_GRID = [(a, b) for a in (0.3, 0.5, 0.8, 1.2) for b in (0.0, 1.0, 2.0)]


def fusion_lm(data: Path, out: Path, minutes: float) -> Path:
    """A character LM trained on the corpus's text without its validation and test sentences (cached)."""
    from rnnkit.tasks.lm import LMOptions, train_language_model

    text = data / "lm-text.txt"
    if not text.is_file():
        raise SystemExit(f"--lm auto needs {text} (a 'sentences' corpus written by this version)")
    run = out / f"lm-{data.name}-{minutes:g}min"
    if not (run / "config.json").is_file():
        if run.exists():
            shutil.rmtree(run)
        print(f"training the fusion LM ({minutes:g} min) on {text}", flush=True)
        print(train_language_model(LMOptions(data=str(text), max_minutes=minutes, progress=False, **LM_RECIPE), run),
              flush=True)
    return run


def split_audio(t: Transcriber, data: Path, split: str, limit: int | None = None) -> tuple[list[str], list]:
    """The reference texts and waveforms (at the model's rate) of one split of the corpus."""
    parts = dict(zip(("train", "validation", "test"), load_parts(ASROptions(data=str(data), progress=False))))
    records = parts[split][:limit]
    return [r.text for r in records], load_audio(records, t.featurizer.sample_rate, False, split)


def tune_fusion(t: Transcriber, data: Path, scorer: CharLMScorer) -> tuple[float, float, list[dict]]:
    """α and β with the lowest WER (then CER) of the fused beam search on 150 validation utterances."""
    refs, waves = split_audio(t, data, "validation", 150)
    grid = []
    for alpha, beta in FUSION_GRID:
        hyps = [r["text"] for r in t.transcribe_waves(waves, beam=16, lm=scorer, alpha=alpha, beta=beta)]
        grid.append({"alpha": alpha, "beta": beta, **error_rates(refs, hyps)})
        print(f"  validation α={alpha} β={beta}: CER {grid[-1]['cer']:.2%} WER {grid[-1]['wer']:.2%}", flush=True)
    best = min(grid, key=lambda g: (g["wer"], g["cer"]))
    return best["alpha"], best["beta"], grid


def families(data: Path) -> list[str]:
    """Each test utterance's speaker family (espeak / flite), in the manifest's order."""
    lines = (data / "test.jsonl").read_text(encoding="utf-8").splitlines()
    return ["flite" if json.loads(x).get("voice", "").startswith("flite:") else "espeak" for x in lines if x.strip()]


def measure(t: Transcriber, data: Path, scorer: CharLMScorer | None, alpha: float = 0.5, beta: float = 1.0) -> dict:
    refs, waves = split_audio(t, data, "test")
    family = families(data)
    audio_seconds = sum(len(w) for w in waves) / t.featurizer.sample_rate
    row = {}
    searches = {"greedy": {"beam": 1}, "beam16": {"beam": 16}}
    if scorer is not None:
        searches["beam16+lm"] = {"beam": 16, "lm": scorer, "alpha": alpha, "beta": beta}
    for name, kwargs in searches.items():
        t0 = time.perf_counter()
        hyps = [r["text"] for r in t.transcribe_waves(waves, **kwargs)]
        seconds = time.perf_counter() - t0
        rates = error_rates(refs, hyps)
        row.update({f"cer_{name}": rates["cer"], f"wer_{name}": rates["wer"], f"rtf_{name}": seconds / audio_seconds})
        for fam in sorted(set(family)) if len(set(family)) > 1 else ():  # each speaker family on its own
            keep = [i for i, f in enumerate(family) if f == fam]
            rates = error_rates([refs[i] for i in keep], [hyps[i] for i in keep])
            row.update({f"cer_{name}_{fam}": rates["cer"], f"wer_{name}_{fam}": rates["wer"], f"n_{fam}": len(keep)})
    return row


class HandWritten(nn.Module):
    """Frame stacking ×2 → torch.nn.GRU (bidirectional, 2 layers) → linear → CTC: the issue's plain-PyTorch model."""

    def __init__(self, n_mels, hidden, vocab):
        super().__init__()
        self.gru = nn.GRU(2 * n_mels, hidden, 2, batch_first=True, bidirectional=True, dropout=0.1)
        self.out = nn.Linear(2 * hidden, vocab)

    def loss(self, feats, frames, targets, lengths):
        B, T, Fdim = feats.shape
        feats = F.pad(feats, (0, 0, 0, T % 2)).reshape(B, (T + T % 2) // 2, 2 * Fdim)
        n = (frames + 1) // 2
        packed = nn.utils.rnn.pack_padded_sequence(feats, n, batch_first=True, enforce_sorted=False)
        y, _ = nn.utils.rnn.pad_packed_sequence(self.gru(packed)[0], batch_first=True, total_length=feats.shape[1])
        logp = F.log_softmax(self.out(y), -1)
        return F.ctc_loss(logp.transpose(0, 1), targets, n, lengths, zero_infinity=True)


def training_speed(run: Path, data: Path, repeats: int) -> dict:
    t = Transcriber(run)
    opts = ASROptions(data=str(data), progress=False, **RECIPE)
    train, _, _ = load_parts(opts)
    picked = train[:128]
    waves = load_audio(picked, t.featurizer.sample_rate, False, "training")
    from rnnkit.data.speech import Alphabet

    alphabet = Alphabet()
    data_set = SpeechSet(waves, [alphabet.encode(r.text) for r in picked], [r.text for r in picked])
    collate = SpeechCollate(t.featurizer, opts)
    order = sorted(range(len(waves)), key=lambda i: len(waves[i]))
    batches = [collate([data_set[i] for i in order[s:s + 32]]) for s in range(0, len(order), 32)]
    ours, hand = t.model.train(), HandWritten(opts.n_mels, opts.hidden_size, len(alphabet)).train()
    opt_ours, opt_hand = torch.optim.Adam(ours.parameters(), 1e-4), torch.optim.Adam(hand.parameters(), 1e-4)

    med = interleaved_medians({"rnnkit": training_steps(lambda b: ours.training_step(b)["loss"], opt_ours, batches),
                               "hand": training_steps(lambda b: hand.loss(*b), opt_hand, batches)}, repeats)
    return {"rnnkit_utt_per_s": len(order) / med["rnnkit"], "hand_utt_per_s": len(order) / med["hand"],
            "ratio": med["hand"] / med["rnnkit"]}


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks speech")
    ap.add_argument("--minutes", type=float, default=15.0)
    ap.add_argument("--utterances", type=int, default=3000)
    ap.add_argument("--preset", default="commands", choices=("commands", "sentences"))
    ap.add_argument("--lm", default=None, help="a character language model run for the fused search, or 'auto'")
    ap.add_argument("--lm-minutes", type=float, default=10.0, help="training time of the --lm auto model")
    ap.add_argument("--ablation", action="store_true", help="also train with each augmentation turned off")
    ap.add_argument("--variants", default=None, help="train only these (comma-separated: recipe, "
                    + ", ".join([*ABLATIONS, *EXTRAS]) + ")")
    ap.add_argument("--quick", action="store_true", help="300 utterances, 1-minute runs: a smoke test")
    ap.add_argument("--flite", default="auto", choices=("auto", "true", "false"),
                    help="a quarter of the corpus from flite's voices (auto: where flite is installed)")
    ap.add_argument("--out", type=Path, default=Path("runs/bench-speech"))
    args = ap.parse_args(argv)
    flite = shutil.which("flite") is not None if args.flite == "auto" else args.flite == "true"
    if args.quick:
        args.minutes, args.utterances, args.lm_minutes = 1.0, 300, 0.5
    data = corpus(args.out, args.preset, args.utterances, flite)
    lm = fusion_lm(data, args.out, args.lm_minutes) if args.lm == "auto" else (Path(args.lm) if args.lm else None)
    print(f"machine: {machine_line()}; corpus {data} ({args.utterances} utterances, test voices unseen in training)",
          flush=True)
    rows = []
    variants = {"recipe": {}, **(ABLATIONS if args.ablation else {})}
    if args.variants:
        wanted = [v.strip() for v in args.variants.split(",")]
        known = {"recipe": {}, **ABLATIONS, **EXTRAS}
        unknown = [v for v in wanted if v not in known]
        if unknown:
            raise SystemExit(f"unknown variant(s) {unknown}; expected {', '.join(known)}")
        variants = {v: known[v] for v in wanted}
    for name, change in variants.items():
        run = args.out / f"{args.preset}-{name.replace(' ', '-')}"
        if run.exists():
            shutil.rmtree(run)
        results = train_asr(ASROptions(data=str(data), max_minutes=args.minutes, progress=False,
                                       **{**RECIPE, **change}), run)
        t = Transcriber(run)
        history = t.config.get("history") or [{}]
        scorer = CharLMScorer(lm, t.alphabet) if lm else None
        alpha, beta, grid = tune_fusion(t, data, scorer) if scorer else (None, None, None)
        rows.append({"model": f"rnnkit, {name}", "minutes": args.minutes, "epochs": len(history),
                     "val_cer": results["val_cer"], "utt_per_s": history[-1].get("utt_per_s"),
                     "alpha": alpha, "beta": beta, "fusion_grid": grid, **measure(t, data, scorer, alpha, beta)})
    first = next(iter(variants)).replace(" ", "-")
    speed = training_speed(args.out / f"{args.preset}-{first}", data, repeats=2 if args.quick else 5)
    print(f"\n{'model':<36} {'CER greedy':>10} {'WER greedy':>10} {'CER beam':>9} {'WER beam':>9} {'RTF greedy':>10} "
          f"{'RTF beam':>9}")
    for r in rows:
        print(f"{r['model']:<36} {r['cer_greedy']:>10.2%} {r['wer_greedy']:>10.2%} {r['cer_beam16']:>9.2%} "
              f"{r['wer_beam16']:>9.2%} {r['rtf_greedy']:>10.4f} {r['rtf_beam16']:>9.4f}"
              + (f"   with LM (α={r['alpha']}, β={r['beta']}): CER {r['cer_beam16+lm']:.2%} WER "
                 f"{r['wer_beam16+lm']:.2%} RTF {r['rtf_beam16+lm']:.4f}" if lm else ""))
    for r in rows:
        for fam in ("espeak", "flite"):
            if f"cer_greedy_{fam}" in r:
                print(f"  {r['model']}, {fam} test voices ({r[f'n_{fam}']} utterances): CER / WER greedy "
                      f"{r[f'cer_greedy_{fam}']:.2%} / {r[f'wer_greedy_{fam}']:.2%}, beam "
                      f"{r[f'cer_beam16_{fam}']:.2%} / {r[f'wer_beam16_{fam}']:.2%}")
    print(f"\ntraining speed (same batches, interleaved): rnnkit {speed['rnnkit_utt_per_s']:.1f} utterances/s, "
          f"hand-written torch.nn {speed['hand_utt_per_s']:.1f} → {speed['ratio']:.2f}×")
    report = {"machine": machine_line(), "lm": lm, "rows": rows, "speed": speed}
    (args.out / f"results-{args.preset}-{args.minutes:g}min.json").write_text(json.dumps(report, indent=1, default=str))
