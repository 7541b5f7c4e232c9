"""``rnnkit train CONFIG`` / ``rnnkit evaluate DIR``: built-in sequence data → model → Trainer, from a config (task
``sequence``).

Data sets: ``adding`` (regression on the last step; ``data.seq_len``) and ``digits`` (classification; ``data.mode`` rows or
pixels). Each has three parts: training, validation (early stopping and the best checkpoint are chosen on it) and test
(reported by ``evaluate``, never used to choose anything). For digits the validation part is ``data.val_fraction`` of the
training images, carved off stratified; for the adding problem each part is generated with its own seed. The saved
``config.json`` records the model's constructor arguments, so ``build_model`` can rebuild it alone.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch.utils.data import TensorDataset

from rnnkit.data.digits import load_digit_sequences
from rnnkit.data.synthetic import adding_problem
from rnnkit.models import SequenceClassifier, SequenceRegressor
from rnnkit.tasks.graphs import GraphSpec, as_tuple, random_lengths, random_state, state_names
from rnnkit.tasks.registry import Task
from rnnkit.tasks.runs import load_run_model
from rnnkit.train import Config, Trainer, seed_everything
from rnnkit.train.checkpoint import CheckpointError

DATASETS = ("adding", "digits")


def build_data(cfg: Config) -> tuple[TensorDataset, TensorDataset, TensorDataset, dict]:
    """(training, validation, test, info) for the config's data set."""
    d = cfg.data
    if d.name == "adding":
        train = adding_problem(d.train_size, d.seq_len, seed=d.seed)
        val = adding_problem(d.val_size, d.seq_len, seed=d.seed + 1)
        test = adding_problem(d.val_size, d.seq_len, seed=d.seed + 2)
        return train, val, test, {"kind": "regression", "input_size": 2, "out_features": 1}
    if d.name == "digits":
        split = load_digit_sequences(d.mode, seed=d.seed, val_fraction=d.val_fraction)
        if len(split.x_val) == 0:
            raise ValueError(f"data.val_fraction = {d.val_fraction} leaves no validation images; use e.g. 0.1")
        return (TensorDataset(split.x_train, split.y_train), TensorDataset(split.x_val, split.y_val),
                TensorDataset(split.x_test, split.y_test),
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
    train, val, _, info = build_data(cfg)
    mc = model_config(cfg, info)
    model = build_model(mc)
    trainer = Trainer(model, train, val, config=cfg, out_dir=out_dir, model_config=mc, run_info={"task": "sequence"})
    return trainer.fit(resume=resume)


MAX_STEPS = 100000


class SequencePredictor:
    """A reloaded config run: ``predict(x)`` for x of shape (batch, steps, features) (or one sequence (steps, features))
    gives class probabilities (classification) or the predicted values (regression)."""

    task = "sequence"

    def __init__(self, run_dir: str | Path) -> None:
        self.run_dir = Path(run_dir)
        self.model, self.saved = load_run_model(run_dir, build_model)
        self.cfg = Config.from_dict(self.saved["run"], source=f"{run_dir}/config.json")
        self.kind = "classification" if self.saved["model"]["class"] == "SequenceClassifier" else "regression"

    def graphs(self) -> list[GraphSpec]:
        """``sequence``: inputs (B, T, F), lengths (B,) and the initial state → the prediction at each sequence's last
        step (class probabilities, or values) and the final state."""
        model, F_in = self.model, self.model.config["input_size"]
        state_in, state_out = state_names(model.rnn)

        def sample(batch, steps, g):
            return (torch.randn(batch, steps, F_in, generator=g), random_lengths(batch, steps, g),
                    *random_state(model.rnn, batch, g))

        return [GraphSpec("sequence", _SequenceGraph(model, self.kind), ["x", "lengths", *state_in],
                          ["probabilities" if self.kind == "classification" else "prediction", *state_out],
                          {"x": {0: "batch", 1: "time"}, "lengths": {0: "batch"},
                           **{name: {1: "batch"} for name in state_in}}, sample,
                          "a padded batch of sequences → the prediction at each one's last step")]

    def info(self) -> dict:
        return {"input": f"a sequence: a list of time steps, each a list of {self.model.config['input_size']} numbers",
                "output": "class probabilities" if self.kind == "classification" else "the predicted values",
                "kind": self.kind, "streaming": False, "options": {}}

    @staticmethod
    def parse_cli(text: str):
        try:
            return json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"a sequence is given as JSON, e.g. [[0.1, 0.2], [0.3, 0.4]]: {e.msg} at column "
                             f"{e.colno} of {text[:60]!r}") from None

    @staticmethod
    def format_cli(text: str, result: dict) -> str:
        return json.dumps(result)

    def predict_json(self, inputs: list, options: dict | None = None) -> list[dict]:
        """Sequences of any lengths (padded together, run with ``lengths=``)."""
        if options:
            raise ValueError(f"a sequence model takes no options, got {sorted(options)}")
        F_in, seqs = self.model.config["input_size"], []
        for i, seq in enumerate(inputs):
            try:
                x = torch.as_tensor(seq, dtype=torch.float32)
            except (TypeError, ValueError, RuntimeError):
                raise ValueError(f"input {i}: expected a list of time steps, each a list of {F_in} numbers") from None
            if x.dim() != 2 or x.shape[1] != F_in or x.shape[0] == 0 or x.shape[0] > MAX_STEPS:
                raise ValueError(f"input {i}: expected shape (1..{MAX_STEPS} steps, {F_in} features), "
                                 f"got {tuple(x.shape)}")
            if not torch.isfinite(x).all():
                raise ValueError(f"input {i}: holds NaN or inf")
            seqs.append(x)
        lengths = torch.tensor([len(x) for x in seqs])
        batch = torch.nn.utils.rnn.pad_sequence(seqs, batch_first=True)
        with torch.no_grad():
            out, _ = self.model.run(batch, lengths)
        if self.kind == "classification":
            probs = torch.softmax(out, -1)
            return [{"label": int(p.argmax()), "probabilities": p.tolist()} for p in probs]
        return [{"prediction": o.tolist()} for o in out]

    @torch.no_grad()
    def predict(self, x) -> torch.Tensor:
        x = torch.as_tensor(x, dtype=torch.float32)
        one = x.dim() == 2
        out = self.model(x[None] if one else x)
        out = torch.softmax(out, -1) if self.kind == "classification" else out
        return out[0] if one else out


class _SequenceGraph(torch.nn.Module):
    def __init__(self, model, kind: str) -> None:
        super().__init__()
        self.model, self.kind = model, kind

    def forward(self, x, lengths, *state):
        out, new = self.model.run(x, lengths, state if len(state) > 1 else state[0])
        return (torch.softmax(out, -1) if self.kind == "classification" else out, *as_tuple(new))


def evaluate_run(run_dir: str | Path, progress: bool = False, data: str | Path | None = None) -> dict[str, float]:
    """Validation and test metrics of a config run (the test part is never used during training)."""
    if data is not None:
        raise ValueError(f"{run_dir} is a config run: it is evaluated on the data its config names (data.name); to "
                         f"score other data, train with a config whose data section names it")
    p = SequencePredictor(run_dir)
    _, val, test, _ = build_data(p.cfg)
    p.cfg.train.progress = progress
    trainer = Trainer(p.model, val, val, config=p.cfg)
    metrics = {f"val_{k}": v for k, v in trainer.evaluate(val).items()}
    metrics.update({f"test_{k}": v for k, v in trainer.evaluate(test).items()})
    return metrics


TASK = Task("sequence", "a recurrent model trained from a YAML/JSON config on built-in sequence data", train_from_config,
            SequencePredictor, evaluate_run, options=Config, model_classes=("SequenceClassifier", "SequenceRegressor"))
