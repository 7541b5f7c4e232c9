"""Tokenizers and vocabularies: characters or words → integer ids, saved with the model and checked when reloaded.

Ids 0–3 are always ``<pad>``, ``<unk>``, ``<bos>``, ``<eos>``; the rest are ordered by frequency (ties: first seen), so
the same text always builds the same vocabulary. ``WordTokenizer`` lower-cases (optional) and treats punctuation as
separate tokens (``punctuation="split"``), drops it (``"strip"``) or leaves it attached (``"keep"``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

SPECIALS = ("<pad>", "<unk>", "<bos>", "<eos>")
PAD, UNK, BOS, EOS = range(4)
_WORD_SPLIT = re.compile(r"\w+(?:'\w+)?|[^\w\s]", re.UNICODE)
_WORD_ONLY = re.compile(r"\w+(?:'\w+)?", re.UNICODE)


class Tokenizer:
    kind = "base"

    def __init__(self, itos: list[str] | None = None) -> None:
        self.itos: list[str] = list(itos) if itos is not None else list(SPECIALS)
        self.stoi = {s: i for i, s in enumerate(self.itos)}

    def __len__(self) -> int:
        return len(self.itos)

    # --- what subclasses define -------------------------------------------------------------------------------
    def tokenize(self, text: str) -> list[str]:
        raise NotImplementedError

    def detokenize(self, tokens: list[str]) -> str:
        raise NotImplementedError

    def options(self) -> dict:
        return {}

    # --- shared -----------------------------------------------------------------------------------------------
    def fit(self, texts: Iterable[str], min_freq: int = 1, max_size: int | None = None) -> Tokenizer:
        counts: Counter[str] = Counter()
        for t in texts:
            counts.update(self.tokenize(t))
        tokens = [tok for tok, n in counts.most_common() if n >= min_freq and tok not in SPECIALS]
        if max_size is not None:
            tokens = tokens[: max(0, max_size - len(SPECIALS))]
        self.itos = list(SPECIALS) + tokens
        self.stoi = {s: i for i, s in enumerate(self.itos)}
        return self

    def encode(self, text: str, bos: bool = False, eos: bool = False) -> list[int]:
        ids = [self.stoi.get(t, UNK) for t in self.tokenize(text)]
        return ([BOS] if bos else []) + ids + ([EOS] if eos else [])

    def unknown_tokens(self, text: str) -> list[str]:
        """The distinct tokens of ``text`` outside the vocabulary (each read as ``<unk>``), in order of appearance."""
        return list(dict.fromkeys(t for t in self.tokenize(text) if t not in self.stoi))

    def decode(self, ids: Iterable[int], skip_specials: bool = True) -> str:
        toks = [self.itos[i] for i in ids if not (skip_specials and i < len(SPECIALS))]
        return self.detokenize(toks)

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps([self.kind, self.options(), self.itos]).encode()).hexdigest()[:16]

    def to_dict(self) -> dict:
        return {"kind": self.kind, "options": self.options(), "itos": self.itos, "fingerprint": self.fingerprint}

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), ensure_ascii=False), encoding="utf-8")

    @staticmethod
    def from_dict(d: dict, source: str = "tokenizer") -> Tokenizer:
        kinds = {"char": CharTokenizer, "word": WordTokenizer, "bpe": BPETokenizer}
        if d.get("kind") not in kinds:
            raise ValueError(f"{source}: unknown tokenizer kind {d.get('kind')!r}")
        tok = kinds[d["kind"]](**d.get("options", {}))
        if d["kind"] == "bpe":
            tok._load_state(d.get("state", ""), source)
        tok.itos = list(d["itos"])
        tok.stoi = {s: i for i, s in enumerate(tok.itos)}
        if tuple(tok.itos[:4]) != SPECIALS:
            raise ValueError(f"{source}: the vocabulary does not start with {SPECIALS}")
        if d.get("fingerprint") not in (None, tok.fingerprint):
            raise ValueError(f"{source}: the vocabulary was modified (fingerprint mismatch)")
        return tok

    @staticmethod
    def load(path: str | Path) -> Tokenizer:
        try:
            d = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as e:
            raise ValueError(f"{path}: not a readable tokenizer file: {e}") from None
        return Tokenizer.from_dict(d, str(path))


class CharTokenizer(Tokenizer):
    kind = "char"

    def __init__(self, lower: bool = False) -> None:
        super().__init__()
        self.lower = lower

    def options(self):
        return {"lower": self.lower}

    def tokenize(self, text):
        return list(text.lower() if self.lower else text)

    def detokenize(self, tokens):
        return "".join(tokens)


class WordTokenizer(Tokenizer):
    kind = "word"

    def __init__(self, lower: bool = True, punctuation: str = "split") -> None:
        super().__init__()
        if punctuation not in ("split", "strip", "keep"):
            raise ValueError(f"punctuation must be 'split', 'strip' or 'keep', got {punctuation!r}")
        self.lower, self.punctuation = lower, punctuation

    def options(self):
        return {"lower": self.lower, "punctuation": self.punctuation}

    def tokenize(self, text):
        text = text.lower() if self.lower else text
        if self.punctuation == "keep":
            return text.split()
        return (_WORD_SPLIT if self.punctuation == "split" else _WORD_ONLY).findall(text)

    def detokenize(self, tokens):
        out = ""
        for t in tokens:
            out += t if (not out or re.fullmatch(r"[^\w\s]", t)) else " " + t
        return out


class BPETokenizer(Tokenizer):
    """Byte-level BPE (Sennrich et al. 2016), trained with the ``tokenizers`` library; ids 0–3 are the specials."""

    kind = "bpe"

    def __init__(self, vocab_size: int = 8000) -> None:
        super().__init__()
        self.vocab_size = vocab_size
        self._tok = None

    def options(self):
        return {"vocab_size": self.vocab_size}

    @staticmethod
    def _lib():
        try:
            import tokenizers
        except ImportError as e:  # pragma: no cover - installed by make
            raise ImportError("BPE needs the 'tokenizers' package: pip install --no-deps tokenizers") from e
        return tokenizers

    def fit(self, texts, min_freq: int = 2, max_size: int | None = None):
        lib = self._lib()
        tok = lib.Tokenizer(lib.models.BPE(unk_token="<unk>"))
        tok.pre_tokenizer = lib.pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = lib.decoders.ByteLevel()
        trainer = lib.trainers.BpeTrainer(vocab_size=max_size or self.vocab_size, min_frequency=min_freq,
                                          special_tokens=list(SPECIALS), show_progress=False,
                                          initial_alphabet=lib.pre_tokenizers.ByteLevel.alphabet())
        tok.train_from_iterator(list(texts), trainer)
        self._tok = tok
        self._sync()
        return self

    def _sync(self):
        vocab = self._tok.get_vocab()
        self.itos = [None] * len(vocab)
        for t, i in vocab.items():
            self.itos[i] = t
        self.stoi = {s: i for i, s in enumerate(self.itos)}

    def _load_state(self, state: str, source: str):
        try:
            self._tok = self._lib().Tokenizer.from_str(state)
        except Exception as e:  # noqa: BLE001 - the library raises its own exception types
            raise ValueError(f"{source}: unreadable BPE state: {e}") from None

    def to_dict(self):
        if self._tok is None:
            raise ValueError("fit the BPE tokenizer before saving it")
        return {**super().to_dict(), "state": self._tok.to_str()}

    def tokenize(self, text):
        if self._tok is None:
            raise ValueError("fit the BPE tokenizer first")
        return self._tok.encode(text).tokens

    def encode(self, text, bos=False, eos=False):
        ids = self._tok.encode(text).ids if self._tok is not None else self.tokenize(text)
        return ([BOS] if bos else []) + ids + ([EOS] if eos else [])

    def decode(self, ids, skip_specials=True):
        return self._tok.decode([i for i in ids if not (skip_specials and i < len(SPECIALS))])

    def detokenize(self, tokens):
        return self.decode([self.stoi[t] for t in tokens])


def make_tokenizer(kind: str, **options) -> Tokenizer:
    if kind == "char":
        return CharTokenizer(**options)
    if kind == "word":
        return WordTokenizer(**options)
    if kind == "bpe":
        return BPETokenizer(**options)
    raise ValueError(f"unknown tokenizer {kind!r}; expected 'char', 'word' or 'bpe'")


def check_same_vocabulary(a: Tokenizer, b: Tokenizer, what: str = "model") -> None:
    if a.fingerprint != b.fingerprint:
        raise ValueError(f"the vocabulary does not match the {what}'s ({a.kind} {len(a)} tokens, fingerprint "
                         f"{a.fingerprint}, vs {b.kind} {len(b)} tokens, fingerprint {b.fingerprint})")
