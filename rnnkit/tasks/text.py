"""The text applications in one import: classification (``rnnkit.tasks.classify``) and language modelling
(``rnnkit.tasks.lm``)::

    from rnnkit.tasks.text import ClassifyOptions, LMOptions, generate, predict, train_classifier, train_language_model
"""

from __future__ import annotations

from rnnkit.tasks.classify import (
    ClassifierPredictor,
    ClassifyOptions,
    confusion_matrix,
    evaluate_classifier,
    macro_f1,
    pad_collate,
    predict,
    train_classifier,
)
from rnnkit.tasks.lm import LMOptions, LMPredictor, StreamWindows, evaluate_language_model, generate, train_language_model
from rnnkit.tasks.plots import plot_confusion, plot_curves


def load_run(run_dir):
    """(model, tokenizer, config) of a text run (classifier or language model), checked against its files."""
    from rnnkit.tasks.registry import require

    task = require(run_dir, "classify", "lm", verb="a text model")
    p = (ClassifierPredictor if task.name == "classify" else LMPredictor)(run_dir)
    return p.model, p.tokenizer, p.config


__all__ = ["ClassifyOptions", "LMOptions", "train_classifier", "train_language_model", "predict", "generate",
           "evaluate_classifier", "evaluate_language_model", "ClassifierPredictor", "LMPredictor", "load_run",
           "pad_collate", "StreamWindows", "macro_f1", "confusion_matrix", "plot_confusion", "plot_curves"]
