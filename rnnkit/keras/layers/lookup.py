"""Keras's lookup layers: tokens to indices by a vocabulary learnt with ``adapt`` or given — ``StringLookup``,
``IntegerLookup``, and the core ``TextVectorization`` shares.

The vocabulary as Keras lays it out: [mask token (int output only, when set)] + [OOV token] + the tokens, most frequent
first, ties broken by the larger token (Keras sorts (count, token) pairs and reverses them; strings compare as UTF-8
bytes); ``max_tokens`` counts the special tokens. Outputs, as Keras's:

    int        i(t): the token's index; the mask token → 0; an unknown token → the OOV index (the other modes leave
               the mask token out of the vocabulary and skip it)
    one_hot    e_{i(t)}                                  (one vector per input element)
    multi_hot  y_j = 1 if some token of the sample has index j   (a sample: the last axis; a rank-1 input is one)
    count      y_j = #{tokens of the sample with index j}
    tf_idf     y_j = count_j · idf_j,  idf_j = ln(1 + D / (1 + d_j))   (D documents seen by adapt, d_j holding token
               j; the OOV slot's idf is the mean of the tokens')

They take Python strings/ints, lists and NumPy arrays and return torch tensors (int64; float32 for tf_idf), as Keras's
with the PyTorch backend — on data before a model, or inside one after a string ``Input`` (a model that then predicts
and evaluates on raw strings, and saves its vocabulary as Keras does: ``assets/…/vocabulary.txt``).

With ``num_oov_indices`` = n > 1 an unknown token t goes to OOV slot (first OOV index) + b(t), as Keras spreads them:
b(t) = t mod n for ``IntegerLookup``'s default ``oov_method="floormod"``, else TensorFlow's hash of the token into n
buckets (FarmHash Fingerprint64; SipHash-2-4 with a ``salt``: ``hashing.py``).
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import torch

from rnnkit.keras.layers.base import KerasTensor, Layer
from rnnkit.keras.layers.hashing import hash_bucket, salt_pair
from rnnkit.keras.layers.symbolic import symbolic_call

OUTPUT_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")


def _sort_key(token):
    return token.encode("utf-8") if isinstance(token, str) else token


class IndexLookup(Layer):
    """The vocabulary and its outputs (module docstring); subclasses say what a token is (``_token``)."""

    takes_strings = True  # may follow a string Input (its output shape from compute_output_shape)
    integer_tokens = False  # IntegerLookup's: unknown ids may go to OOV slots by floormod

    def __init__(self, max_tokens=None, num_oov_indices: int = 1, mask_token=None, oov_token="[UNK]",
                 vocabulary=None, idf_weights=None, invert: bool = False, output_mode: str = "int",
                 pad_to_max_tokens: bool = False, sparse: bool = False, oov_method: str = "floormod", salt=None,
                 **kwargs):
        kwargs.pop("dtype", None)  # the token type is the class's; outputs are int64 / float32 as Keras's
        kwargs.pop("vocabulary_dtype", None)
        kwargs.pop("encoding", None)
        declared = kwargs.pop("vocabulary_size", None)  # in Keras's configs: the width before the vocabulary loads
        super().__init__(**kwargs)
        self._declared_size = declared
        name = type(self).__name__
        if output_mode not in OUTPUT_MODES:
            raise ValueError(f"Unknown value for `output_mode` argument of {name}. Allowed values are: {OUTPUT_MODES}. "
                             f"Received: output_mode={output_mode}")
        if max_tokens is not None and max_tokens <= 1:
            raise ValueError(f"If set, `max_tokens` must be greater than 1. Received: max_tokens={max_tokens}")
        if not isinstance(num_oov_indices, (int, np.integer)) or num_oov_indices < 0:
            raise ValueError(f"`num_oov_indices` must be greater than or equal to 0. Received: "
                             f"num_oov_indices={num_oov_indices}")
        if oov_method not in ("floormod", "farmhash"):
            raise ValueError(f"The `oov_method` argument of {name} must be one of 'floormod', 'farmhash'. Received: "
                             f"oov_method={oov_method!r}")
        if salt is not None and self.integer_tokens and oov_method != "farmhash":
            raise ValueError(f"`salt` can only be used when `oov_method='farmhash'`. Received: oov_method={oov_method}")
        self.oov_method, self.salt = oov_method, salt_pair(salt, "IndexLookup")
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError("If pad_to_max_tokens is True, must set `max_tokens`. Received: max_tokens=None")
        if sparse:
            raise ValueError(f"{name}: sparse=True is not supported (torch tensors here are dense)")
        if invert and output_mode != "int":
            raise ValueError(f"`output_mode` must be `'int'` when `invert` is true. Received: output_mode={output_mode}")
        self.max_tokens, self.num_oov_indices, self.invert = max_tokens, num_oov_indices, invert
        self.mask_token = None if mask_token is None else self._token(mask_token)
        self.oov_token = self._token(oov_token)
        self.output_mode, self.pad_to_max_tokens, self.sparse = output_mode, pad_to_max_tokens, sparse
        self._given_vocabulary = vocabulary is not None
        self._given_idf = idf_weights is not None
        self._tokens: list | None = None
        self._idf: np.ndarray | None = None
        self.built = True
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)
        elif idf_weights is not None:
            raise ValueError("`idf_weights` needs a `vocabulary`")

    # --- tokens ---------------------------------------------------------------------------------------------------
    def _token(self, value):
        raise NotImplementedError

    def _documents(self, data) -> list[list]:
        """The tokens of each document (one input element) in ``data``."""
        return [[self._token(v)] for v in np.asarray(data, dtype=object).reshape(-1)]

    # --- the vocabulary -------------------------------------------------------------------------------------------
    def _specials(self) -> list:
        mask = [self.mask_token] if self.mask_token is not None and self.output_mode == "int" else []
        return mask + [self.oov_token] * self.num_oov_indices

    def get_vocabulary(self, include_special_tokens: bool = True) -> list:
        tokens = list(self._tokens or [])
        return self._specials() + tokens if include_special_tokens else tokens

    def vocabulary_size(self) -> int:
        return len(self.get_vocabulary())

    def set_vocabulary(self, vocabulary, idf_weights=None) -> None:
        """Keras's ``set_vocabulary``: the tokens (special tokens may lead, in Keras's order), with their idf weights in
        tf_idf mode."""
        tokens = [self._token(t) for t in (np.asarray(vocabulary, dtype=object).reshape(-1) if not isinstance(
            vocabulary, str) else _read_lines(vocabulary))]
        specials = self._specials()
        if tokens[:len(specials)] == specials:
            tokens = tokens[len(specials):]
        repeated = sorted({t for t, n in Counter(tokens).items() if n > 1}, key=_sort_key)
        if repeated:
            raise ValueError("The passed vocabulary has at least one repeated term. Please uniquify your dataset. "
                             f"The repeated terms are: {repeated}")
        for special in {s for s in specials}:
            if special in tokens:
                raise ValueError(f"Found reserved token {special!r} at unexpected location in `vocabulary`. Note that "
                                 "passed `vocabulary` does not need to include the OOV and mask tokens. Either remove "
                                 "all mask and OOV tokens, or include them only at the start of the vocabulary in "
                                 f"precisely this order: {specials}")
        if self.max_tokens is not None and len(specials) + len(tokens) > self.max_tokens:
            raise ValueError(f"Attempted to set a vocabulary larger than the maximum vocab size. Received vocabulary "
                             f"size is {len(specials) + len(tokens)}; `max_tokens` is {self.max_tokens}.")
        if self.output_mode == "tf_idf":
            if idf_weights is None:
                raise ValueError("When specifying the `vocabulary` argument, in TF-IDF output mode, the `idf_weights` "
                                 "argument must also be provided.")
            idf = np.asarray(idf_weights, dtype=np.float64).reshape(-1)
            if len(idf) == len(tokens) + 1 and self.num_oov_indices:  # Keras's own array leads with the OOV weight
                idf = idf[1:]
            if len(idf) != len(tokens):
                raise ValueError(f"`idf_weights` must be the same length as the vocabulary: got {len(idf)} weights "
                                 f"for {len(tokens)} tokens")
            self._idf = idf
        elif idf_weights is not None:
            raise ValueError(f"`idf_weights` should only be set if output_mode is 'tf_idf'. Received: output_mode="
                             f"{self.output_mode} and idf_weights={idf_weights}")
        self._tokens = tokens
        self._index = {t: i + len(specials) for i, t in enumerate(tokens)}

    def adapt(self, data, batch_size=None, steps=None) -> None:
        """Learn the vocabulary (and idf weights) from ``data``: a string/array/list of documents, or an iterable of
        batches of them (a generator, a DataLoader; ``(x, y)`` batches give their x; ``steps`` batches at most).
        Replaces any vocabulary the layer had, as Keras's."""
        documents = [doc for batch in _batches(data, steps) for doc in self._documents(batch)]
        counts = Counter(t for doc in documents for t in doc)
        kept = sorted(counts.items(), key=lambda kv: (kv[1], _sort_key(kv[0])), reverse=True)
        specials = [t for t in self._specials()]
        tokens = [t for t, _ in kept if t not in specials]
        if self.max_tokens is not None:
            tokens = tokens[:max(self.max_tokens - len(specials), 0)]
        idf = None
        if self.output_mode == "tf_idf":
            held = Counter(t for doc in documents for t in set(doc))
            idf = [math.log(1 + len(documents) / (1 + held[t])) for t in tokens]
        self._tokens = None
        self.set_vocabulary(tokens, idf)

    # --- in files: the vocabulary as Keras's ``vocabulary.txt`` asset, the idf weights as its ``idf_weights`` ------
    def vocabulary_text(self) -> str | None:
        return None if self._tokens is None else "\n".join(str(t) for t in self.get_vocabulary())

    def load_vocabulary(self, text: str, idf_weights=None) -> None:
        self.set_vocabulary([self._parse(t) for t in text.split("\n")], idf_weights)

    def _parse(self, text: str):
        return text

    @property
    def idf_weights(self) -> torch.Tensor | None:
        """Keras's idf array: the OOV slot's weight (the mean of the tokens') first, then each token's."""
        if self._idf is None:
            return None
        lead = [float(np.mean(self._idf)) if len(self._idf) else 0.0] * self.num_oov_indices
        return torch.tensor(lead + list(self._idf), dtype=torch.float32)

    # --- the call -------------------------------------------------------------------------------------------------
    @property
    def output_dtype(self) -> torch.dtype:
        return torch.float32 if self.output_mode == "tf_idf" else torch.long

    def _check_ready(self, x) -> None:
        if self._tokens is None:
            raise ValueError(f"{type(self).__name__} {self.name!r} has no vocabulary yet: call adapt(data) or pass "
                             "vocabulary=")

    def _indices(self, tokens) -> list[int]:
        oov = len(self._specials()) - self.num_oov_indices
        out = []
        for t in tokens:
            if self.mask_token is not None and t == self.mask_token:
                out.append(0 if self.output_mode == "int" else -1)  # counted nowhere in the other modes
            elif t in self._index:
                out.append(self._index[t])
            elif self.num_oov_indices == 1:
                out.append(oov)
            elif self.num_oov_indices:  # several OOV slots: floormod for ids, else TensorFlow's hash (module docstring)
                floormod = self.integer_tokens and self.oov_method == "floormod"
                out.append(oov + (t % self.num_oov_indices if floormod else
                                  hash_bucket(t, self.num_oov_indices, self.salt)))
            else:
                raise ValueError(f"{type(self).__name__}: {t!r} is not in the vocabulary and num_oov_indices=0")
        return out

    def _width(self) -> int:
        if self.pad_to_max_tokens:
            return self.max_tokens
        if self._tokens is None and self._declared_size:  # a saved model being rebuilt: its vocabulary comes next
            return self._declared_size
        return self.vocabulary_size()

    def _encode_rows(self, rows: list[list[int]]) -> torch.Tensor:
        """multi_hot / count / tf_idf: one vector of vocabulary width per row of indices."""
        out = torch.zeros(len(rows), self._width(), dtype=torch.float32 if self.output_mode == "tf_idf" else torch.long)
        for r, idx in enumerate(rows):
            for i in (i for i in idx if i >= 0):
                out[r, i] = 1 if self.output_mode == "multi_hot" else out[r, i] + 1
        if self.output_mode == "tf_idf":
            out[:, :self.vocabulary_size()] *= self.idf_weights
        return out

    def __call__(self, x, *args, **kwargs):
        if isinstance(x, KerasTensor):
            return symbolic_call(self, x, {})
        self._check_ready(x)
        if self.invert:
            return self._invert(x)
        values = np.asarray(x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else x, dtype=object)
        idx = self._indices([self._token(v) for v in values.reshape(-1)])
        if self.output_mode == "int":
            return torch.tensor(idx, dtype=torch.long).reshape(values.shape)
        if self.output_mode == "one_hot":
            return self._encode_rows([[i] for i in idx]).reshape(*values.shape, -1)
        if values.ndim <= 1:  # a rank-1 input is one sample, as Keras encodes it
            return self._encode_rows([idx])[0]
        width = values.shape[-1]  # the last axis holds one sample's tokens
        return self._encode_rows([idx[i:i + width] for i in range(0, len(idx), width)]).reshape(
            *values.shape[:-1], -1)

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        if self.output_mode == "int":
            return shape
        if self.output_mode == "one_hot":
            return (*shape, self._width())
        return (*shape[:max(len(shape) - 1, 1)], self._width())

    def _invert(self, x) -> np.ndarray:
        vocab = self.get_vocabulary()
        ids = np.asarray(x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else x)
        oov = self.oov_token if self.num_oov_indices else None
        flat = [vocab[i] if 0 <= i < len(vocab) else oov for i in ids.reshape(-1).tolist()]
        return np.array(flat, dtype=object).reshape(ids.shape)

    def get_config(self) -> dict:
        vocabulary = list(self._tokens) if self._given_vocabulary and self._tokens is not None else None
        idf = [float(v) for v in self._idf] if self._given_idf and self._idf is not None else None
        return {**super().get_config(), "max_tokens": self.max_tokens, "num_oov_indices": self.num_oov_indices,
                "mask_token": self.mask_token, "oov_token": self.oov_token, "output_mode": self.output_mode,
                "sparse": self.sparse, "pad_to_max_tokens": self.pad_to_max_tokens, "invert": self.invert,
                "vocabulary": vocabulary, "idf_weights": idf, "vocabulary_size": self.vocabulary_size(),
                "oov_method": self.oov_method, "salt": self.salt}


def _read_lines(path: str) -> list[str]:
    """A vocabulary file, one token per line (as Keras reads a path given as ``vocabulary``)."""
    with open(path, encoding="utf-8") as f:
        return f.read().split("\n")


def _batches(data, steps):
    """``data`` as batches: an array, list or single string is one batch; any other iterable is batches."""
    if isinstance(data, (str, bytes, np.ndarray, list, tuple, torch.Tensor)):
        yield data.detach().cpu().numpy() if isinstance(data, torch.Tensor) else data
        return
    for i, batch in enumerate(data):
        if steps is not None and i >= steps:
            return
        if isinstance(batch, tuple) and len(batch) in (2, 3):  # (x, y) or (x, y, sample_weight)
            batch = batch[0]
        yield batch.detach().cpu().numpy() if isinstance(batch, torch.Tensor) else batch


class StringLookup(IndexLookup):
    """Keras's ``StringLookup``: strings to indices (module docstring); ``invert=True`` maps indices back."""

    def __init__(self, max_tokens=None, num_oov_indices: int = 1, mask_token=None, oov_token: str = "[UNK]",
                 vocabulary=None, idf_weights=None, invert: bool = False, output_mode: str = "int",
                 pad_to_max_tokens: bool = False, sparse: bool = False, encoding: str = "utf-8", salt=None,
                 **kwargs):
        self.encoding = encoding
        super().__init__(max_tokens, num_oov_indices, mask_token, oov_token, vocabulary, idf_weights, invert,
                         output_mode, pad_to_max_tokens, sparse, salt=salt, **kwargs)

    def _token(self, value) -> str:
        if isinstance(value, bytes):
            return value.decode(self.encoding)
        if isinstance(value, (str, np.str_)):
            return str(value)
        raise TypeError(f"{type(self).__name__} takes strings, got {type(value).__name__} {value!r}")

    def get_config(self) -> dict:
        return {**super().get_config(), "encoding": self.encoding, "vocabulary_dtype": "string"}


class IntegerLookup(IndexLookup):
    """Keras's ``IntegerLookup``: integer ids (e.g. raw category codes) to contiguous indices (module docstring)."""

    integer_tokens = True

    def __init__(self, max_tokens=None, num_oov_indices: int = 1, mask_token=None, oov_token: int = -1,
                 vocabulary=None, idf_weights=None, invert: bool = False, output_mode: str = "int",
                 pad_to_max_tokens: bool = False, sparse: bool = False, oov_method: str = "floormod", salt=None,
                 **kwargs):
        super().__init__(max_tokens, num_oov_indices, mask_token, oov_token, vocabulary, idf_weights, invert,
                         output_mode, pad_to_max_tokens, sparse, oov_method=oov_method, salt=salt, **kwargs)

    def _parse(self, text: str) -> int:
        return int(text)

    def _token(self, value) -> int:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{type(self).__name__} takes integers, got {type(value).__name__} {value!r}")
        return int(value)

    def get_config(self) -> dict:
        return {**super().get_config(), "vocabulary_dtype": "int64"}


__all__ = ["IndexLookup", "StringLookup", "IntegerLookup"]
