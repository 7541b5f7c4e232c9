"""Language modelling end to end (task ``lm``): train on a text, measure bits per token, generate.

``train_language_model`` reads the user's text file or a built-in corpus, holds out its last ``held_out`` share (or
a folder's ``train.txt``/``valid.txt``/``test.txt``, WikiText's and PyTorch's word_language_model's layout), and
trains with stateful truncated BPTT over parallel streams (the trainer carries the state from batch to batch).
Held-out evaluations every ``eval_every`` batches go to ``curve.csv``/``curve.png``; checkpoints every
``checkpoint_every`` batches let ``resume=True`` (``--resume``) continue a killed run bit for bit (with a step budget;
under a time budget the step count itself depends on the machine's speed). ``generate`` streams tokens with the state
carried.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import Dataset

from rnnkit.data.corpora import CORPORA, names_for, prepare
from rnnkit.data.readers import missing_data, read_text
from rnnkit.data.tokenize import make_tokenizer
from rnnkit.layers import CELL_NAMES
from rnnkit.models.text import LanguageModel
from rnnkit.tasks.graphs import GraphSpec, as_tuple, random_state, state_names
from rnnkit.tasks.options import (
    check,
    device_option,
    option,
    precision_option,
    regularizer_option,
    regularizers_of,
    run_options,
)
from rnnkit.tasks.plots import plot_curves
from rnnkit.tasks.registry import Task, require
from rnnkit.tasks.runs import check_out_dir, load_text_run, resume_key, save_tokenizer
from rnnkit.train import Config, LearningCurve, Trainer, seed_everything
from rnnkit.train.checkpoint import save_model
from rnnkit.train.optim import OPTIMIZERS


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
    data: str = option(None, "a built-in corpus (rnnkit data list), a UTF-8 text file, or a folder of train.txt, "
                             "valid.txt and optionally test.txt (WikiText's layout)", required=True)
    tokenizer: str = option("char", "how text becomes tokens", choices=("char", "word", "bpe"))
    min_freq: int = option(1, "keep tokens seen at least this often in the training text", min=1)
    max_vocab: int = option(30000, "the largest vocabulary, specials included", min=5)
    cell: str = option("lstm", "the recurrent cell", choices=CELL_NAMES)
    embedding_dim: int = option(128, "size of the token embeddings", min=1)
    hidden_size: int = option(512, "hidden units per layer", min=1)
    num_layers: int = option(1, "stacked recurrent layers", min=1)
    dropout: float = option(0.0, "dropout on embeddings and outputs", min=0, max=1, max_open=True)
    variational_dropout: float = regularizer_option("variational_dropout")
    recurrent_dropout: float = regularizer_option("recurrent_dropout")
    zoneout: float = regularizer_option("zoneout")
    weight_drop: float = regularizer_option("weight_drop")
    tie_weights: bool = option(False, "share the embedding and output weights (needs embedding-dim = hidden-size)")
    backend: str = option("auto", "recurrence kernel: auto (the faster per device), loop (rnnkit's BPTT), fused "
                                  "(torch's)", choices=("auto", "loop", "fused"))
    bptt: int = option(32, "truncated BPTT: steps per optimizer update", min=1)
    streams: int = option(32, "parallel streams the text is cut into (the batch size)", min=1)
    window_chunks: int = option(4, "BPTT chunks per batch", min=1)
    epochs: int = option(5, "passes over the training text (at most)", min=1)
    max_steps: int | None = option(None, "stop after this many batches", min=1)
    max_minutes: float | None = option(None, "a training-time budget in minutes (evaluation excluded); the cosine "
                                             "schedule then anneals over the time", min=0, min_open=True)
    lr: float = option(3e-3, "learning rate", min=0, min_open=True)
    optimizer: str = option("adam", "optimizer (adamw: decoupled weight decay)", choices=OPTIMIZERS)
    weight_decay: float = option(0.0, "weight decay", min=0)
    decay_vectors: bool = option(True, "weight decay on biases and norm gains too (false: on matrices only)")
    beta2: float = option(0.999, "Adam's second-moment decay", min=0, max=1, max_open=True)
    scheduler: str = option("cosine", "learning-rate schedule: cosine (to zero at the end of training) or none",
                            choices=("cosine", "none"))
    clip_norm: float = option(1.0, "clip the gradient's global norm to this", min=0, min_open=True)
    precision: str = precision_option()
    device: str = device_option()
    eval_every: int = option(0, "batches between held-out evaluations for the learning curve (0: at the end only)",
                             min=0)
    checkpoint_every: int = option(200, "batches between checkpoints, for --resume (0: at epoch ends only)", min=0)
    held_out: float = option(0.05, "share of the text (its end) held out for evaluation", min=0, max=1, min_open=True,
                             max_open=True)
    seed: int = option(0, "random seed")
    progress: bool = option(True, "show progress bars (true/false)")

    def __post_init__(self) -> None:
        check(self)


RESUME_MAY_CHANGE = ("device", "epochs", "max_steps", "max_minutes", "progress", "eval_every", "checkpoint_every")


def load_stream_text(data: str) -> str:
    if data in CORPORA:
        if CORPORA[data].task != "language model":
            raise ValueError(f"{data!r} is a {CORPORA[data].task} corpus; use a text corpus for language modelling")
        return read_text(prepare(data) / "text.txt")
    if not Path(data).exists():
        raise missing_data(data, names_for("language model"))
    return read_text(data)


SPLIT_FILES = {"train": ("train.txt",), "validation": ("valid.txt", "validation.txt"), "test": ("test.txt",)}


def split_files(data: str) -> dict[str, Path] | None:
    """A folder's split files — ``train.txt``, ``valid.txt`` (or ``validation.txt``), optionally ``test.txt``: the
    layout of WikiText and Penn Treebank that PyTorch's word_language_model example reads (``--data
    ./data/wikitext-2``) — or None when ``data`` is not a folder."""
    folder = Path(data)
    if data in CORPORA or not folder.is_dir():
        return None
    found = {split: next((folder / n for n in names if (folder / n).is_file()), None)
             for split, names in SPLIT_FILES.items()}
    if found["train"] is None or found["validation"] is None:
        raise ValueError(f"{folder}: a folder for a language model holds train.txt and valid.txt (or validation.txt), "
                         f"optionally test.txt (found: {', '.join(sorted(p.name for p in folder.iterdir())) or 'nothing'})")
    return {k: v for k, v in found.items() if v is not None}


def _split(opts: LMOptions) -> tuple[str, str]:
    """(training text, held-out text): a folder's train and validation files, else the text less its last
    ``held_out`` share, and that share."""
    files = split_files(opts.data)
    if files:
        return read_text(files["train"]), read_text(files["validation"])
    text = load_stream_text(opts.data)
    cut = int(len(text) * (1 - opts.held_out))
    return text[:cut], text[cut:]


def held_out_windows(ids: list[int], opts: LMOptions) -> StreamWindows:
    """The held-out text as at most ``streams`` streams (fewer when it is short), read in order with state carried."""
    return StreamWindows(ids, max(1, min(opts.streams, len(ids) // (2 * opts.bptt) or 1)), opts.bptt * opts.window_chunks)


def _config(opts: LMOptions) -> Config:
    cfg = Config()
    cfg.optim.name, cfg.optim.lr, cfg.optim.weight_decay, cfg.optim.beta2 = (opts.optimizer, opts.lr, opts.weight_decay,
                                                                             opts.beta2)
    cfg.optim.decay_vectors = opts.decay_vectors
    cfg.scheduler.name, cfg.scheduler.interval = opts.scheduler, "step"
    cfg.data.batch_size, cfg.data.shuffle = 1, False
    cfg.train.epochs, cfg.train.max_steps, cfg.train.clip_norm = opts.epochs, opts.max_steps, opts.clip_norm
    cfg.train.precision, cfg.train.device = opts.precision, opts.device
    cfg.train.max_minutes = opts.max_minutes
    cfg.train.tbptt, cfg.train.carry_state, cfg.train.seed = opts.bptt, True, opts.seed
    cfg.train.progress, cfg.train.checkpoint_every = opts.progress, opts.checkpoint_every
    return cfg


def train_language_model(opts: LMOptions, out: str | Path, resume: bool = False) -> dict:
    out = check_out_dir(Path(out), resume)
    seed_everything(opts.seed)
    train_text, val_text = _split(opts)
    tok = make_tokenizer(opts.tokenizer).fit([train_text], opts.min_freq, opts.max_vocab)
    train = StreamWindows(tok.encode(train_text), opts.streams, opts.bptt * opts.window_chunks)
    val = held_out_windows(tok.encode(val_text), opts)
    model = LanguageModel(len(tok), opts.embedding_dim, opts.hidden_size, opts.cell, opts.num_layers, opts.dropout,
                          opts.tie_weights, opts.backend, regularizers_of(opts))
    model.unit_name = "char" if opts.tokenizer == "char" else "tok"  # the progress bar's throughput unit
    curve = LearningCurve(opts.eval_every or 10**12, out / "curve.csv")
    trainer = Trainer(model, train, val, config=_config(opts), out_dir=out, model_config=model.config, callbacks=[curve],
                      resume_check=resume_key(opts, RESUME_MAY_CHANGE))
    history = trainer.fit(resume=resume)
    final = curve.rows[-1]  # held-out text, whatever point training stopped at
    results = {"val_loss": final["val_loss"], "val_bits_per_token": final["val_bits_per_token"],
               "val_perplexity": math.exp(final["val_loss"]), "train_seconds": final["train_seconds"],
               "train_tokens": train.tokens_read(final["step"])}
    held = "its validation file" if split_files(opts.data) else f"held-out {opts.held_out:.0%} of the text"
    plot_curves({f"{opts.cell} {opts.hidden_size}, {opts.tokenizer} tokens": curve.rows}, out / "curve.png",
                title=f"Language model on {Path(opts.data).name}: {held}")
    save_model(out, model, {"task": "lm", "model": model.config, "tokenizer": save_tokenizer(out, tok),
                            "results": results, "options": dict(vars(opts)), "history": history})
    return results


@dataclass
class GenerateOptions:
    """How ``generate`` samples (the command line's and the server's options)."""

    length: int = option(200, "tokens to generate", min=1, max=5000)
    temperature: float = option(0.8, "sampling temperature; 0 = greedy (the most likely token)", min=0)
    top_k: int | None = option(None, "sample among the k most likely tokens only", min=1)
    top_p: float | None = option(None, "nucleus sampling: the smallest set of tokens whose probability reaches p", min=0,
                                 max=1, min_open=True)
    seed: int | None = option(0, "random seed for sampling (the same seed gives the same text)")

    def __post_init__(self) -> None:
        check(self)


MAX_PROMPT_CHARS = 20000


class LMPredictor:
    """A reloaded language model: ``stream(prompt, ...)`` yields text piece by piece; ``predict(prompts, ...)`` returns
    each prompt's continuation; ``unknown(prompt)`` lists what the vocabulary lacks (read as ``<unk>``)."""

    task = "lm"

    def __init__(self, run_dir: str | Path) -> None:
        require(run_dir, "lm", verb="generating text")
        self.run_dir = Path(run_dir)
        self.model, self.tokenizer, self.config = load_text_run(run_dir, lambda mc: LanguageModel(
            **{k: v for k, v in mc.items() if k != "class"}))

    def unknown(self, prompt: str) -> list[str]:
        return self.tokenizer.unknown_tokens(prompt)

    def stream(self, prompt: str, length: int = 200, temperature: float = 1.0, top_k: int | None = None,
               top_p: float | None = None, seed: int | None = 0):
        """Checks the prompt and settings now; returns a generator of text pieces."""
        ids = self.tokenizer.encode(prompt)
        if not ids:
            raise ValueError("the prompt is empty after tokenization")
        if temperature < 0 or (top_p is not None and not 0 < top_p <= 1) or (top_k is not None and top_k < 1):
            raise ValueError(f"bad sampling settings: temperature={temperature} (≥ 0), top_k={top_k} (≥ 1), "
                             f"top_p={top_p} (in (0, 1])")
        g = torch.Generator().manual_seed(seed) if seed is not None else None

        def pieces():
            new, shown = [], self.tokenizer.decode(ids)
            for i in self.model.generate(ids, length, temperature, top_k, top_p, g):
                new.append(i)
                text = self.tokenizer.decode(ids + new)  # the whole text: word spacing and BPE bytes come out right
                if text.startswith(shown):
                    yield text[len(shown):]
                    shown = text

        return pieces()

    def predict(self, prompts: list[str], **kwargs) -> list[str]:
        return ["".join(self.stream(p, **kwargs)) for p in prompts]

    # --- the JSON interface (CLI predict, server) ---------------------------------------------------------------
    def info(self) -> dict:
        return {"input": "a text prompt", "output": "its continuation", "streaming": True,
                "tokenizer": self.tokenizer.kind, "vocab_size": len(self.tokenizer),
                "options": {f.name: f.default for f in dataclasses.fields(GenerateOptions)}}

    def check_prompt(self, prompt) -> str:
        if not isinstance(prompt, str) or not prompt:
            raise ValueError(f"a prompt must be a non-empty string, got {prompt!r:.80}")
        if len(prompt) > MAX_PROMPT_CHARS:
            raise ValueError(f"a prompt is {len(prompt)} characters; the limit is {MAX_PROMPT_CHARS}")
        return prompt

    def stream_json(self, prompt, options: dict | None = None):
        """Checks everything now; returns a generator of ``{"text": piece}``."""
        opts = GenerateOptions(**(options or {}))
        pieces = self.stream(self.check_prompt(prompt), opts.length, opts.temperature, opts.top_k, opts.top_p, opts.seed)
        return ({"text": piece} for piece in pieces)

    @staticmethod
    def parse_cli(text: str) -> str:
        return text

    @staticmethod
    def format_cli(prompt: str, result: dict) -> str:
        return prompt + result["text"]

    def predict_json(self, inputs: list, options: dict | None = None) -> list[dict]:
        opts = GenerateOptions(**(options or {}))
        prompts = [self.check_prompt(p) for p in inputs]
        return [{"text": "".join(self.stream(p, opts.length, opts.temperature, opts.top_k, opts.top_p, opts.seed)),
                 "unknown": self.unknown(p)} for p in prompts]

    def graphs(self) -> list[GraphSpec]:
        """``step``: one token per sequence (B, 1) and the state → next-token logits (B, V) and the new state — what a
        streaming generator calls; ``sequence``: token ids (B, T) and the state → logits (B, T, V) and the final state."""
        model, V = self.model, self.model.config["vocab_size"]
        state_in, state_out = state_names(model.rnn)

        def sample(batch, steps, g, length=None):
            ids = torch.randint(4, V, (batch, length or steps), generator=g)
            return (ids, *random_state(model.rnn, batch, g))

        dyn_state = {name: {1: "batch"} for name in state_in}
        return [GraphSpec("step", _LMGraph(model, last_only=True), ["token", *state_in], ["logits", *state_out],
                          {"token": {0: "batch"}, **dyn_state}, lambda b, t, g: sample(b, t, g, length=1),
                          "one generation step: feed each sampled token back with the state"),
                GraphSpec("sequence", _LMGraph(model, last_only=False), ["ids", *state_in], ["logits", *state_out],
                          {"ids": {0: "batch", 1: "time"}, **dyn_state}, sample,
                          "a whole prompt or text at once (every position's next-token logits)")]


class _LMGraph(nn.Module):
    def __init__(self, model: LanguageModel, last_only: bool) -> None:
        super().__init__()
        self.model, self.last_only = model, last_only

    def forward(self, ids, *state):
        logits, new = self.model(ids, state if len(state) > 1 else state[0])
        return (logits[:, -1] if self.last_only else logits, *as_tuple(new))


def generate(run_dir: str | Path, prompt: str, length: int = 200, temperature: float = 1.0, top_k: int | None = None,
             top_p: float | None = None, seed: int | None = 0):
    """Yield generated text piece by piece (one token at a time)."""
    return LMPredictor(run_dir).stream(prompt, length, temperature, top_k, top_p, seed)


def evaluate_language_model(run_dir: str | Path, progress: bool = False, data: str | Path | None = None) -> dict:
    """Held-out bits per token and perplexity of a saved language model, on the held-out end of its text (and a
    folder's test.txt), read as the training run's evaluations read it (streams in order, the state carried) — or on
    ``data``, a new UTF-8 text file (a folder's test.txt; a built-in corpus's held-out end) read the same way, as its
    test set."""
    p = LMPredictor(run_dir)
    opts = run_options(LMOptions, p.config.get("options"), run_dir, progress=progress, device="auto")
    if data is not None and str(data) in CORPORA:  # a built-in text: its held-out end, as training would split it
        parts = {"test": _split(replace(opts, data=str(data)))[1]}
    elif data is not None:  # a text file, or a folder's test.txt (WikiText's layout)
        if Path(data).is_dir() and not (Path(data) / "test.txt").is_file():
            raise ValueError(f"{data}: a folder given to evaluate holds test.txt; it has none")
        parts = {"test": read_text(Path(data) / "test.txt" if Path(data).is_dir() else data)}
    else:
        parts, files = {"val": _split(opts)[1]}, split_files(opts.data)
        if files and "test" in files:  # a folder's test file, read the same way
            parts["test"] = read_text(files["test"])
    out, trainer = ({"data": str(data)} if data is not None else {}), None
    for name, text in parts.items():
        try:
            windows = held_out_windows(p.tokenizer.encode(text), opts)
        except ValueError as e:
            raise ValueError(f"{data or opts.data}: the {name} text: {e}") from None
        if progress:
            print(f"evaluating on {windows.x.numel()} {name} tokens ...", file=sys.stderr)
        trainer = trainer or Trainer(p.model, windows, windows, config=_config(opts))
        metrics = trainer.evaluate(windows)
        out |= {f"{name}_loss": metrics["loss"], f"{name}_bits_per_token": metrics["bits_per_token"],
                f"{name}_perplexity": math.exp(metrics["loss"]),
                "held_out_tokens" if name == "val" else f"{name}_tokens": windows.x.numel()}
    return out


TASK = Task("lm", "a language model", train_language_model, LMPredictor, evaluate_language_model, options=LMOptions,
            verbs=("generate",), model_classes=("LanguageModel",))
