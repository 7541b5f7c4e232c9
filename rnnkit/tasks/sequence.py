"""``rnnkit train CONFIG`` / ``rnnkit evaluate DIR``: built-in sequence data → model → Trainer, from a config.

Data sets: ``adding`` (regression on the last step; ``data.seq_len``) and ``digits`` (classification; ``data.mode`` rows or
pixels). The saved ``config.json`` records the model's constructor arguments, so ``build_model`` can rebuild it alone.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.data import TensorDataset

from rnnkit.data.digits import load_digit_sequences
from rnnkit.data.synthetic import adding_problem
from rnnkit.models import SequenceClassifier, SequenceRegressor
from rnnkit.train import Config, Trainer, load_model_files, seed_everything
from rnnkit.train.checkpoint import CheckpointError

DATASETS = ("adding", "digits")


def build_data(cfg: Config) -> tuple[TensorDataset, TensorDataset, dict]:
    d = cfg.data
    if d.name == "adding":
        train = adding_problem(d.train_size, d.seq_len, seed=d.seed)
        val = adding_problem(d.val_size, d.seq_len, seed=d.seed + 1)
        return train, val, {"kind": "regression", "input_size": 2, "out_features": 1}
    if d.name == "digits":
        split = load_digit_sequences(d.mode, seed=d.seed)
        return (TensorDataset(split.x_train, split.y_train), TensorDataset(split.x_test, split.y_test),
                {"kind": "classification", "input_size": split.x_train.shape[-1], "out_features": split.num_classes})
    raise ValueError(f"unknown data set {d.name!r}; expected one of {DATASETS}")


def model_config(cfg: Config, info: dict) -> dict:
    m = cfg.model
    kwargs = {"bidirectional": m.bidirectional, "dropout": m.dropout, "backend": m.backend}
    if m.cell.startswith("feedback"):
        kwargs = {}
    return {"class": "SequenceClassifier" if info["kind"] == "classification" else "SequenceRegressor",
            "cell": m.cell, "input_size": info["input_size"], "hidden_size": m.hidden_size,
            "out_features": info["out_features"], "num_layers": m.num_layers, **kwargs}


def build_model(mc: dict) -> torch.nn.Module:
    mc = dict(mc)
    cls = {"SequenceClassifier": SequenceClassifier, "SequenceRegressor": SequenceRegressor}.get(mc.pop("class", None))
    if cls is None:
        raise CheckpointError(f"unknown model class in config: {mc!r}")
    out = mc.pop("out_features")
    return cls(mc.pop("cell"), mc.pop("input_size"), mc.pop("hidden_size"), out, **mc)


def train_from_config(cfg: Config, out_dir: str | Path, resume: bool = False) -> list[dict]:
    seed_everything(cfg.train.seed, cfg.train.deterministic)
    train, val, info = build_data(cfg)
    mc = model_config(cfg, info)
    model = build_model(mc)
    trainer = Trainer(model, train, val, config=cfg, out_dir=out_dir, model_config=mc)
    return trainer.fit(resume=resume)


def evaluate_run(run_dir: str | Path) -> dict[str, float]:
    tensors, saved = load_model_files(Path(run_dir))
    cfg = Config.from_dict(saved["run"], source=f"{run_dir}/config.json")
    model = build_model(saved["model"])
    try:
        model.load_state_dict(tensors)
    except RuntimeError as e:
        raise CheckpointError(f"{run_dir}/model.safetensors does not fit its config.json: {e}") from None
    _, val, _ = build_data(cfg)
    cfg.train.progress = False
    return Trainer(model, val, val, config=cfg).evaluate(val)
