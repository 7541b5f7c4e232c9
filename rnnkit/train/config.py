"""Configuration as dataclasses: one file (YAML or JSON) describes a run; ``--section.key value`` overrides any field.

    model:     cell, hidden_size, num_layers, bidirectional, dropout, backend
    data:      name (adding | digits), seq_len, train_size, val_size, mode, seed, batch_size
    optim:     name (adam | sgd | adamw | rmsprop), lr, weight_decay, decay_vectors, momentum, beta1, beta2
    scheduler: name (none | step | cosine | plateau) and its arguments
    train:     epochs, max_steps, clip_norm, clip_value, tbptt, seed, checkpoint_every, early_stopping, ...
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class ModelConfig:
    cell: str = "lstm"
    hidden_size: int = 64
    num_layers: int = 1
    bidirectional: bool = False
    dropout: float = 0.0
    backend: str = "auto"


@dataclass
class DataConfig:
    name: str = "adding"
    seq_len: int = 50
    train_size: int = 10000
    val_size: int = 1000
    mode: str = "rows"
    val_fraction: float = 0.1  # digits: the share of each class carved from the training images for validation
    seed: int = 0
    batch_size: int = 64
    shuffle: bool = True
    bucket: bool = False  # batch sequences of similar length together (needs a dataset with .lengths())


@dataclass
class OptimConfig:
    name: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    decay_vectors: bool = True  # weight decay on 1-D parameters too (biases, norm gains); False: matrices only
    momentum: float = 0.0
    eps: float = 1e-8
    beta1: float = 0.9  # Adam/AdamW's moment decays (torch's betas; Keras's beta_1, beta_2)
    beta2: float = 0.999
    rho: float = 0.99  # RMSprop's smoothing constant (torch's alpha; Keras's rho)
    amsgrad: bool = False  # Adam/AdamW: the maximum of past second moments (Reddi et al. 2018)
    nesterov: bool = False  # SGD with momentum: Nesterov's look-ahead
    centered: bool = False  # RMSprop: normalise by the gradient's estimated variance, not its second moment


@dataclass
class SchedulerConfig:
    name: str = "none"
    step_size: int = 10
    gamma: float = 0.5
    patience: int = 2
    factor: float = 0.5
    interval: str = "epoch"  # or "step" (not for plateau)


@dataclass
class TrainConfig:
    epochs: int = 10
    max_steps: int | None = None
    max_minutes: float | None = None  # a training-time budget (evaluation excluded); cosine then anneals over it
    clip_norm: float | None = None
    clip_value: float | None = None
    tbptt: int | None = None
    carry_state: bool = False  # with tbptt: a batch starts from the previous batch's final state (stateful streams)
    seed: int = 0
    # "32": float32 throughout; "bf16": mixed precision — the forward and loss run under torch.autocast in bfloat16
    # where torch lists an op as safe (matmuls, fused LSTM), weights, gradients and optimizer state stay float32
    precision: str = "32"
    # where a single process trains: "auto" (the first CUDA GPU when torch sees one, else the CPU), "cpu", "cuda",
    # "cuda:N"; under torchrun each rank takes its own local GPU (or the CPU) whatever this says
    device: str = "auto"
    deterministic: bool = True
    checkpoint_every: int = 200
    early_stopping: int | None = None
    monitor: str = "val_loss"
    monitor_mode: str = "min"
    max_nonfinite: int = 5
    divergence_factor: float | None = 100.0  # stop when the loss stays above this × its first value (null: off)
    divergence_patience: int = 3  # ... for this many evaluations in a row
    progress: bool = True
    tensorboard: bool = False


@dataclass
class Config:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str = "config") -> Config:
        if not isinstance(d, dict):
            raise ValueError(f"{source}: expected a mapping of sections, got {type(d).__name__}")
        sections = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - set(sections))
        if unknown:
            raise ValueError(f"{source}: unknown section(s) {unknown}; expected {sorted(sections)}")
        kwargs = {}
        for name, f in sections.items():
            sub_cls = f.default_factory
            values = d.get(name) or {}
            if not isinstance(values, dict):
                raise ValueError(f"{source}: section {name!r} must be a mapping, got {type(values).__name__}")
            known = {g.name: g for g in dataclasses.fields(sub_cls)}
            bad = sorted(set(values) - set(known))
            if bad:
                raise ValueError(f"{source}: unknown key(s) {bad} in section {name!r}; expected {sorted(known)}")
            kwargs[name] = sub_cls(**{k: _coerce(f"{source}: {name}.{k}", v, known[k]) for k, v in values.items()})
        config = cls(**kwargs)
        config.check(source)
        return config

    def check(self, source: str = "config") -> None:
        """Counts and sizes in range (a negative epoch count would train nothing and save the untrained model)."""
        for (section, key), (lo, what) in RANGES.items():
            value = getattr(getattr(self, section), key)
            if value is not None and value < lo:
                raise ValueError(f"{source}: {section}.{key} must be {what}, got {value}")


# (section, field) → (smallest allowed value, how to say it); None is allowed where the field is optional
RANGES = {("train", "epochs"): (1, "at least 1"), ("train", "max_steps"): (1, "at least 1"),
          ("train", "checkpoint_every"): (0, "at least 0 (0: at epoch ends only)"),
          ("train", "early_stopping"): (1, "at least 1 (or null)"), ("train", "max_nonfinite"): (1, "at least 1"),
          ("train", "divergence_patience"): (1, "at least 1"), ("train", "tbptt"): (1, "at least 1 (or null)"),
          ("data", "batch_size"): (1, "at least 1"), ("data", "train_size"): (1, "at least 1"),
          ("data", "val_size"): (1, "at least 1"), ("data", "seq_len"): (2, "at least 2"),
          ("model", "hidden_size"): (1, "at least 1"), ("model", "num_layers"): (1, "at least 1"),
          ("optim", "lr"): (0, "at least 0"), ("optim", "weight_decay"): (0, "at least 0")}


def _coerce(where: str, value, f: dataclasses.Field):
    """Check a value against the field's declared type (``int``, ``float``, ``bool``, ``str``, ``X | None``)."""
    t = str(f.type)
    optional = "None" in t
    base = t.replace(" | None", "").strip()
    if value is None:
        if optional:
            return None
        raise ValueError(f"{where} may not be null")
    if base == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
            return value.lower() in ("true", "yes", "1")
        raise ValueError(f"{where} must be true or false, got {value!r}")
    if base == "int":
        if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and value.lstrip("-").isdigit())):
            raise ValueError(f"{where} must be an integer, got {value!r}")
        return int(value)
    if base == "float":
        try:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{where} must be a number, got {value!r}") from None
    if base == "str":
        if isinstance(value, int) and not isinstance(value, bool):  # YAML's ``precision: 32``
            return str(value)
        if not isinstance(value, str):
            raise ValueError(f"{where} must be a string, got {value!r}")
        return value
    return value


def load_config(path: str | Path) -> Config:
    """Read a YAML (``.yaml``/``.yml``) or JSON file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file {path} does not exist")
    text = path.read_text(encoding="utf-8")
    if path.suffix in (".yaml", ".yml"):
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f"{path}:{mark.line + 1}" if mark else str(path)
            raise ValueError(f"{where}: invalid YAML: {getattr(e, 'problem', e)}") from None
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}:{e.lineno}: invalid JSON: {e.msg}") from None
    return Config.from_dict(data or {}, source=str(path))


def apply_overrides(config: Config, args: list[str]) -> Config:
    """Apply ``--section.key value`` (or ``--key value`` when the key names one field) pairs; return a new Config."""
    d = config.to_dict()
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--"):
            raise ValueError(f"override {arg!r}: expected --section.key VALUE")
        key, eq, val = arg[2:].partition("=")
        if not eq:
            if i + 1 >= len(args):
                raise ValueError(f"override --{key} has no value")
            val = args[i + 1]
            i += 1
        i += 1
        key = key.replace("-", "_")
        if "." in key:
            section, name = key.split(".", 1)
        else:
            owners = [s for s, values in d.items() if key in values]
            if len(owners) != 1:
                raise ValueError(f"override --{key}: {'ambiguous, use --SECTION.' + key if owners else 'unknown key'}")
            section, name = owners[0], key
        if section not in d or name not in d[section]:
            raise ValueError(f"override --{key}: unknown key")
        d[section][name] = None if val.lower() in ("none", "null") else _parse_scalar(val)
    return Config.from_dict(d, source="overrides")


def _parse_scalar(val: str):
    try:
        return json.loads(val)
    except json.JSONDecodeError:
        return val
