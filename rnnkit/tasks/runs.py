"""Run folders: the output folder check, reloading a run's model, and (text tasks) the tokenizer file.

The tokenizer has one home: ``tokenizer.json``. ``config.json`` records its SHA-256 (as it records the weights'), so a
tokenizer file that is missing, unreadable or edited after training is refused with a message that says which — a
model read with another vocabulary than the one it was trained with would answer nonsense without a word.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
from pathlib import Path

from rnnkit.data.tokenize import Tokenizer
from rnnkit.train import load_model_files
from rnnkit.train.checkpoint import CheckpointError, atomic_write_text, load_checkpoint

TOKENIZER_FILE = "tokenizer.json"


def check_out_dir(out: Path, resume: bool) -> Path:
    """Refuse to start a new run in a folder that holds one (nothing is overwritten); ``resume`` continues it."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"the output folder {out} is a file")
    holds_run = ((out / "model.safetensors").exists() or (out / "checkpoints").exists() or any(out.glob("member*/"))
                 or any(out.glob("*/member*/")))
    if holds_run and not resume:
        raise FileExistsError(f"{out} already holds a run; pass --resume (resume=True) to continue it, or choose another "
                              "output folder (nothing was overwritten)")
    return out


def save_tokenizer(out: Path, tok: Tokenizer, file: str = TOKENIZER_FILE) -> dict:
    """Write ``out/tokenizer.json`` (or ``file``); return the record config.json keeps of it."""
    text = json.dumps(tok.to_dict(), ensure_ascii=False)
    atomic_write_text(Path(out) / file, text)
    return {"file": file, "kind": tok.kind, "size": len(tok), "fingerprint": tok.fingerprint,
            "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest()}


def load_tokenizer(run_dir: Path, config: dict, key: str = "tokenizer") -> Tokenizer:
    """The tokenizer config.json's ``key`` record names, checked against its SHA-256."""
    run_dir = Path(run_dir)
    record = config.get(key)
    if not isinstance(record, dict):
        raise CheckpointError(f"{run_dir}/config.json has no {key} record")
    path = run_dir / record.get("file", TOKENIZER_FILE)
    if not path.is_file():
        raise CheckpointError(f"{path} is missing: the model cannot read text without the vocabulary it was trained with")
    raw = path.read_bytes()
    if "sha256" in record and hashlib.sha256(raw).hexdigest() != record["sha256"]:
        raise CheckpointError(f"{path} was changed after training (its SHA-256 differs from the one config.json "
                              "recorded): restore the file the run wrote")
    try:
        tok = Tokenizer.from_dict(json.loads(raw.decode("utf-8")), str(path))
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as e:
        raise CheckpointError(f"{path} is not a readable tokenizer file: {e}") from None
    except ValueError as e:
        raise CheckpointError(str(e)) from None
    if record.get("fingerprint") not in (None, tok.fingerprint):  # runs written before the SHA-256 record
        raise CheckpointError(f"{path} does not hold the vocabulary the model was trained with (fingerprint "
                              f"{tok.fingerprint}, config.json records {record['fingerprint']})")
    return tok


def load_run_model(run_dir: str | Path, build_model) -> tuple:
    """(model in eval mode, config) of a run folder; ``build_model(model_config)`` makes the model from its config."""
    tensors, cfg = load_model_files(Path(run_dir))
    model = build_model(dict(cfg["model"]))
    try:
        model.load_state_dict(tensors)
    except RuntimeError as e:
        raise CheckpointError(f"{run_dir}/model.safetensors does not fit its config.json: {e}") from None
    return model.eval(), cfg


def load_text_run(run_dir: str | Path, build_model) -> tuple:
    """(model, tokenizer, config) of a text run; ``build_model(model_config)`` makes the model from its config."""
    model, cfg = load_run_model(run_dir, build_model)
    tok = load_tokenizer(Path(run_dir), cfg)
    if len(tok) != cfg["model"]["vocab_size"]:
        raise CheckpointError(f"{run_dir}: the tokenizer has {len(tok)} tokens but the model was built for "
                              f"{cfg['model']['vocab_size']}")
    return model, tok, cfg


def load_best(out: Path, model) -> None:
    """Put the weights of the run's best checkpoint (``checkpoints/best.safetensors``, if one was kept) into ``model``."""
    best = Path(out) / "checkpoints" / "best.safetensors"
    if best.exists():
        tensors, _ = load_checkpoint(best)
        model.load_state_dict({k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")})


def hold_out(items: list, share: float, source: str, what: str = "examples") -> tuple[list, list]:
    """(kept, held out): ``share`` of ``items`` held out for validation by a fixed shuffle (seed 0, whatever the run's
    seed), so that evaluating a run later finds the same split; the order within each part is kept."""
    order = list(range(len(items)))
    random.Random(0).shuffle(order)
    n_val = max(1, round(len(items) * share))
    if len(items) - n_val < 1:
        raise ValueError(f"{source}: {len(items)} {what} are too few to hold out a validation share")
    held = set(order[:n_val])
    return [x for i, x in enumerate(items) if i not in held], [x for i, x in enumerate(items) if i in held]


class ResumeKey(dict):
    """``{"options.<name>": value}`` plus ``defaults`` (the same keys' default values), so that a run written before an
    option existed resumes when that option is at its default."""

    def __init__(self, values: dict, defaults: dict) -> None:
        super().__init__(values)
        self.defaults = defaults


def resume_key(opts, may_change: tuple[str, ...]) -> dict:
    """The options that must be equal to resume a run (``may_change``: budgets and display, which may differ)."""
    defaults = {}
    for f in dataclasses.fields(opts):
        if f.default is not dataclasses.MISSING:
            defaults[f"options.{f.name}"] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            defaults[f"options.{f.name}"] = f.default_factory()
    return ResumeKey({f"options.{k}": v for k, v in vars(opts).items() if k not in may_change}, defaults)
