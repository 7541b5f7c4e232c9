"""Text classification end to end (task ``classify``): sentiment, spam, any labelled text.

``train_classifier`` reads the user's file (CSV/TSV/JSONL) or a built-in corpus, fits a tokenizer on the training part,
trains with rnnkit's Trainer (early stopping on validation accuracy, the best epoch kept) and writes a run folder:
``model.safetensors``, ``config.json`` (task, model, options, metrics), ``tokenizer.json``, ``metrics.csv`` and
``confusion_*.png``. With ``ensemble > 1`` each member is a run of its own in ``member{i}/`` and the top-level
``metrics.csv`` has a row per member and one for the ensemble. ``predict``/``evaluate`` reload a run folder.
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from rnnkit.data.corpora import CORPORA, names_for, prepare
from rnnkit.data.readers import TextExample, missing_data, read_examples
from rnnkit.data.text_folders import read_text_folders
from rnnkit.data.tokenize import Tokenizer, make_tokenizer
from rnnkit.layers import CELL_NAMES
from rnnkit.models.text import POOLINGS, ClassifierEnsemble, TextClassifier
from rnnkit.tasks.classifier import (  # noqa: F401 - predict re-exported: rnnkit.tasks.classify.predict
    ClassifierPredictor,
    build_classifier,
    classify_ids,
    pad_collate,
    predict,
)
from rnnkit.tasks.jobs import cpu_jobs, run_all
from rnnkit.tasks.options import (
    check,
    device_option,
    option,
    precision_option,
    regularizer_option,
    regularizers_of,
    run_options,
)
from rnnkit.tasks.plots import plot_confusion
from rnnkit.tasks.registry import Task
from rnnkit.tasks.runs import check_out_dir, load_best, resume_key, save_tokenizer
from rnnkit.train import Config, Trainer, seed_everything
from rnnkit.train.checkpoint import atomic_write_text, save_model
from rnnkit.train.distributed import resolve_device


class EncodedTexts(Dataset):
    def __init__(self, ids: list[list[int]], labels: list[int]) -> None:
        self.ids, self.labels = ids, labels

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, i):
        return self.ids[i], self.labels[i]

    def lengths(self) -> list[int]:
        return [len(x) for x in self.ids]


@dataclass
class ClassifyOptions:
    data: str = option(None, "a built-in corpus (rnnkit data list), a CSV/TSV/JSONL file with text and label columns, "
                             "a folder with one subfolder of .txt files per class, or a folder of one .txt file per "
                             "class with a text per line", required=True)
    text_col: str = option("text", "the column (or JSONL key) holding the text")
    label_col: str = option("label", "the column (or JSONL key) holding the label")
    tokenizer: str = option("word", "how text becomes tokens", choices=("word", "char", "bpe"))
    min_freq: int = option(2, "keep tokens seen at least this often in the training texts", min=1)
    max_vocab: int = option(30000, "the largest vocabulary, specials included", min=5)
    cell: str = option("lstm", "the recurrent cell", choices=CELL_NAMES)
    embedding_dim: int = option(128, "size of the token embeddings", min=1)
    hidden_size: int = option(128, "hidden units per direction", min=1)
    num_layers: int = option(1, "stacked recurrent layers", min=1)
    bidirectional: bool = option(True, "read the text both ways (true/false)")
    pooling: str = option("max", "how the steps become one vector", choices=POOLINGS)
    dropout: float = option(0.5, "dropout before the output layer", min=0, max=1, max_open=True)
    word_dropout: float = option(0.0, "in training, replace each word by <unk> with this probability", min=0, max=1,
                                 max_open=True)
    variational_dropout: float = regularizer_option("variational_dropout")
    recurrent_dropout: float = regularizer_option("recurrent_dropout")
    zoneout: float = regularizer_option("zoneout")
    weight_drop: float = regularizer_option("weight_drop")
    epochs: int = option(10, "passes over the training data (at most; early stopping may end sooner)", min=1)
    batch_size: int = option(64, "texts per batch", min=1)
    lr: float = option(2e-3, "Adam's learning rate", min=0, min_open=True)
    weight_decay: float = option(0.0, "L2 weight decay", min=0)
    scheduler: str = option("none", "learning-rate schedule (cosine: per step, to zero at the last epoch)",
                            choices=("none", "cosine"))
    clip_norm: float = option(1.0, "clip the gradient's global norm to this", min=0, min_open=True)
    precision: str = precision_option()
    device: str = device_option()
    patience: int = option(3, "stop after this many epochs without a better validation accuracy", min=1)
    ensemble: int = option(1, "train this many members (seeds seed, seed+1, ...) and average their probabilities", min=1)
    jobs: int | None = option(None, "members trained at once, each in its own process on one torch thread (default: "
                                    "one per core on a CPU, at most the members; 1 on a GPU)", min=1)
    val_fraction: float = option(0.1, "share of a user file held out for validation (built-ins have their own split)",
                                 min=0, max=1, min_open=True, max_open=True)
    seed: int = option(0, "random seed (data split, initialisation, batches)")
    progress: bool = option(True, "show progress bars (true/false)")

    def __post_init__(self) -> None:
        check(self)


RESUME_MAY_CHANGE = ("device", "epochs", "patience", "progress", "jobs")


def load_labelled(opts: ClassifyOptions) -> tuple[list[TextExample], list[TextExample], list[TextExample] | None]:
    """(train, validation, test-or-None) from a built-in name or a file (split by ``val_fraction``, seed)."""
    if opts.data in CORPORA:
        if CORPORA[opts.data].task != "classification":
            raise ValueError(f"{opts.data!r} is a {CORPORA[opts.data].task} corpus, not a classification one")
        folder = prepare(opts.data)
        return tuple(read_examples(folder / f, "text", "label") for f in ("train.csv", "validation.csv", "test.csv"))
    if not Path(opts.data).exists():
        raise missing_data(opts.data, names_for("classification"))
    examples = read_labelled(opts.data, opts)
    random.Random(opts.seed).shuffle(examples)
    n_val = max(1, int(len(examples) * opts.val_fraction))
    if len(examples) - n_val < 1:
        raise ValueError(f"{opts.data}: too few examples ({len(examples)}) to split off a validation set")
    return examples[n_val:], examples[:n_val], None


def read_labelled(data: str | Path, opts: ClassifyOptions) -> list[TextExample]:
    """Labelled texts from a CSV/TSV/JSONL file (the run's text and label columns) or a folder of one folder (or one
    .txt file) per class."""
    if Path(data).is_dir():  # one folder of .txt files per class (aclImdb/train/{neg,pos}/)
        examples = read_text_folders(data)
    else:
        examples = read_examples(data, opts.text_col, opts.label_col)
    if any(e.label is None for e in examples):
        raise ValueError(f"{data}: classification needs labels (a CSV/TSV/JSONL file with a label column)")
    return examples


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


def _train_member(opts: ClassifyOptions, vocab_size: int, labels: list[str], train: EncodedTexts, val: EncodedTexts,
                  out: Path, seed: int, label: str, resume: bool, announce: bool = True) -> TextClassifier:
    """One classifier, early-stopped on validation accuracy, with its best epoch's weights (``announce``: say which
    member starts; members trained side by side are announced by the caller, whose output the user sees)."""
    seed_everything(seed)
    model = TextClassifier(vocab_size, len(labels), opts.embedding_dim, opts.hidden_size, opts.cell, opts.num_layers,
                           opts.bidirectional, opts.pooling, opts.dropout, labels, opts.word_dropout,
                           regularizers_of(opts))
    cfg = Config()
    cfg.optim.lr, cfg.optim.weight_decay = opts.lr, opts.weight_decay
    cfg.scheduler.name, cfg.scheduler.interval = opts.scheduler, "step"
    cfg.data.batch_size, cfg.data.bucket = opts.batch_size, True
    cfg.train.epochs, cfg.train.clip_norm, cfg.train.seed = opts.epochs, opts.clip_norm, seed
    cfg.train.precision, cfg.train.device = opts.precision, opts.device
    cfg.train.early_stopping, cfg.train.monitor, cfg.train.monitor_mode = opts.patience, "val_accuracy", "max"
    cfg.train.progress, cfg.train.checkpoint_every = opts.progress, 0
    trainer = Trainer(model, train, val, config=cfg, out_dir=out, collate_fn=pad_collate, model_config=model.config,
                      resume_check=resume_key(opts, RESUME_MAY_CHANGE))
    trainer.label = label
    if label and announce:
        trainer.log(_starting(label, seed, out))
    trainer.fit(resume=resume)
    load_best(out, model)
    return model


def _starting(label: str, seed: int, out: Path) -> str:
    return f"training {label} (seed {seed}) in {out}"


def _trained_member(*args) -> tuple[dict, dict]:
    """``_train_member`` for ``run_all``: the model's config and weights (what crosses back from a worker process)."""
    model = _train_member(*args)
    return model.config, model.state_dict()


def _scores(model, tok: Tokenizer, part: list[TextExample], index: dict[str, int], n: int) -> dict:
    probs = classify_ids(model, [tok.encode(e.text) or [1] for e in part])
    y_true = np.array([index[e.label] for e in part])
    y_pred = probs.argmax(-1)
    return {"accuracy": float((y_true == y_pred).mean()), "macro_f1": macro_f1(y_true, y_pred, n),
            "confusion": confusion_matrix(y_true, y_pred, n), "probabilities": probs}


def _check_labels(opts: ClassifyOptions, train, val, test) -> list[str]:
    labels = sorted({e.label for e in train})
    if len(labels) < 2:
        raise ValueError(f"{opts.data}: the training data has a single label ({labels[0]!r}) in column "
                         f"{opts.label_col!r}: a classifier needs at least two (is it the right column?)")
    for part, name in ((val, "validation"), (test or [], "test")):
        unknown = sorted({e.label for e in part} - set(labels))
        if unknown:
            raise ValueError(f"the {name} data has label(s) {unknown} that the training data lacks")
    return labels


def _write_member_table(out: Path, rows: list[dict]) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
    atomic_write_text(out / "metrics.csv", buf.getvalue())


def train_classifier(opts: ClassifyOptions, out: str | Path, resume: bool = False) -> dict:
    """Train (with ``ensemble > 1``: that many members, seeds ``seed``, ``seed + 1``, …, averaged) and evaluate on the
    validation and, for built-in sets, test data; writes the model, tokenizer, metrics and confusion matrices to
    ``out``. ``resume=True`` continues a killed run from its checkpoints (members already trained are kept)."""
    out = check_out_dir(Path(out), resume)
    seed_everything(opts.seed)
    train, val, test = load_labelled(opts)
    labels = _check_labels(opts, train, val, test)
    index = {label: i for i, label in enumerate(labels)}
    tok = make_tokenizer(opts.tokenizer).fit((e.text for e in train), opts.min_freq, opts.max_vocab)

    def encode(part):
        return EncodedTexts([tok.encode(e.text) or [1] for e in part], [index[e.label] for e in part])

    enc_train, enc_val = encode(train), encode(val)
    jobs = cpu_jobs(opts.jobs, opts.ensemble, resolve_device(opts.device))
    m_opts = replace(opts, progress=False) if jobs > 1 else opts  # one bar over the members, not several garbled
    folders = [out] if opts.ensemble == 1 else [out / f"member{m}" for m in range(opts.ensemble)]
    names = [""] if opts.ensemble == 1 else [f"member {m + 1}/{opts.ensemble}" for m in range(opts.ensemble)]
    if jobs > 1:  # the workers' own lines would not reach a captured output: the members are announced here
        tqdm.write(f"training {opts.ensemble} members, {jobs} at a time (a process each, one torch thread):")
        for m in range(opts.ensemble):
            tqdm.write(_starting(names[m], opts.seed + m, folders[m]))
    calls = [(m_opts, len(tok), labels, enc_train, enc_val, folders[m], opts.seed + m, names[m], resume, jobs == 1)
             for m in range(opts.ensemble)]
    members = []
    for m, (config, state) in enumerate(run_all(_trained_member, calls, jobs, progress=opts.progress)):
        members.append(build_classifier(dict(config)))
        members[-1].load_state_dict(state)
        members[-1].eval()
        if opts.ensemble > 1:  # each member's folder is a run of its own
            save_model(folders[m], members[-1], {"task": "classify", "model": members[-1].config,
                                                 "tokenizer": save_tokenizer(folders[m], tok),
                                                 "options": dict(vars(opts)),
                                                 "member_seed": opts.seed + m})  # the data split is the options' seed
    if opts.ensemble == 1:
        model = members[0]
    else:
        model = ClassifierEnsemble([m.config for m in members])
        for slot, member in zip(model.members, members):
            slot.load_state_dict(member.state_dict())
    results, table = {}, [{"member": f"member{m}", "seed": opts.seed + m} for m in range(opts.ensemble)]
    for name, part in (("validation", val), ("test", test)):
        if not part:
            continue
        scores = _scores(model, tok, part, index, len(labels))
        results[f"{name}_accuracy"], results[f"{name}_macro_f1"] = scores["accuracy"], scores["macro_f1"]
        results[f"{name}_confusion"] = scores["confusion"].tolist()
        plot_confusion(scores["confusion"], labels, out / f"confusion_{name}.png", name)
        if opts.ensemble > 1:
            member_scores = [_scores(m, tok, part, index, len(labels)) for m in members]
            results[f"{name}_member_accuracy"] = [s["accuracy"] for s in member_scores]
            for row, s in zip(table, member_scores):
                row[f"{name}_accuracy"], row[f"{name}_macro_f1"] = f"{s['accuracy']:.6g}", f"{s['macro_f1']:.6g}"
    if opts.ensemble > 1:
        table.append({"member": "ensemble", "seed": "", **{k: f"{v:.6g}" for k, v in results.items()
                                                           if isinstance(v, float)}})
        _write_member_table(out, table)
    save_model(out, model, {"task": "classify", "model": model.config, "tokenizer": save_tokenizer(out, tok),
                            "results": results, "options": dict(vars(opts))})
    return results


def evaluate_classifier(run_dir: str | Path, progress: bool = False, data: str | Path | None = None,
                        items: bool = False, plot: str | Path | None = None) -> dict:
    """Accuracy and macro-F1 of a saved classifier on its validation data and, for built-in corpora, the test data
    (read again from the data the run was trained on) — or on ``data``, new labelled texts (or a built-in corpus's
    test split), as its test set.
    ``items``: also each text of the last part scored with its label, the predicted one and its probability;
    ``plot``: that part's confusion matrix as a PNG."""
    p = ClassifierPredictor(run_dir)
    opts = run_options(ClassifyOptions, p.config.get("options"), run_dir, progress=progress, device="auto")
    if data is None:
        (_, val, test), source, metrics = load_labelled(opts), opts.data, {}
    else:  # new labelled texts, or a built-in corpus's test split
        val, source, metrics = [], data, {"data": str(data)}
        test = load_labelled(replace(opts, data=str(data)))[2] if str(data) in CORPORA else read_labelled(data, opts)
    index = {label: i for i, label in enumerate(p.labels)}
    for part in (val, test or []):
        unknown = sorted({e.label for e in part} - set(index))
        if unknown:
            line = min(e.line for e in part if e.label in unknown)
            raise ValueError(f"{source}:{line}: label(s) {unknown} the model was not trained on (it knows {p.labels})"
                             + ("" if data is not None else ": has the data changed?"))
    if data is not None:
        metrics["test_examples"] = len(test)
    for name, part in (("validation", val), ("test", test)):
        if part:
            s = _scores(p.model, p.tokenizer, part, index, len(p.labels))
            metrics[f"{name}_accuracy"], metrics[f"{name}_macro_f1"] = s["accuracy"], s["macro_f1"]
            if items:
                metrics["items"] = [{"text": e.text, "label": e.label, "predicted": p.labels[int(q.argmax())],
                                     "probability": float(q.max())} for e, q in zip(part, s["probabilities"])]
            if plot is not None:
                plot_confusion(s["confusion"], p.labels, Path(plot), name)
    return metrics


TASK = Task("classify", "a text classifier", train_classifier, ClassifierPredictor, evaluate_classifier,
            options=ClassifyOptions, verbs=("predict",), model_classes=("TextClassifier", "ClassifierEnsemble"))
