"""Speech data sets: the user's recordings with their transcripts, and the alphabet a CTC model writes in.

Three layouts, errors naming file and line:

* a **NeMo-style JSONL manifest** — one ``{"audio": path, "text": ..., "duration": seconds}`` per line (NeMo's
  ``audio_filepath`` is accepted too), paths relative to the manifest;
* a **LibriSpeech-style folder** — ``*.trans.txt`` files whose lines are ``UTTERANCE-ID transcript``, the audio
  ``UTTERANCE-ID.flac`` (or ``.wav``) beside them;
* a **Common Voice-style TSV** — columns ``path`` and ``sentence``, the clips in ``clips/`` beside the TSV (or beside
  the TSV itself).

A folder written by ``rnnkit data synth-speech`` (``train.jsonl``, ``validation.jsonl``, ``test.jsonl``) gives its
three splits. Transcripts are lower-cased; a character outside the alphabet (letters a–z, apostrophe, space) is an error
naming the file, line and characters — spell numbers out, drop punctuation — and so are a missing audio file and an
empty transcript. Audio is read (and checked) when it is first used, by ``rnnkit.data.audio.read_audio``.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

from rnnkit.data.readers import read_utf8

BLANK = 0
ALPHABET = ("<blank>", " ", "'") + tuple("abcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True)
class Recording:
    audio: Path
    text: str
    where: str  # "file:line", for error messages


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
                             f"{''.join(bad)!r} in {text[:80]!r}; spell numbers out and remove punctuation")
        return [self.index[c] for c in text]

    def decode(self, ids) -> str:
        return "".join(self.symbols[i] for i in ids if i != BLANK)


def clean_transcript(text: str) -> str:
    """Lower-cased, curly apostrophes made straight, whitespace collapsed."""
    return " ".join(str(text).lower().replace("’", "'").split())


def _recording(base: Path, audio: str, text, where: str) -> Recording:
    text = clean_transcript(text)
    if not text:
        raise ValueError(f"{where}: empty transcript")
    path = (base / audio) if not Path(audio).is_absolute() else Path(audio)
    if not path.is_file():
        raise FileNotFoundError(f"{where}: the audio file {path} does not exist")
    return Recording(path, text, where)


def read_manifest(path: str | Path) -> list[Recording]:
    path = Path(path)
    out = []
    for line, raw in enumerate(read_utf8(path).splitlines(), 1):
        if not raw.strip():
            continue
        where = f"{path}:{line}"
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as e:
            raise ValueError(f"{where}: invalid JSON: {e.msg}") from None
        if not isinstance(obj, dict):
            raise ValueError(f"{where}: expected a JSON object with 'audio' and 'text'")
        audio = obj.get("audio", obj.get("audio_filepath"))
        if audio is None or "text" not in obj:
            raise ValueError(f"{where}: needs keys 'audio' (or 'audio_filepath') and 'text'; has {sorted(obj)}")
        out.append(_recording(path.parent, str(audio), obj["text"], where))
    if not out:
        raise ValueError(f"{path}: no recordings")
    return out


def read_librispeech(folder: str | Path) -> list[Recording]:
    folder = Path(folder)
    out = []
    for trans in sorted(folder.rglob("*.trans.txt")):
        for line, raw in enumerate(read_utf8(trans).splitlines(), 1):
            if not raw.strip():
                continue
            uid, _, text = raw.strip().partition(" ")
            audio = next((trans.parent / f"{uid}{ext}" for ext in (".flac", ".wav", ".ogg")
                          if (trans.parent / f"{uid}{ext}").is_file()), trans.parent / f"{uid}.flac")
            out.append(_recording(trans.parent, audio.name, text, f"{trans}:{line}"))
    if not out:
        raise ValueError(f"{folder}: no *.trans.txt transcripts found (a LibriSpeech-style folder has them)")
    return out


def read_common_voice(path: str | Path) -> list[Recording]:
    path = Path(path)
    reader = csv.DictReader(io.StringIO(read_utf8(path), newline=""), delimiter="\t", quoting=csv.QUOTE_NONE)
    for col in ("path", "sentence"):
        if col not in (reader.fieldnames or []):
            raise ValueError(f"{path}:1: no column {col!r}; the header has {reader.fieldnames}")
    base = path.parent / "clips" if (path.parent / "clips").is_dir() else path.parent
    out = [_recording(base, row["path"], row["sentence"] or "", f"{path}:{reader.line_num}") for row in reader]
    if not out:
        raise ValueError(f"{path}: no recordings")
    return out


def read_recordings(data: str | Path) -> list[Recording]:
    """One set of recordings from a manifest (.jsonl), a Common Voice TSV (.tsv) or a LibriSpeech-style folder."""
    data = Path(data)
    if data.is_dir():
        return read_librispeech(data)
    if not data.exists():
        raise FileNotFoundError(f"{data} does not exist")
    if data.suffix.lower() in (".jsonl", ".json", ".ndjson"):
        return read_manifest(data)
    if data.suffix.lower() == ".tsv":
        return read_common_voice(data)
    raise ValueError(f"{data}: expected a JSONL manifest, a Common Voice TSV or a LibriSpeech-style folder")


def read_splits(data: str | Path) -> dict[str, list[Recording]] | None:
    """The train/validation/test manifests of a folder written by ``rnnkit data synth-speech``, or None."""
    data = Path(data)
    if data.is_dir() and all((data / f"{s}.jsonl").is_file() for s in ("train", "validation", "test")):
        return {s: read_manifest(data / f"{s}.jsonl") for s in ("train", "validation", "test")}
    return None


def check_alphabet(recordings: list[Recording], alphabet: Alphabet) -> None:
    for r in recordings:
        alphabet.encode(r.text, r.where)


__all__ = ["Recording", "Alphabet", "ALPHABET", "BLANK", "read_manifest", "read_librispeech", "read_common_voice",
           "read_recordings", "read_splits", "check_alphabet", "clean_transcript"]
