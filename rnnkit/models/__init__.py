"""Models: a recurrent layer with a head, and the steps a trainer calls."""

from rnnkit.models.sequence import SequenceClassifier, SequenceModel, SequenceRegressor
from rnnkit.models.text import ClassifierEnsemble, LanguageModel, TextClassifier

__all__ = ["SequenceModel", "SequenceClassifier", "SequenceRegressor", "TextClassifier", "ClassifierEnsemble",
           "LanguageModel"]
