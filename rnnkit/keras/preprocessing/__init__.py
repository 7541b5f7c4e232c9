"""``keras.preprocessing``: the legacy paths older tutorials import from (``keras.preprocessing.sequence.
pad_sequences``, ``keras.preprocessing.timeseries_dataset_from_array``), the same functions as ``keras.utils``'."""

from rnnkit.keras.preprocessing import sequence
from rnnkit.keras.text_dataset import text_dataset_from_directory
from rnnkit.keras.utils import timeseries_dataset_from_array

__all__ = ["sequence", "timeseries_dataset_from_array", "text_dataset_from_directory"]
