"""Machine translation end to end (task ``translate``): sentence pairs in, an encoder–decoder with attention out.

``train_translator`` reads the built-in ``kjv-rv1909`` corpus (English → Spanish Bible verses, split by books) or the
user's pairs (TSV/CSV/JSONL columns by name, Tatoeba's tab-separated pairs, or two line-aligned text files), fits
subword tokenizers (byte-level BPE, no ``<unk>`` in the output) on the training side, drops training pairs longer than
``max_len`` tokens (and says how many), and trains ``rnnkit.models.seq2seq.Seq2Seq`` with rnnkit's Trainer: bucketed
batches, time budget, checkpoints and exact resume. Every evaluation measures validation loss and **validation
BLEU/chrF** (greedy search on the first ``bleu_sentences`` validation pairs) into ``curve.csv``/``curve.png`` and
``metrics.csv``; early stopping and the kept "best" weights follow ``monitor`` (BLEU by default). ``evaluate`` reports
BLEU and chrF on the test split (the test books; a user's ``--test`` file; else the validation pairs), greedy and
beam, with sacrebleu's signatures::

    from rnnkit.tasks.translate import TranslateOptions, train_translator, translate
    train_translator(TranslateOptions(data="kjv-rv1909", max_minutes=30), "runs/en-es")
    print(translate("runs/en-es", "In the beginning was the Word.", beam=5))
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rnnkit.data.corpora import CORPORA, names_for, prepare
from rnnkit.data.pairs import Pair, read_pairs
from rnnkit.data.readers import missing_data
from rnnkit.data.tokenize import make_tokenizer
from rnnkit.decoding import greedy_search
from rnnkit.layers import CELL_NAMES
from rnnkit.models.attention import ATTENTIONS
from rnnkit.models.device import to_device_of
from rnnkit.models.seq2seq import DECODER_CELLS, Seq2Seq
from rnnkit.tasks.options import OptionError, check, device_option, option, precision_option, run_options
from rnnkit.tasks.plots import plot_curves
from rnnkit.tasks.registry import Task
from rnnkit.tasks.runs import check_out_dir, hold_out, load_best, resume_key, save_tokenizer
from rnnkit.tasks.translator import (
    EncodedPairs,
    Translator,
    collate_pairs,
    normalize,
    pad_batch,
    scores,
    translate,
)
from rnnkit.train import Config, LearningCurve, Trainer, seed_everything
from rnnkit.train.checkpoint import save_model
from rnnkit.train.optim import OPTIMIZERS
from rnnkit.train.sampler import length_batches


@dataclass
class TranslateOptions:
    data: str = option(None, "kjv-rv1909 (built in), a TSV/CSV/JSONL file of pairs, a text file of tab-separated "
                             "pairs (Tatoeba's fra.txt), or the source side of two line-aligned text files",
                       required=True)
    target_file: str | None = option(None, "with two line-aligned text files: the target side (--data: the source)")
    src_col: str | None = option(None, "the source column or key (default: en for kjv-rv1909, else source; a field "
                                       "number in a file of tab-separated pairs, default 1)")
    tgt_col: str | None = option(None, "the target column or key (default: es for kjv-rv1909, else target; a field "
                                       "number in a file of tab-separated pairs, default 2)")
    validation: str | None = option(None, "a file of validation pairs (default: the corpus's validation books, or "
                                          "a held-out share of your pairs)")
    test: str | None = option(None, "a file of test pairs for evaluate (default: the corpus's test books)")
    held_out: float = option(0.05, "share of your pairs held out for validation when no --validation file is given",
                             min=0, max=1, min_open=True, max_open=True)
    lowercase: bool = option(False, "lower-case both sides (and score BLEU/chrF case-insensitively)")
    tokenizer: str = option("bpe", "how text becomes tokens (bpe: byte-level subwords, no unknown tokens)",
                            choices=("bpe", "word", "char"))
    vocab_size: int = option(4000, "vocabulary size per side (joint: shared), specials included", min=8)
    joint_vocab: bool = option(False, "one tokenizer fitted on both languages")
    min_freq: int = option(2, "keep tokens (word/char) or merges (bpe) seen at least this often", min=1)
    max_len: int = option(80, "drop training pairs with a side longer than this many tokens", min=2)
    encoder_cell: str = option("lstm", "the encoder's recurrent cell", choices=CELL_NAMES)
    decoder_cell: str = option("lstm", "the decoder's recurrent cell", choices=DECODER_CELLS)
    embedding_dim: int = option(256, "size of the token embeddings", min=1)
    hidden_size: int = option(384, "hidden units (the encoder's two directions share them)", min=2)
    encoder_layers: int = option(1, "stacked encoder layers", min=1)
    decoder_layers: int = option(1, "stacked decoder layers", min=1)
    bidirectional: bool = option(True, "read the source both ways")
    attention: str = option("general", "none (the plain encoder–decoder), dot, general (Luong) or additive "
                                       "(Bahdanau)", choices=ATTENTIONS)
    input_feeding: bool = option(False, "feed the previous attentional vector to the decoder (Luong; step by step, "
                                        "slower)")
    dropout: float = option(0.3, "dropout on embeddings, between layers and before the output", min=0, max=1,
                            max_open=True)
    tie_embeddings: bool = option(False, "share the target embedding and output weights (through a projection "
                                         "where embedding-dim differs from hidden-size)")
    share_embeddings: bool = option(False, "one embedding matrix for both languages (needs --joint-vocab)")
    label_smoothing: float = option(0.1, "label smoothing of the training loss", min=0, max=1, max_open=True)
    backend: str = option("auto", "recurrence kernel: auto, loop (rnnkit's BPTT), fused (torch's)",
                          choices=("auto", "loop", "fused"))
    batch_size: int = option(64, "sentence pairs per batch (similar lengths batched together)", min=1)
    epochs: int = option(30, "passes over the training pairs (at most)", min=1)
    max_steps: int | None = option(None, "stop after this many batches", min=1)
    max_minutes: float | None = option(None, "a training-time budget in minutes (evaluation excluded)", min=0,
                                       min_open=True)
    lr: float = option(2e-3, "learning rate", min=0, min_open=True)
    optimizer: str = option("adam", "optimizer", choices=OPTIMIZERS)
    weight_decay: float = option(0.0, "weight decay", min=0)
    scheduler: str = option("cosine", "learning-rate schedule", choices=("cosine", "none"))
    clip_norm: float = option(1.0, "clip the gradient's global norm to this", min=0, min_open=True)
    precision: str = precision_option()
    device: str = device_option()
    eval_every: int = option(0, "batches between validation evaluations for the learning curve (0: per epoch only)",
                             min=0)
    bleu_sentences: int = option(400, "validation pairs translated (greedy) to measure BLEU at each evaluation",
                                 min=1)
    monitor: str = option("bleu", "what early stopping and the kept best weights follow", choices=("bleu", "loss"))
    patience: int = option(3, "epochs without improvement before stopping", min=1)
    checkpoint_every: int = option(200, "batches between checkpoints, for --resume (0: at epoch ends only)", min=0)
    seed: int = option(0, "random seed")
    progress: bool = option(True, "show progress bars (true/false)")

    def __post_init__(self) -> None:
        check(self)
        if self.share_embeddings and not self.joint_vocab:
            raise OptionError("share_embeddings", "needs joint_vocab (one vocabulary for both languages)")
        if self.target_file is not None and self.data in CORPORA:
            raise ValueError(f"--target-file pairs a text file with --data; {self.data!r} is a built-in corpus")


RESUME_MAY_CHANGE = ("device", "epochs", "max_steps", "max_minutes", "progress", "eval_every", "checkpoint_every", "test",
                     "patience")


def columns(opts: TranslateOptions) -> tuple[str, str]:
    builtin = opts.data in CORPORA
    return opts.src_col or ("en" if builtin else "source"), opts.tgt_col or ("es" if builtin else "target")


def load_parts(opts: TranslateOptions) -> tuple[list[Pair], list[Pair], list[Pair]]:
    """(train, validation, test) pairs; test is empty for a user's data without ``--test``."""
    src, tgt = columns(opts)
    if opts.data in CORPORA:
        if CORPORA[opts.data].task != "translation":
            raise ValueError(f"{opts.data!r} is a {CORPORA[opts.data].task} corpus; translation needs pairs "
                             "(kjv-rv1909, or your file)")
        folder = prepare(opts.data)
        train, val, test = (read_pairs(folder / f"{p}.tsv", src, tgt) for p in ("train", "validation", "test"))
    else:
        if not Path(opts.data).exists():
            raise missing_data(opts.data, names_for("translation"))
        train = read_pairs(opts.data, src, tgt, target=opts.target_file)
        if opts.validation is None:
            train, val = hold_out(train, opts.held_out, opts.data, "pairs")
        test = []
    if opts.validation is not None:
        val = read_pairs(opts.validation, src, tgt)
    if opts.test is not None:
        test = read_pairs(opts.test, src, tgt)
    return train, val, test


def _tokenizers(opts: TranslateOptions, train: list[Pair]):
    src_texts = [normalize(p.source, opts.lowercase) for p in train]
    tgt_texts = [normalize(p.target, opts.lowercase) for p in train]
    kwargs = {"vocab_size": opts.vocab_size} if opts.tokenizer == "bpe" else {}

    def fit(texts):
        return make_tokenizer(opts.tokenizer, **kwargs).fit(texts, opts.min_freq, opts.vocab_size)

    if opts.joint_vocab:
        tok = fit(src_texts + tgt_texts)
        return tok, tok
    return fit(src_texts), fit(tgt_texts)


class ValidationPairs(EncodedPairs):
    """Validation pairs whose evaluation also translates the first ``n`` sources (greedy) and scores BLEU/chrF."""

    def __init__(self, source, target, sources: list[list[int]], references: list[str], tgt_tok, lowercase: bool,
                 batch_size: int = 64):
        super().__init__(source, target)
        self.sources, self.refs, self.tgt_tok, self.lowercase = sources, references, tgt_tok, lowercase
        self.batch_size = batch_size

    def corpus_metrics(self, model) -> dict:
        hyps = [""] * len(self.sources)
        for chunk in length_batches(self.sources, self.batch_size):
            src, lengths = to_device_of(model, *pad_batch([self.sources[i] for i in chunk]))
            for i, h in zip(chunk, greedy_search(model, src, lengths)):
                hyps[i] = self.tgt_tok.decode(h.tokens)
        found = scores(hyps, self.refs, self.lowercase)
        return {"bleu": found["bleu"], "chrf": found["chrf"]}


def _config(opts: TranslateOptions) -> Config:
    cfg = Config()
    cfg.optim.name, cfg.optim.lr, cfg.optim.weight_decay = opts.optimizer, opts.lr, opts.weight_decay
    cfg.scheduler.name, cfg.scheduler.interval = opts.scheduler, "step"
    cfg.data.batch_size, cfg.data.bucket = opts.batch_size, True
    cfg.train.epochs, cfg.train.max_steps, cfg.train.max_minutes = opts.epochs, opts.max_steps, opts.max_minutes
    cfg.train.clip_norm, cfg.train.seed = opts.clip_norm, opts.seed
    cfg.train.precision, cfg.train.device = opts.precision, opts.device
    cfg.train.early_stopping, cfg.train.monitor = opts.patience, f"val_{opts.monitor}"
    cfg.train.monitor_mode = "max" if opts.monitor == "bleu" else "min"
    cfg.train.progress, cfg.train.checkpoint_every = opts.progress, opts.checkpoint_every
    return cfg


def train_translator(opts: TranslateOptions, out: str | Path, resume: bool = False) -> dict:
    out = check_out_dir(Path(out), resume)
    seed_everything(opts.seed)
    train, val, _ = load_parts(opts)
    src_tok, tgt_tok = _tokenizers(opts, train)

    def encode(part):
        return ([src_tok.encode(normalize(p.source, opts.lowercase)) or [1] for p in part],
                [tgt_tok.encode(normalize(p.target, opts.lowercase)) for p in part])

    src_ids, tgt_ids = encode(train)
    kept = [i for i in range(len(train)) if len(src_ids[i]) <= opts.max_len and len(tgt_ids[i]) <= opts.max_len]
    dropped = len(train) - len(kept)
    if not kept:
        raise ValueError(f"every training pair is longer than max_len = {opts.max_len} tokens on a side")
    enc_train = EncodedPairs([src_ids[i] for i in kept], [tgt_ids[i] for i in kept])
    v_src, v_tgt = encode(val)
    n = min(opts.bleu_sentences, len(val))
    enc_val = ValidationPairs(v_src, v_tgt, v_src[:n], [p.target for p in val[:n]], tgt_tok, opts.lowercase)
    model = Seq2Seq(len(src_tok), len(tgt_tok), opts.embedding_dim, opts.hidden_size, opts.encoder_cell,
                    opts.decoder_cell, opts.encoder_layers, opts.decoder_layers, opts.bidirectional, opts.attention,
                    opts.input_feeding, opts.dropout, opts.tie_embeddings, opts.label_smoothing, opts.backend,
                    opts.share_embeddings)
    curve = LearningCurve(opts.eval_every or 10**12, out / "curve.csv")
    trainer = Trainer(model, enc_train, enc_val, config=_config(opts), out_dir=out, collate_fn=collate_pairs,
                      model_config=model.config, callbacks=[curve], resume_check=resume_key(opts, RESUME_MAY_CHANGE))
    if dropped:
        trainer.log(f"dropped {dropped} of {len(train)} training pairs longer than {opts.max_len} tokens on a side")
    history = trainer.fit(resume=resume)
    load_best(out, model)
    model.eval()
    final = enc_val.corpus_metrics(model)
    results = {"val_bleu": final["bleu"], "val_chrf": final["chrf"], "val_bleu_sentences": n,
               "train_pairs": len(kept), "dropped_pairs": dropped, "train_seconds": trainer.train_seconds}
    key = f"val_{opts.monitor}"
    plot_curves({f"{opts.encoder_cell}→{opts.decoder_cell} {opts.hidden_size}, {opts.attention} attention":
                 [r for r in curve.rows if key in r]}, out / "curve.png",
                ylabel="validation BLEU (greedy search)" if opts.monitor == "bleu" else "validation loss (per token)",
                key=key,
                title=f"Translation on {Path(opts.data).name}: {columns(opts)[0]} → {columns(opts)[1]}")
    save_model(out, model, {"task": "translate", "model": model.config,
                            "source_tokenizer": save_tokenizer(out, src_tok, "tokenizer_source.json"),
                            "target_tokenizer": save_tokenizer(out, tgt_tok, "tokenizer_target.json"),
                            "text": {"lowercase": opts.lowercase, "max_source_tokens": 2 * opts.max_len},
                            "results": results, "options": dict(vars(opts)), "history": history})
    return results


def evaluate_translator(run_dir: str | Path, progress: bool = False, beam: int = 5, limit: int | None = None,
                        data: str | Path | None = None, target: str | Path | None = None, items: bool = False) -> dict:
    """BLEU and chrF (sacrebleu, detokenized text) on the run's test pairs — or its validation pairs when the data
    has no test part, or ``data``'s pairs (in any layout training reads, the run's columns; ``target``: the target
    side of aligned text files) as its test set — with greedy search and with beam search; ``limit`` = the first that
    many pairs only; ``items``: also each pair with its translations."""
    t = Translator(run_dir)
    opts = run_options(TranslateOptions, t.config.get("options"), run_dir, progress=progress, device="auto")
    if data is not None:
        split, pairs = "test", read_pairs(data, *columns(opts), target=target)
    else:
        _, val, test = load_parts(opts)
        split, pairs = ("test", test) if test else ("validation", val)
    pairs = pairs[:limit] if limit else pairs
    sources, refs = [p.source for p in pairs], [p.target for p in pairs]
    metrics: dict = {"split": split, "sentences": len(pairs)} | ({"data": str(data)} if data is not None else {})
    rows = [{"source": src, "reference": ref} for src, ref in zip(sources, refs)]
    for name, k in (("greedy", 1), (f"beam{beam}", beam)):
        hyps = [r[0]["text"] for r in t.translate(sources, progress=progress, beam=k)]
        for row, hyp in zip(rows, hyps):
            row[name] = hyp
        found = scores(hyps, refs, t.lowercase)
        metrics[f"{split}_bleu_{name}"], metrics[f"{split}_chrf_{name}"] = found["bleu"], found["chrf"]
        metrics["bleu_signature"], metrics["chrf_signature"] = found["bleu_signature"], found["chrf_signature"]
        if k == 1 and beam == 1:
            break
    return metrics | ({"items": rows} if items else {})


TASK = Task("translate", "an encoder–decoder translator", train_translator, Translator, evaluate_translator,
            options=TranslateOptions, verbs=("translate",), model_classes=("Seq2Seq",))

__all__ = ["TranslateOptions", "train_translator", "evaluate_translator", "translate", "Translator", "load_parts"]
