"""``keras.datasets.reuters``: 11,228 newswires as word-id sequences with one of 46 topics, prepared and split as
Keras does (``test_split`` of the shuffled wires for testing)."""

from __future__ import annotations

import numpy as np

from rnnkit.keras.datasets._files import fetch, limit_vocabulary, load_json, load_npz, shift_and_filter, shuffled


def load_data(path="reuters.npz", num_words=None, skip_top=0, maxlen=None, test_split=0.2, seed=113, start_char=1,
              oov_char=2, index_from=3):
    f = load_npz(fetch(path, "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916", "reuters.npz"))
    [(xs, labels)] = shuffled(seed, (f["x"], f["y"]))
    xs, labels = shift_and_filter(xs, labels, start_char, index_from, maxlen)
    xs = limit_vocabulary(xs, skip_top, num_words, oov_char)
    n = int(len(xs) * (1 - test_split))
    return ((np.array(xs[:n], dtype="object"), np.array(labels[:n])),
            (np.array(xs[n:], dtype="object"), np.array(labels[n:])))


def get_word_index(path="reuters_word_index.json"):
    return load_json(fetch(path, "4d44cc38712099c9e383dc6e5f11a921", "reuters_word_index.json"))


__all__ = ["load_data", "get_word_index"]
