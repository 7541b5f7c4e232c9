"""``keras.datasets.imdb``: 25,000 training and 25,000 test film reviews as word-id sequences (most frequent word 1
before the shift) with their sentiment, prepared as Keras prepares them (``_files``)."""

from __future__ import annotations

import numpy as np

from rnnkit.keras.datasets._files import fetch, limit_vocabulary, load_json, load_npz, shift_and_filter, shuffled


def load_data(path="imdb.npz", num_words=None, skip_top=0, maxlen=None, seed=113, start_char=1, oov_char=2,
              index_from=3, **kwargs):
    f = load_npz(fetch(path, "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f", "imdb.npz"))
    parts = [shift_and_filter(x, y, start_char, index_from, maxlen)
             for x, y in shuffled(seed, (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"]))]
    if maxlen and not all(x for x, _ in parts):
        raise ValueError(f"After filtering for sequences shorter than maxlen={maxlen}, no sequence was kept. Increase "
                         "maxlen.")
    n = len(parts[0][0])
    xs = limit_vocabulary(parts[0][0] + parts[1][0], skip_top, num_words, oov_char)  # one vocabulary for both
    return (np.array(xs[:n], dtype="object"), parts[0][1]), (np.array(xs[n:], dtype="object"), parts[1][1])


def get_word_index(path="imdb_word_index.json"):
    return load_json(fetch(path, "bfafd718b763782e994055a2d397834f", "imdb_word_index.json"))


__all__ = ["load_data", "get_word_index"]
