"""``keras.preprocessing.sequence.pad_sequences``: ``keras.utils.pad_sequences`` under its legacy path."""

from rnnkit.keras.utils import pad_sequences

__all__ = ["pad_sequences"]
