"""Training engine: the loop (``Trainer``), clipping, truncated BPTT, exact resume, progress, distributed."""

from rnnkit.train.callbacks import Callback, CSVLogger, EarlyStopping, LearningCurve, TensorBoardLogger
from rnnkit.train.checkpoint import CheckpointError, load_checkpoint, load_model_files, save_checkpoint, save_model
from rnnkit.train.config import (
    Config,
    DataConfig,
    ModelConfig,
    OptimConfig,
    SchedulerConfig,
    TrainConfig,
    apply_overrides,
    load_config,
)
from rnnkit.train.guards import DivergenceGuard, TrainingDiverged
from rnnkit.train.seed import seed_everything
from rnnkit.train.trainer import PRECISIONS, Trainer

__all__ = ["Trainer", "TrainingDiverged", "DivergenceGuard", "Callback", "CSVLogger", "EarlyStopping", "LearningCurve",
           "TensorBoardLogger",
           "Config", "ModelConfig", "DataConfig", "OptimConfig", "SchedulerConfig", "TrainConfig", "load_config",
           "apply_overrides", "CheckpointError", "save_checkpoint", "load_checkpoint", "save_model",
           "load_model_files", "seed_everything", "PRECISIONS"]
