"""``keras.datasets`` offline: the same ``load_data`` (and word indexes) as Keras's for the data sets an RNN tutorial
reaches for — ``imdb``, ``reuters``, ``mnist``, ``fashion_mnist`` — read from Keras's cache (``~/.keras/datasets``,
filled by an earlier Keras run or by you: ``utils.get_file`` says where), each file checked against Keras's published
hash; nothing is downloaded. Ragged sequences are read with an unpickler that rebuilds NumPy arrays and nothing else."""

from rnnkit.keras.datasets import fashion_mnist, imdb, mnist, reuters

__all__ = ["imdb", "reuters", "mnist", "fashion_mnist"]
