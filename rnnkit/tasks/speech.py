"""Speech recognition end to end (task ``asr``): recordings and transcripts in, a CTC acoustic model out.

``train_asr`` reads a corpus folder written by ``rnnkit data synth-speech`` (its train/validation/test manifests; the
test voices never heard in training) or the user's recordings (any layout of ``rnnkit.data.speech``: a JSONL manifest,
Common Voice, AudioFolder, LJSpeech, Kaldi, LibriSpeech, transcripts beside the audio; ``--validation``/``--test``,
else a held-out share), checks every transcript against
the alphabet (file:line), reads the audio at the model's rate and trains ``rnnkit.models.acoustic.CTCAcousticModel``
with rnnkit's Trainer: log-mel features computed per batch (``rnnkit.data.features``), augmentation drawn per utterance
and epoch (speed perturbation, noise at a random SNR, SpecAugment — repeatable and resumable), time budget,
checkpoints, exact resume. Each evaluation measures the validation CTC loss and **CER/WER** (greedy, jiwer) into
``curve.csv``/``curve.png``; early stopping and the kept best weights follow ``monitor`` (CER by default)::

    from rnnkit.tasks.speech import ASROptions, train_asr, transcribe
    train_asr(ASROptions(data="corpus/", max_minutes=15), "runs/asr")
    print(transcribe("runs/asr", ["corpus/test/000001.wav"], beam=16))
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from rnnkit.data.audio import read_audio
from rnnkit.data.augment import SPEED_FACTORS, add_noise, spec_augment, speed_perturb, synthetic_noise
from rnnkit.data.speech import Alphabet, Recording, check_alphabet, read_recordings, read_splits
from rnnkit.layers import CELL_NAMES
from rnnkit.models.acoustic import FRONT_ENDS, CTCAcousticModel
from rnnkit.tasks.options import check, device_option, option, precision_option, run_options
from rnnkit.tasks.plots import plot_curves
from rnnkit.tasks.registry import Task
from rnnkit.tasks.runs import check_out_dir, hold_out, load_best, resume_key
from rnnkit.tasks.transcriber import Featurizer, Transcriber, error_rates, transcribe
from rnnkit.train import Config, LearningCurve, Trainer, seed_everything
from rnnkit.train.callbacks import Callback
from rnnkit.train.checkpoint import save_model
from rnnkit.train.optim import OPTIMIZERS


@dataclass
class ASROptions:
    data: str = option(None, "a folder from 'rnnkit data synth-speech', or recordings: a JSONL manifest, a CSV/TSV "
                             "table (Common Voice, AudioFolder's metadata.csv), an LJSpeech, Kaldi (wav.scp + text) "
                             "or LibriSpeech folder, or a folder of audio with a .txt transcript beside each",
                       required=True)
    validation: str | None = option(None, "validation recordings (default: the corpus's, or a held-out share)")
    test: str | None = option(None, "test recordings for evaluate (default: the corpus's test split)")
    held_out: float = option(0.1, "share held out for validation when there is no validation set", min=0, max=1,
                             min_open=True, max_open=True)
    sample_rate: int = option(16000, "the model's sample rate (audio is resampled to it)", min=4000)
    n_mels: int = option(80, "log-mel bands (25 ms windows, 10 ms hop)", min=8)
    normalize: str = option("utterance", "feature normalisation: per utterance, or global (training-set mean and "
                                         "std; needed for streaming)", choices=("utterance", "global"))
    front_end: str = option("stack", "stack consecutive frames, or convolutions of stride 2", choices=FRONT_ENDS)
    subsample: int = option(2, "frames per model step (the front end's stride)", min=1, max=8)
    cell: str = option("gru", "the recurrent cell", choices=CELL_NAMES)
    hidden_size: int = option(192, "hidden units per direction", min=1)
    num_layers: int = option(2, "stacked recurrent layers", min=1)
    bidirectional: bool = option(True, "read the audio both ways (false for streaming)")
    dropout: float = option(0.1, "dropout on the front end's output and between layers", min=0, max=1,
                            max_open=True)
    backend: str = option("auto", "recurrence kernel", choices=("auto", "loop", "fused"))
    speed_perturb: bool = option(True, "speed perturbation ×0.9/1.0/1.1 in training")
    noise: float = option(0.5, "probability of adding noise (white, brown or another utterance) in training", min=0,
                          max=1)
    snr_low: float = option(5.0, "the lowest signal-to-noise ratio drawn, dB")
    snr_high: float = option(30.0, "the highest signal-to-noise ratio drawn, dB")
    spec_augment: bool = option(True, "SpecAugment: two frequency and two time masks per utterance in training")
    vtlp: float = option(0.0, "vocal tract length perturbation in training: the spectrum's frequency axis warped by "
                              "a factor drawn in [1 - vtlp, 1 + vtlp] per utterance (0: off; 0.1 is usual)", min=0,
                         max=0.3)
    batch_size: int = option(32, "utterances per batch (similar lengths together)", min=1)
    epochs: int = option(100, "passes over the training recordings (at most)", min=1)
    max_steps: int | None = option(None, "stop after this many batches", min=1)
    max_minutes: float | None = option(None, "a training-time budget in minutes (evaluation excluded)", min=0,
                                       min_open=True)
    lr: float = option(2e-3, "learning rate", min=0, min_open=True)
    optimizer: str = option("adam", "optimizer", choices=OPTIMIZERS)
    weight_decay: float = option(0.0, "weight decay", min=0)
    scheduler: str = option("cosine", "learning-rate schedule", choices=("cosine", "none"))
    clip_norm: float = option(5.0, "clip the gradient's global norm to this", min=0, min_open=True)
    precision: str = precision_option()
    device: str = device_option()
    eval_every: int = option(0, "batches between validation evaluations for the learning curve (0: per epoch)", min=0)
    eval_utterances: int = option(300, "validation utterances transcribed (greedy) for CER/WER at each evaluation",
                                  min=1)
    monitor: str = option("cer", "what early stopping and the kept best weights follow", choices=("cer", "loss"))
    patience: int = option(5, "epochs without improvement before stopping", min=1)
    checkpoint_every: int = option(200, "batches between checkpoints, for --resume (0: epoch ends only)", min=0)
    seed: int = option(0, "random seed (initialisation, batches, augmentation)")
    progress: bool = option(True, "show progress bars (true/false)")

    def __post_init__(self) -> None:
        check(self)
        if self.snr_low > self.snr_high:
            raise ValueError(f"snr_low ({self.snr_low}) must not exceed snr_high ({self.snr_high})")


RESUME_MAY_CHANGE = ("device", "epochs", "max_steps", "max_minutes", "progress", "eval_every", "checkpoint_every", "test",
                     "patience", "eval_utterances")


def load_parts(opts: ASROptions) -> tuple[list[Recording], list[Recording], list[Recording]]:
    splits = read_splits(opts.data)
    if splits is not None:
        train, val, test = splits["train"], splits["validation"], splits["test"]
    else:
        train = read_recordings(opts.data)
        if opts.validation is None:
            train, val = hold_out(train, opts.held_out, opts.data, "recordings")
        test = []
    if opts.validation is not None:
        val = read_recordings(opts.validation)
    if opts.test is not None:
        test = read_recordings(opts.test)
    alphabet = Alphabet()
    for part in (train, val, test):
        check_alphabet(part, alphabet)
    return train, val, test


def load_audio(recordings: list[Recording], rate: int, progress: bool, what: str) -> list[np.ndarray]:
    from tqdm import tqdm

    out = []
    for r in tqdm(recordings, desc=f"reading {what} audio", unit="file", disable=not progress, leave=False):
        try:
            out.append(read_audio(r.audio, rate))
        except ValueError as e:
            raise ValueError(f"{r.where}: {e}") from None
    return out


class SpeechSet(Dataset):
    """Waveforms and label ids; the collate function turns a batch into features (augmented in training)."""

    def __init__(self, waves: list[np.ndarray], labels: list[list[int]], texts: list[str], augment: bool = False
                 ) -> None:
        self.waves, self.labels, self.texts, self.augment = waves, labels, texts, augment
        self.epoch = 0

    def __len__(self):
        return len(self.waves)

    def __getitem__(self, i):
        return i, self.waves[i], self.labels[i], self.augment

    def lengths(self) -> list[int]:
        return [len(w) for w in self.waves]


class SpeechCollate:
    """[(index, waveform, labels, augment)] → (features (B, T, F), frames (B,), labels (B, L), label lengths (B,)).

    Items of the training set (``augment``) are augmented, each from a generator seeded by (seed, epoch, index)."""

    def __init__(self, featurizer: Featurizer, opts: ASROptions, data: SpeechSet | None = None) -> None:
        self.featurizer, self.opts, self.data = featurizer, opts, data

    def _augment(self, i: int, wave: np.ndarray) -> tuple[np.ndarray, torch.Generator]:
        o, rate = self.opts, self.featurizer.sample_rate
        g = torch.Generator().manual_seed(o.seed * 1_000_003 + self.data.epoch * 100_003 + i)
        if o.speed_perturb:
            wave = speed_perturb(wave, rate, SPEED_FACTORS[int(torch.randint(0, 3, (1,), generator=g))])
        if torch.rand(1, generator=g).item() < o.noise:
            snr = o.snr_low + (o.snr_high - o.snr_low) * torch.rand(1, generator=g).item()
            if torch.rand(1, generator=g).item() < 0.5 and len(self.data) > 1:
                other = self.data.waves[int(torch.randint(0, len(self.data), (1,), generator=g))]
                wave = add_noise(wave, other, snr)
            else:
                wave = add_noise(wave, synthetic_noise(len(wave), g), snr)
        return wave, g

    def __call__(self, items):
        waves, gens = [], []
        augment = self.data is not None and all(item[3] for item in items)
        for i, wave, _, _ in items:
            if augment:
                wave, g = self._augment(i, wave)
                gens.append(g)
            waves.append(wave)
        warps = None
        if augment and self.opts.vtlp > 0:  # drawn after the waveform's augmentation: its draws stay as they were
            warps = [1 + self.opts.vtlp * (2 * torch.rand(1, generator=g).item() - 1) for g in gens]
        feats, frames = self.featurizer(waves, warps)
        if augment and self.opts.spec_augment:
            for b, g in enumerate(gens):
                n = int(frames[b])
                feats[b, :n] = spec_augment(feats[b, :n], g)
        lengths = torch.tensor([len(item[2]) for item in items])
        targets = torch.zeros(len(items), max(1, int(lengths.max())), dtype=torch.long)
        for b, (_, _, labels, _) in enumerate(items):
            targets[b, :len(labels)] = torch.tensor(labels, dtype=torch.long)
        return feats, frames, targets, lengths


class _Epochs(Callback):
    """Tells the training set which epoch it is in (its augmentation draws depend on it)."""

    def __init__(self, data: SpeechSet) -> None:
        self.data = data

    def on_epoch_start(self, trainer):
        self.data.epoch = trainer.epoch


class ValidationSpeech(SpeechSet):
    """Validation recordings whose evaluation also transcribes the first ``n`` (greedy) for CER and WER."""

    def __init__(self, waves, labels, texts, featurizer: Featurizer, n: int) -> None:
        super().__init__(waves, labels, texts)
        self.featurizer, self.n = featurizer, n

    def corpus_metrics(self, model) -> dict:
        from rnnkit.tasks.transcriber import greedy_texts

        hyps = greedy_texts(model, self.featurizer, self.waves[:self.n], Alphabet())
        return error_rates(self.texts[:self.n], hyps)


def _config(opts: ASROptions) -> Config:
    cfg = Config()
    cfg.optim.name, cfg.optim.lr, cfg.optim.weight_decay = opts.optimizer, opts.lr, opts.weight_decay
    cfg.scheduler.name, cfg.scheduler.interval = opts.scheduler, "step"
    cfg.data.batch_size, cfg.data.bucket = opts.batch_size, True
    cfg.train.epochs, cfg.train.max_steps, cfg.train.max_minutes = opts.epochs, opts.max_steps, opts.max_minutes
    cfg.train.clip_norm, cfg.train.seed = opts.clip_norm, opts.seed
    cfg.train.precision, cfg.train.device = opts.precision, opts.device
    cfg.train.early_stopping, cfg.train.monitor = opts.patience, f"val_{opts.monitor}"
    cfg.train.monitor_mode = "min"
    cfg.train.progress, cfg.train.checkpoint_every = opts.progress, opts.checkpoint_every
    return cfg


def build_model(opts: ASROptions) -> CTCAcousticModel:
    return CTCAcousticModel(opts.n_mels, len(Alphabet()), opts.hidden_size, opts.num_layers, opts.cell,
                            opts.bidirectional, opts.subsample, opts.front_end, opts.dropout, opts.backend)


def train_asr(opts: ASROptions, out: str | Path, resume: bool = False) -> dict:
    out = check_out_dir(Path(out), resume)
    seed_everything(opts.seed)
    train, val, _ = load_parts(opts)
    alphabet = Alphabet()
    waves = load_audio(train, opts.sample_rate, opts.progress, "training")
    v_waves = load_audio(val, opts.sample_rate, opts.progress, "validation")
    featurizer = Featurizer.fit(opts.sample_rate, opts.n_mels, opts.normalize, waves)
    train_set = SpeechSet(waves, [alphabet.encode(r.text) for r in train], [r.text for r in train], augment=True)
    val_set = ValidationSpeech(v_waves, [alphabet.encode(r.text) for r in val], [r.text for r in val], featurizer,
                               min(opts.eval_utterances, len(val)))
    model = build_model(opts)
    curve = LearningCurve(opts.eval_every or 10**12, out / "curve.csv")
    trainer = Trainer(model, train_set, val_set, config=_config(opts), out_dir=out,
                      collate_fn=SpeechCollate(featurizer, opts, train_set),
                      model_config=model.config, callbacks=[curve, _Epochs(train_set)],
                      resume_check=resume_key(opts, RESUME_MAY_CHANGE))
    history = trainer.fit(resume=resume)
    load_best(out, model)
    model.eval()
    final = val_set.corpus_metrics(model)
    results = {"val_cer": final["cer"], "val_wer": final["wer"], "val_utterances": val_set.n,
               "train_utterances": len(train), "train_seconds": trainer.train_seconds}
    key = f"val_{opts.monitor}"
    plot_curves({f"{opts.cell} {opts.hidden_size} × {opts.num_layers}": [r for r in curve.rows if key in r]},
                out / "curve.png", ylabel="validation CER (greedy)" if opts.monitor == "cer" else "validation CTC loss",
                key=key, title=f"Speech recognition on {Path(opts.data).name}")
    save_model(out, model, {"task": "asr", "model": model.config, "features": featurizer.config(),
                            "alphabet": list(alphabet.symbols), "results": results, "options": dict(vars(opts)),
                            "history": history})
    return results


def evaluate_asr(run_dir: str | Path, progress: bool = False, beam: int = 16, limit: int | None = None,
                 data: str | Path | None = None, items: bool = False) -> dict:
    """CER and WER (jiwer) on the run's test recordings — or its validation recordings when the data has no test
    part, or ``data``'s recordings (any layout training reads) as its test set — with greedy decoding and with the
    prefix beam search (no language model); ``items``: also each recording with its transcripts and their CER."""
    t = Transcriber(run_dir)
    opts = run_options(ASROptions, t.config.get("options"), run_dir, progress=progress, device="auto")
    if data is not None:  # recordings, or the test split of a folder from synth-speech
        splits = read_splits(data)
        split, part = "test", splits["test"] if splits else read_recordings(data)
        check_alphabet(part, t.alphabet)
    else:
        _, val, test = load_parts(opts)
        split, part = ("test", test) if test else ("validation", val)
    part = part[:limit] if limit else part
    waves = load_audio(part, t.featurizer.sample_rate, progress, split)
    refs = [r.text for r in part]
    metrics: dict = {"split": split, "utterances": len(part)} | ({"data": str(data)} if data is not None else {})
    rows = [{"audio": str(r.audio), "reference": r.text} for r in part]
    for name, k in (("greedy", 1), (f"beam{beam}", beam)):
        hyps = [r["text"] for r in t.transcribe_waves(waves, beam=k)]
        for row, hyp in zip(rows, hyps):
            row[name], row[f"cer_{name}"] = hyp, error_rates([row["reference"]], [hyp])["cer"]
        found = error_rates(refs, hyps)
        metrics[f"{split}_cer_{name}"], metrics[f"{split}_wer_{name}"] = found["cer"], found["wer"]
        if beam == 1:
            break
    return metrics | ({"items": rows} if items else {})


TASK = Task("asr", "a CTC speech recogniser", train_asr, Transcriber, evaluate_asr, options=ASROptions,
            verbs=("transcribe",), model_classes=("CTCAcousticModel",))

__all__ = ["ASROptions", "train_asr", "evaluate_asr", "transcribe", "Transcriber", "load_parts"]
