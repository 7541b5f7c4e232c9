"""Text applications end to end: classify (sentiment, spam, any labelled text) and language-model / generate.

``train_classifier`` and ``train_language_model`` read the user's file (CSV/TSV/JSONL/text) or a built-in corpus, fit a
tokenizer on the training part, train with rnnkit's Trainer and write a run folder: ``model.safetensors``,
``config.json`` (model + tokenizer + labels + metrics), ``tokenizer.json``, ``metrics.csv`` and, for classifiers,
``confusion.png``. ``predict`` and ``generate`` reload such a folder.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from rnnkit.data.corpora import CORPORA, prepare
from rnnkit.data.readers import TextExample, read_examples, read_text
from rnnkit.data.tokenize import PAD, Tokenizer, make_tokenizer
from rnnkit.models.text import ClassifierEnsemble, LanguageModel, TextClassifier
from rnnkit.train import Config, LearningCurve, Trainer, load_model_files, seed_everything
from rnnkit.train.checkpoint import CheckpointError, load_checkpoint, save_model


# --- classification ----------------------------------------------------------------------------------------------
class EncodedTexts(Dataset):
    def __init__(self, ids: list[list[int]], labels: list[int]) -> None:
        self.ids, self.labels = ids, labels

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, i):
        return self.ids[i], self.labels[i]

    def lengths(self) -> list[int]:
        return [len(x) for x in self.ids]


def pad_collate(items) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """[(ids, label)] → (ids (B, T) padded with 0, labels (B,), lengths (B,))."""
    lengths = torch.tensor([max(1, len(ids)) for ids, _ in items])
    out = torch.full((len(items), int(lengths.max())), PAD, dtype=torch.long)
    for i, (ids, _) in enumerate(items):
        out[i, :len(ids)] = torch.tensor(ids, dtype=torch.long)
    return out, torch.tensor([y for _, y in items]), lengths


@dataclass
class ClassifyOptions:
    data: str
    text_col: str = "text"
    label_col: str = "label"
    tokenizer: str = "word"
    min_freq: int = 2
    max_vocab: int = 30000
    cell: str = "lstm"
    embedding_dim: int = 128
    hidden_size: int = 128
    num_layers: int = 1
    bidirectional: bool = True
    pooling: str = "max"
    dropout: float = 0.5
    word_dropout: float = 0.0
    epochs: int = 10
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 0.0
    scheduler: str = "none"  # or "cosine" (per step, to zero at the last epoch)
    clip_norm: float = 1.0
    patience: int = 3
    ensemble: int = 1  # members trained with seeds seed, seed+1, ...; their probabilities are averaged
    val_fraction: float = 0.1
    seed: int = 0
    progress: bool = True


def load_labelled(opts: ClassifyOptions) -> tuple[list[TextExample], list[TextExample], list[TextExample] | None]:
    """(train, validation, test-or-None) from a built-in name or a file (split by ``val_fraction``, seed)."""
    if opts.data in CORPORA:
        if CORPORA[opts.data].task != "classification":
            raise ValueError(f"{opts.data!r} is a {CORPORA[opts.data].task} corpus, not a classification one")
        folder = prepare(opts.data)
        return tuple(read_examples(folder / f, "text", "label") for f in ("train.csv", "validation.csv", "test.csv"))
    examples = read_examples(opts.data, opts.text_col, opts.label_col)
    if any(e.label is None for e in examples):
        raise ValueError(f"{opts.data}: classification needs labels (a CSV/TSV/JSONL file with a label column)")
    random.Random(opts.seed).shuffle(examples)
    n_val = max(1, int(len(examples) * opts.val_fraction))
    if len(examples) - n_val < 1:
        raise ValueError(f"{opts.data}: too few examples ({len(examples)}) to split off a validation set")
    return examples[n_val:], examples[:n_val], None


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray, n: int) -> float:
    f1s = []
    for c in range(n):
        tp = np.sum((y_pred == c) & (y_true == c))
        fp = np.sum((y_pred == c) & (y_true != c))
        fn = np.sum((y_pred != c) & (y_true == c))
        f1s.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(f1s))


def confusion_matrix(y_true, y_pred, n: int) -> np.ndarray:
    m = np.zeros((n, n), dtype=int)
    for t, p in zip(y_true, y_pred):
        m[t, p] += 1
    return m


def plot_confusion(m: np.ndarray, labels: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1.2 + 0.6 * len(labels), 1 + 0.6 * len(labels)))
    ax.imshow(m, cmap="Blues")
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(j, i, str(m[i, j]), ha="center", va="center", color="black")
    ax.set_xticks(range(len(labels)), labels, rotation=45)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


@torch.no_grad()
def classify_ids(model: TextClassifier, ids: list[list[int]], batch_size: int = 256) -> np.ndarray:
    model.eval()
    probs = []
    for s in range(0, len(ids), batch_size):
        x, _, lengths = pad_collate([(i, 0) for i in ids[s:s + batch_size]])
        probs.append(torch.softmax(model(x, lengths), -1))
    return torch.cat(probs).numpy()


def _train_member(opts: ClassifyOptions, vocab_size: int, labels: list[str], train: EncodedTexts, val: EncodedTexts,
                  out: Path, seed: int) -> TextClassifier:
    """One classifier, early-stopped on validation accuracy, with its best epoch's weights."""
    seed_everything(seed)
    model = TextClassifier(vocab_size, len(labels), opts.embedding_dim, opts.hidden_size, opts.cell, opts.num_layers,
                           opts.bidirectional, opts.pooling, opts.dropout, labels, opts.word_dropout)
    cfg = Config()
    cfg.optim.lr, cfg.optim.weight_decay = opts.lr, opts.weight_decay
    cfg.scheduler.name, cfg.scheduler.interval = opts.scheduler, "step"
    cfg.data.batch_size, cfg.data.bucket = opts.batch_size, True
    cfg.train.epochs, cfg.train.clip_norm, cfg.train.seed = opts.epochs, opts.clip_norm, seed
    cfg.train.early_stopping, cfg.train.monitor, cfg.train.monitor_mode = opts.patience, "val_accuracy", "max"
    cfg.train.progress, cfg.train.checkpoint_every = opts.progress, 0
    Trainer(model, train, val, config=cfg, out_dir=out, collate_fn=pad_collate, model_config=model.config).fit()
    best = out / "checkpoints" / "best.safetensors"
    if best.exists():
        tensors, _ = load_checkpoint(best)
        model.load_state_dict({k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")})
    return model


def _scores(model, tok: Tokenizer, part: list[TextExample], index: dict[str, int], n: int) -> dict:
    probs = classify_ids(model, [tok.encode(e.text) or [1] for e in part])
    y_true = np.array([index[e.label] for e in part])
    y_pred = probs.argmax(-1)
    return {"accuracy": float((y_true == y_pred).mean()), "macro_f1": macro_f1(y_true, y_pred, n),
            "confusion": confusion_matrix(y_true, y_pred, n)}


def train_classifier(opts: ClassifyOptions, out: str | Path) -> dict:
    """Train (with ``ensemble > 1``: that many members, seeds ``seed``, ``seed + 1``, …, averaged) and evaluate on the
    validation and, for built-in sets, test data; writes the model, tokenizer, metrics and confusion matrices to ``out``."""
    if opts.ensemble < 1:
        raise ValueError(f"ensemble must be at least 1, got {opts.ensemble}")
    seed_everything(opts.seed)
    out = Path(out)
    train, val, test = load_labelled(opts)
    labels = sorted({e.label for e in train})
    index = {label: i for i, label in enumerate(labels)}
    for part, name in ((val, "validation"), (test or [], "test")):
        unknown = sorted({e.label for e in part} - set(labels))
        if unknown:
            raise ValueError(f"the {name} data has label(s) {unknown} that the training data lacks")
    tok = make_tokenizer(opts.tokenizer).fit((e.text for e in train), opts.min_freq, opts.max_vocab)

    def encode(part):
        return EncodedTexts([tok.encode(e.text) or [1] for e in part], [index[e.label] for e in part])

    enc_train, enc_val = encode(train), encode(val)
    members = []
    for m in range(opts.ensemble):
        folder = out if opts.ensemble == 1 else out / f"member{m}"
        members.append(_train_member(opts, len(tok), labels, enc_train, enc_val, folder, opts.seed + m))
        if opts.ensemble > 1:  # each member's folder is a run of its own
            save_model(folder, members[-1], {"model": members[-1].config, "tokenizer": tok.to_dict()})
    if opts.ensemble == 1:
        model = members[0]
    else:
        model = ClassifierEnsemble([m.config for m in members])
        for slot, member in zip(model.members, members):
            slot.load_state_dict(member.state_dict())
    results = {}
    for name, part in (("validation", val), ("test", test)):
        if not part:
            continue
        scores = _scores(model, tok, part, index, len(labels))
        results[f"{name}_accuracy"], results[f"{name}_macro_f1"] = scores["accuracy"], scores["macro_f1"]
        results[f"{name}_confusion"] = scores["confusion"].tolist()
        plot_confusion(scores["confusion"], labels, out / f"confusion_{name}.png")
        if opts.ensemble > 1:
            results[f"{name}_member_accuracy"] = [_scores(m, tok, part, index, len(labels))["accuracy"] for m in members]
    tok.save(out / "tokenizer.json")
    save_model(out, model, {"model": model.config, "tokenizer": tok.to_dict(), "results": results,
                            "options": dict(opts.__dict__)})
    return results


def load_run(run_dir: str | Path):
    tensors, cfg = load_model_files(Path(run_dir))
    mc = dict(cfg["model"])
    kind = mc.pop("class", None)
    if kind == "TextClassifier":
        model = TextClassifier(**mc)
    elif kind == "ClassifierEnsemble":
        model = ClassifierEnsemble(mc["members"])
    elif kind == "LanguageModel":
        model = LanguageModel(**mc)
    else:
        raise CheckpointError(f"{run_dir} holds a {kind!r} model, not a text model")
    try:
        model.load_state_dict(tensors)
    except RuntimeError as e:
        raise CheckpointError(f"{run_dir}/model.safetensors does not fit its config.json: {e}") from None
    tok = Tokenizer.from_dict(cfg["tokenizer"], f"{run_dir}/config.json")
    if len(tok) != mc["vocab_size"]:
        raise CheckpointError(f"{run_dir}: the tokenizer has {len(tok)} tokens but the model was built for "
                              f"{mc['vocab_size']}")
    return model, tok, cfg


def predict(run_dir: str | Path, texts: list[str]) -> list[tuple[str, dict[str, float]]]:
    model, tok, cfg = load_run(run_dir)
    if isinstance(model, LanguageModel):
        raise ValueError(f"{run_dir} holds a language model; use 'rnnkit generate'")
    if not texts or any(not t.strip() for t in texts):
        raise ValueError("nothing to classify: give non-empty texts")
    labels = model.config["labels"]
    probs = classify_ids(model, [tok.encode(t) or [1] for t in texts])
    return [(labels[int(p.argmax())], {lab: float(q) for lab, q in zip(labels, p)}) for p in probs]


# --- language modelling --------------------------------------------------------------------------------------------
class StreamWindows(Dataset):
    """A token stream laid out as ``streams`` parallel rows; item i is the window ``[i·w, (i+1)·w)`` of every row
    (inputs) and the same shifted by one (targets). Read in order with the state carried, it is stateful TBPTT."""

    def __init__(self, ids: list[int], streams: int, window: int) -> None:
        n = (len(ids) - 1) // streams
        if n < 2:
            raise ValueError(f"the text is too short ({len(ids)} tokens) for {streams} streams")
        data = torch.tensor(ids[: streams * n + 1], dtype=torch.long)
        self.x = data[:-1].view(streams, n)
        self.y = data[1:].view(streams, n)
        self.window = window

    def __len__(self):
        return math.ceil(self.x.shape[1] / self.window)

    def __getitem__(self, i):
        s = slice(i * self.window, (i + 1) * self.window)
        return self.x[:, s], self.y[:, s]

    def tokens_read(self, items: int) -> int:
        """Tokens predicted after reading ``items`` windows in order (epoch after epoch)."""
        epochs, rest = divmod(items, len(self))
        n = self.x.shape[1]
        return self.x.shape[0] * (epochs * n + min(rest * self.window, n))


@dataclass
class LMOptions:
    data: str
    tokenizer: str = "char"
    min_freq: int = 1
    max_vocab: int = 30000
    cell: str = "lstm"
    embedding_dim: int = 128
    hidden_size: int = 512
    num_layers: int = 1
    dropout: float = 0.0
    tie_weights: bool = False
    backend: str = "auto"  # the faster kernel per device (CPU: rnnkit's BPTT for GRU/RNN, torch's LSTM); "loop", "fused"
    bptt: int = 32  # 32 streams x TBPTT 32, Adam 3e-3, cosine: the fastest-learning recipe measured on austen
    streams: int = 32
    window_chunks: int = 4
    epochs: int = 5
    max_steps: int | None = None
    max_minutes: float | None = None  # a training-time budget; the cosine schedule then anneals over the time
    lr: float = 3e-3
    optimizer: str = "adam"  # or adamw (decoupled weight decay), sgd, rmsprop
    weight_decay: float = 0.0
    beta2: float = 0.999  # Adam's second-moment decay
    scheduler: str = "cosine"  # per optimizer step, to zero at the end of training; or "none"
    clip_norm: float = 1.0
    eval_every: int = 0  # batches between held-out evaluations for the learning curve (0: at the end only)
    held_out: float = 0.05
    seed: int = 0
    progress: bool = True


def plot_curves(curves: dict[str, list[dict]], path: Path, ylabel: str = "held-out bits per token") -> None:
    """Learning curves (label → ``LearningCurve`` rows): held-out bits per token against training minutes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4))
    for label, rows in curves.items():
        ax.plot([r["train_seconds"] / 60 for r in rows], [r["val_bits_per_token"] for r in rows], marker="o",
                label=label)
    ax.set_xlabel("training time (minutes, evaluation excluded)")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def load_stream_text(data: str) -> str:
    if data in CORPORA:
        if CORPORA[data].task != "language model":
            raise ValueError(f"{data!r} is a {CORPORA[data].task} corpus; use a text corpus for language modelling")
        return read_text(prepare(data) / "text.txt")
    return read_text(data)


def train_language_model(opts: LMOptions, out: str | Path) -> dict:
    seed_everything(opts.seed)
    out = Path(out)
    text = load_stream_text(opts.data)
    cut = int(len(text) * (1 - opts.held_out))
    train_text, val_text = text[:cut], text[cut:]
    tok = make_tokenizer(opts.tokenizer).fit([train_text], opts.min_freq, opts.max_vocab)
    train_ids, val_ids = tok.encode(train_text), tok.encode(val_text)
    window = opts.bptt * opts.window_chunks
    train = StreamWindows(train_ids, opts.streams, window)
    val = StreamWindows(val_ids, max(1, min(opts.streams, len(val_ids) // (2 * opts.bptt) or 1)), window)
    model = LanguageModel(len(tok), opts.embedding_dim, opts.hidden_size, opts.cell, opts.num_layers, opts.dropout,
                          opts.tie_weights, opts.backend)
    cfg = Config()
    cfg.optim.name, cfg.optim.lr, cfg.optim.weight_decay, cfg.optim.beta2 = (opts.optimizer, opts.lr, opts.weight_decay,
                                                                             opts.beta2)
    cfg.scheduler.name, cfg.scheduler.interval = opts.scheduler, "step"
    cfg.data.batch_size, cfg.data.shuffle = 1, False
    cfg.train.epochs, cfg.train.max_steps, cfg.train.clip_norm = opts.epochs, opts.max_steps, opts.clip_norm
    cfg.train.max_minutes = opts.max_minutes
    cfg.train.tbptt, cfg.train.carry_state, cfg.train.seed = opts.bptt, True, opts.seed
    cfg.train.progress, cfg.train.checkpoint_every = opts.progress, 0
    curve = LearningCurve(opts.eval_every or 10**12, out / "curve.csv")
    trainer = Trainer(model, train, val, config=cfg, out_dir=out, model_config=model.config, callbacks=[curve])
    history = trainer.fit()
    final = curve.rows[-1]  # held-out text, whatever point training stopped at
    results = {"val_loss": final["val_loss"], "val_bits_per_token": final["val_bits_per_token"],
               "val_perplexity": math.exp(final["val_loss"]), "train_seconds": final["train_seconds"],
               "train_tokens": train.tokens_read(final["step"])}
    plot_curves({f"{opts.cell} {opts.hidden_size}, {opts.tokenizer} tokens": curve.rows}, out / "curve.png")
    tok.save(out / "tokenizer.json")
    save_model(out, model, {"model": model.config, "tokenizer": tok.to_dict(), "results": results,
                            "options": dict(opts.__dict__), "history": history})
    return results


def generate(run_dir: str | Path, prompt: str, length: int = 200, temperature: float = 1.0, top_k: int | None = None,
             top_p: float | None = None, seed: int | None = 0):
    """Yield generated text piece by piece (one token at a time)."""
    model, tok, _ = load_run(run_dir)
    if not isinstance(model, LanguageModel):
        raise ValueError(f"{run_dir} holds a classifier; use 'rnnkit predict'")
    ids = tok.encode(prompt)
    if not ids:
        raise ValueError("the prompt is empty after tokenization")
    g = torch.Generator().manual_seed(seed) if seed is not None else None
    new, shown = [], tok.decode(ids)
    for i in model.generate(ids, length, temperature, top_k, top_p, g):
        new.append(i)
        text = tok.decode(ids + new)  # decode the whole text so that word spacing and BPE bytes come out right
        if text.startswith(shown):
            yield text[len(shown):]
            shown = text


__all__ = ["ClassifyOptions", "LMOptions", "train_classifier", "train_language_model", "predict", "generate",
           "load_run", "pad_collate", "StreamWindows", "macro_f1", "confusion_matrix"]
