"""The text side of speech recognition: the alphabet a CTC model writes in, and transcripts normalised to it.

Transcripts of real data sets are written for readers — ``"Hello, world!"``, ``“Don’t,” she said.``, ``Café``,
``well-known`` — while a CTC model writes what is spoken: lower-case letters, apostrophes and spaces. ``clean_transcript``
does what the speech toolkits' English recipes do (LibriSpeech's normalised text, ESPnet/NeMo/SpeechBrain's Common
Voice preparation, jiwer's ``RemovePunctuation``):

1. Unicode NFKC, lower case; curly apostrophes (’ ‘ ʼ) become ``'``;
2. letters with accents lose them (NFKD, combining marks dropped: ``café`` → ``cafe``, ``naïve`` → ``naive``), and the
   Latin letters that are no letter plus an accent are spelled as English spells them (``æ`` → ``ae``, ``ß`` → ``ss``,
   ``ø`` → ``o``, ``ł`` → ``l``);
3. punctuation — every character of a Unicode category P* — becomes a space (``well-known`` → ``well known``), except
   an apostrophe between two letters (``don't``, ``o'clock``) and the marks that are read aloud (``% & @ # § ‰``);
   quotes around words are dropped;
4. whitespace collapsed.

What is spoken but not written in letters — digits, ``%``, ``$``, ``&``, another script — is left as it is, so the
alphabet check names it (file, line, characters): spelling ``1984`` or ``$5`` out is the data's owner's choice.
"""

from __future__ import annotations

import re
import unicodedata

BLANK = 0
ALPHABET = ("<blank>", " ", "'") + tuple("abcdefghijklmnopqrstuvwxyz")
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "`": "'"})
_LATIN = str.maketrans({"æ": "ae", "œ": "oe", "ø": "o", "ß": "ss", "ł": "l", "đ": "d", "ð": "d", "þ": "th",
                        "ı": "i"})  # Latin letters that are not a letter plus an accent
_INNER_APOSTROPHE = re.compile(r"(?<=[^\W\d_])'(?=[^\W\d_])")
_SPOKEN = set("%&@#§‰")  # punctuation by category that is read aloud: kept for the alphabet check to name


class Alphabet:
    """Characters ↔ label ids; id 0 is the CTC blank."""

    def __init__(self, symbols: tuple[str, ...] = ALPHABET) -> None:
        if symbols[0] != "<blank>":
            raise ValueError("the first symbol of a CTC alphabet is the blank, '<blank>'")
        self.symbols = tuple(symbols)
        self.index = {s: i for i, s in enumerate(self.symbols)}

    def __len__(self) -> int:
        return len(self.symbols)

    def unknown(self, text: str) -> list[str]:
        return sorted({c for c in text if c not in self.index or c == "<blank>"})

    def encode(self, text: str, where: str = "a transcript") -> list[int]:
        bad = self.unknown(text)
        if bad:
            raise ValueError(f"{where}: characters outside the alphabet (a-z, apostrophe, space): "
                             f"{''.join(bad)!r} in {text[:80]!r}; spell numbers and symbols out")
        return [self.index[c] for c in text]

    def decode(self, ids) -> str:
        return "".join(self.symbols[i] for i in ids if i != BLANK)


def _strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def clean_transcript(text: str) -> str:
    """A written transcript as a CTC model over ``ALPHABET`` writes it (see the module's docstring)."""
    text = _strip_accents(unicodedata.normalize("NFKC", str(text)).lower().translate(_APOSTROPHES).translate(_LATIN))
    text = _INNER_APOSTROPHE.sub("\0", text)  # keep don't, o'clock; every other punctuation mark is a word break
    text = "".join(" " if unicodedata.category(c).startswith("P") and c not in _SPOKEN else c for c in text)
    return " ".join(text.replace("\0", "'").split())


__all__ = ["Alphabet", "ALPHABET", "BLANK", "clean_transcript"]
