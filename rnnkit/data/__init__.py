"""Built-in data sets and readers for the user's own files."""

from rnnkit.data.digits import load_digit_sequences

__all__ = ["load_digit_sequences"]
