"""Models: a recurrent layer with a head (classifier, ...)."""

from rnnkit.models.classifier import SequenceClassifier

__all__ = ["SequenceClassifier"]
