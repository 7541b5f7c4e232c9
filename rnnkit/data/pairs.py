"""Sentence pairs for translation: the user's files and the built-in parallel corpus, errors naming file and line.

Formats (by extension):

* ``.tsv`` / ``.csv`` with a header row — the source and target columns by name (``src_col``, ``tgt_col``);
* ``.jsonl`` — one object per line with the two keys, at its top or under ``translation`` (Hugging Face's translation
  sets: ``{"id": "0", "translation": {"en": "…", "fr": "…"}}``);
* two line-aligned plain-text files — ``read_pairs("train.en", target="train.es")``: line i of one is the
  translation of line i of the other (blank lines must be blank on both sides and are skipped);
* one plain-text file of tab-separated pairs without a header — the Tatoeba sentence pairs of manythings.org's Anki
  files (``fra.txt``: ``Go.<TAB>Va !<TAB>CC-BY 2.0 (France) Attribution: tatoeba.org …``), which the PyTorch and
  Keras seq2seq tutorials read: the first field is the source, the second the target, any further ones (the
  attribution) ignored; ``src_col="2", tgt_col="1"`` picks fields by number (1-based) — translating the other way.

An empty side, a row with too few or too many fields, a missing column or key, bytes that are not UTF-8 and two text
files of different lengths are errors that name the file and line — nothing is dropped silently.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

from rnnkit.data.readers import column_hint, read_utf8, table_quoting


@dataclass(frozen=True)
class Pair:
    source: str
    target: str
    line: int  # where the pair was read (1-based; the header is line 1 of a table)


def _table(path: Path, src_col: str, tgt_col: str) -> list[Pair]:
    text = read_utf8(path)
    delimiter = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quoting=table_quoting(text, delimiter))
    try:
        header = next(reader)
    except StopIteration:
        raise ValueError(f"{path}: the file is empty") from None
    for col in (src_col, tgt_col):
        if col not in header:
            raise ValueError(f"{path}:1: no column {col!r}; the header has {header}"
                             + column_hint(("src_col", "tgt_col"), header))
    si, ti = header.index(src_col), header.index(tgt_col)
    out = []
    try:
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise ValueError(f"{path}:{line}: {len(row)} fields, the header has {len(header)} "
                                 f"({'a missing' if len(row) < len(header) else 'an extra'} "
                                 f"{'tab' if delimiter == chr(9) else 'comma'}?)")
            out.append(_pair(path, line, row[si], row[ti], src_col, tgt_col))
    except csv.Error as e:
        raise ValueError(f"{path}:{reader.line_num}: malformed {'TSV' if delimiter == chr(9) else 'CSV'}: {e}") from None
    return out


def _pair(path, line, source, target, src_name, tgt_name) -> Pair:
    source, target = str(source).strip(), str(target).strip()
    for side, name in ((source, src_name), (target, tgt_name)):
        if not side:
            raise ValueError(f"{path}:{line}: the {name!r} side is empty")
    return Pair(source, target, line)


def _jsonl(path: Path, src_col: str, tgt_col: str) -> list[Pair]:
    out = []
    for line, raw in enumerate(read_utf8(path).splitlines(), 1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}:{line}: invalid JSON: {e.msg}") from None
        if not isinstance(obj, dict):
            raise ValueError(f"{path}:{line}: expected a JSON object with keys {src_col!r} and {tgt_col!r}")
        if src_col not in obj and isinstance(obj.get("translation"), dict):  # Hugging Face's translation sets
            obj = obj["translation"]
        for key in (src_col, tgt_col):
            if key not in obj:
                raise ValueError(f"{path}:{line}: no key {key!r}; the object has {sorted(obj)}"
                                 + (column_hint(("src_col", "tgt_col"), list(obj)) if not out else ""))
        out.append(_pair(path, line, obj[src_col], obj[tgt_col], src_col, tgt_col))
    return out


def _aligned(path: Path, target: Path) -> list[Pair]:
    src, tgt = read_utf8(path).splitlines(), read_utf8(target).splitlines()
    while src and not src[-1].strip():
        src.pop()
    while tgt and not tgt[-1].strip():
        tgt.pop()
    if len(src) != len(tgt):
        raise ValueError(f"{path} has {len(src)} lines but {target} has {len(tgt)}: line-aligned files must have one "
                         f"line per sentence on both sides (the first {min(len(src), len(tgt))} lines pair up)")
    out = []
    for line, (s, t) in enumerate(zip(src, tgt), 1):
        if not s.strip() and not t.strip():
            continue
        if not s.strip() or not t.strip():
            empty, full = (path, target) if not s.strip() else (target, path)
            raise ValueError(f"{empty}:{line}: empty line where {full}:{line} has a sentence (are the files aligned?)")
        out.append(Pair(s.strip(), t.strip(), line))
    return out


def _field(path: Path, col: str, default: int) -> int:
    """The 0-based field a headerless file's column option picks: a number names a field (1-based), anything else —
    the defaults ``source``/``target`` — the default field."""
    if str(col).strip().isdigit():
        if int(col) < 1:
            raise ValueError(f"{path}: field numbers start at 1, got {col!r}")
        return int(col) - 1
    if col not in ("source", "target"):
        raise ValueError(f"{path}: a file of tab-separated pairs has no header: name its fields by number (1, 2), "
                         f"not {col!r}")
    return default


def _tab_pairs(path: Path, text: str, src_col: str, tgt_col: str) -> list[Pair]:
    si, ti = _field(path, src_col, 0), _field(path, tgt_col, 1)
    out = []
    for line, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        fields = raw.split("\t")
        if len(fields) <= max(si, ti):
            raise ValueError(f"{path}:{line}: {len(fields)} tab-separated field(s), expected source<TAB>target"
                             + (" (no tab on the line)" if len(fields) == 1 else f" (field {max(si, ti) + 1} asked)"))
        out.append(_pair(path, line, fields[si], fields[ti], f"field {si + 1}", f"field {ti + 1}"))
    return out


def read_pairs(path: str | Path, src_col: str = "source", tgt_col: str = "target",
               target: str | Path | None = None) -> list[Pair]:
    """Sentence pairs from a TSV/CSV/JSONL file (columns or keys by name), a text file of tab-separated pairs, or
    two line-aligned text files."""
    path = Path(path)
    if target is not None:
        out = _aligned(path, Path(target))
    elif path.suffix.lower() in (".tsv", ".tab", ".csv"):
        out = _table(path, src_col, tgt_col)
    elif path.suffix.lower() in (".jsonl", ".ndjson"):
        out = _jsonl(path, src_col, tgt_col)
    elif "\t" in (text := read_utf8(path)).lstrip("\r\n").split("\n", 1)[0]:  # (a missing file: FileNotFoundError)
        out = _tab_pairs(path, text, src_col, tgt_col)
    else:
        raise ValueError(f"{path}: expected a .tsv, .csv or .jsonl file of pairs, a text file of tab-separated pairs "
                         "(source<TAB>target per line, as Tatoeba's), or two line-aligned text files (source and "
                         "target)")
    if not out:
        raise ValueError(f"{path}: no sentence pairs")
    return out


__all__ = ["Pair", "read_pairs"]
