"""Built-in data sets (generated or from installed packages) and readers for the user's own files."""

from rnnkit.data.digits import load_digit_sequences
from rnnkit.data.synthetic import adding_problem, copy_memory

__all__ = ["load_digit_sequences", "adding_problem", "copy_memory"]
