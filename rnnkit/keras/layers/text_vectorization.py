"""Keras's ``TextVectorization``: each string standardized, split into tokens (and n-grams), and looked up in a
vocabulary learnt by ``adapt`` (``lookup.py``) — without TensorFlow, which Keras 3's own layer needs even on the
PyTorch backend.

    standardize  "lower_and_strip_punctuation" (default), "lower", "strip_punctuation", None, or a function str → str.
                 Keras lowers ASCII letters only (``tf.strings.lower``) and strips its ``DEFAULT_STRIP_REGEX``
    split        "whitespace" (runs of ASCII spaces, tabs, newlines), "character" (code points), None, or str → list
    ngrams       n: the tokens' 1..n-grams; (a, b, …): those widths — all unigrams first, then bigrams, joined by " "
    output_mode  "int": (batch, length) indices, 0-padded to the longest text or cut/padded to
                 ``output_sequence_length`` (0 is the mask: ``Embedding(mask_zero=True)`` skips it), 1 unknown;
                 "multi_hot" / "count" / "tf_idf": one vocabulary-wide vector per text (index 0 unknown)
"""

from __future__ import annotations

import re

import numpy as np
import torch

from rnnkit.keras.layers.base import KerasTensor
from rnnkit.keras.layers.lookup import StringLookup
from rnnkit.keras.layers.symbolic import STRING, symbolic_call

DEFAULT_STRIP_REGEX = r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']'  # Keras's
STANDARDIZE = ("lower_and_strip_punctuation", "lower", "strip_punctuation")
SPLIT = ("whitespace", "character")
_ASCII_UPPER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_WHITESPACE = re.compile(r"[ \t\n\r\v\f]+")


class TextVectorization(StringLookup):
    def __init__(self, max_tokens=None, standardize="lower_and_strip_punctuation", split="whitespace", ngrams=None,
                 output_mode: str = "int", output_sequence_length=None, pad_to_max_tokens: bool = False,
                 vocabulary=None, idf_weights=None, sparse: bool = False, ragged: bool = False,
                 encoding: str = "utf-8", **kwargs):
        if output_mode not in ("int", "multi_hot", "count", "tf_idf"):
            raise ValueError("Unknown value for `output_mode` argument of TextVectorization. Allowed values are: "
                             f"('int', 'multi_hot', 'count', 'tf_idf'). Received: output_mode={output_mode}")
        if not (standardize is None or callable(standardize) or standardize in STANDARDIZE):
            raise ValueError(f"`standardize` must be one of {(None, *STANDARDIZE)} or a callable. "
                             f"Received: standardize={standardize}")
        if not (split is None or callable(split) or split in SPLIT):
            raise ValueError(f"`split` must be one of {(None, *SPLIT)} or a callable. Received: split={split}")
        if isinstance(ngrams, int) and not isinstance(ngrams, bool) and ngrams < 1 or ngrams is not None and not (
                isinstance(ngrams, int) or isinstance(ngrams, (tuple, list)) and all(isinstance(n, int) for n in ngrams)):
            raise ValueError(f"`ngrams` must be None, an integer, or a tuple of integers. Received: ngrams={ngrams}")
        if output_sequence_length is not None and output_mode != "int":
            raise ValueError("`output_sequence_length` must not be set if `output_mode` is not 'int'. Received "
                             f"output_sequence_length={output_sequence_length}.")
        if ragged:
            raise ValueError("ragged=True is not supported: rnnkit.keras pads int outputs (use "
                             "output_sequence_length, or the 0-padded batch)")
        self.standardize, self.split, self.output_sequence_length = standardize, split, output_sequence_length
        self.ngrams = tuple(ngrams) if isinstance(ngrams, (list, tuple)) else ngrams
        self.ragged = ragged
        super().__init__(max_tokens, num_oov_indices=1, mask_token="" if output_mode == "int" else None,
                         vocabulary=vocabulary, idf_weights=idf_weights, output_mode=output_mode,
                         pad_to_max_tokens=pad_to_max_tokens, sparse=sparse, encoding=encoding, **kwargs)

    # --- text to tokens -------------------------------------------------------------------------------------------
    def _standardize(self, text: str) -> str:
        if callable(self.standardize):
            return self.standardize(text)
        if self.standardize in ("lower", "lower_and_strip_punctuation"):
            text = text.translate(_ASCII_UPPER)
        if self.standardize in ("strip_punctuation", "lower_and_strip_punctuation"):
            text = re.sub(DEFAULT_STRIP_REGEX, "", text)
        return text

    def _split(self, text: str) -> list[str]:
        if self.split is None:
            return [text]
        if callable(self.split):
            return [self._token(t) for t in self.split(text)]
        if self.split == "character":
            return list(text)
        return [t for t in _WHITESPACE.split(text) if t]

    def _tokens_of(self, text: str) -> list[str]:
        tokens = self._split(self._standardize(text))
        if self.ngrams is None:
            return tokens
        widths = range(1, self.ngrams + 1) if isinstance(self.ngrams, int) else self.ngrams
        return [" ".join(tokens[i:i + n]) for n in widths for i in range(len(tokens) - n + 1)]

    def _texts(self, data) -> list[str]:
        values = np.asarray(data.detach().cpu().numpy() if isinstance(data, torch.Tensor) else data, dtype=object)
        if values.ndim == 2 and values.shape[1] == 1:  # (batch, 1), as Keras squeezes it
            values = values[:, 0]
        if values.ndim > 1:
            raise ValueError(f"TextVectorization takes a string, a list of strings or an array of shape (batch,) or "
                             f"(batch, 1); got shape {values.shape}")
        return [self._token(v) for v in values.reshape(-1)]

    def _documents(self, data) -> list[list[str]]:
        return [self._tokens_of(t) for t in self._texts(data)]

    # --- the call -------------------------------------------------------------------------------------------------
    def __call__(self, x, *args, **kwargs):
        if isinstance(x, KerasTensor):
            if x.dtype != STRING:
                raise TypeError(f"TextVectorization takes strings: give its Input dtype='string' (got {x.dtype})")
            return symbolic_call(self, x, {})
        self._check_ready(x)
        single = isinstance(x, (str, bytes, np.str_)) or (isinstance(x, np.ndarray) and x.ndim == 0)
        docs = self._documents([x] if single else x)
        rows = [self._indices(d) for d in docs]
        if self.output_mode != "int":
            out = self._encode_rows(rows)
            return out[0] if single else out
        length = self.output_sequence_length or max((len(r) for r in rows), default=0)
        out = torch.zeros(len(rows), length, dtype=torch.long)
        for r, idx in enumerate(rows):
            idx = idx[:length]
            out[r, :len(idx)] = torch.tensor(idx, dtype=torch.long)
        return out[0] if single else out

    def compute_output_shape(self, input_shape):
        batch = tuple(input_shape)[:1]
        return (*batch, self.output_sequence_length if self.output_mode == "int" else self._width())

    def get_config(self) -> dict:
        base = super().get_config()
        if callable(self.standardize) or callable(self.split):
            raise ValueError("a TextVectorization with a custom standardize/split function has no JSON config")
        return {"name": self.name, "trainable": self.trainable, "dtype": base["dtype"], "max_tokens": self.max_tokens,
                "standardize": self.standardize, "split": self.split,
                "ngrams": list(self.ngrams) if isinstance(self.ngrams, tuple) else self.ngrams,
                "output_mode": self.output_mode, "output_sequence_length": self.output_sequence_length,
                "pad_to_max_tokens": self.pad_to_max_tokens, "sparse": self.sparse, "ragged": self.ragged,
                "vocabulary": base["vocabulary"], "idf_weights": base["idf_weights"], "encoding": self.encoding,
                "vocabulary_size": base["vocabulary_size"]}


__all__ = ["TextVectorization"]
