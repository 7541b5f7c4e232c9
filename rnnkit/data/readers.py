"""Reading the user's own text files: CSV/TSV (columns by name), JSONL, plain text — errors name the file and line.

Files must be UTF-8 (a BOM is accepted); a byte sequence that is not is reported with its line. Empty texts, missing
columns or keys, and labels outside an expected set are errors, never silently dropped.

TSV is read as the format defines it (IANA text/tab-separated-values): a field ends at a tab or the line's end and a
quote is text — Tatoeba's and Anki's sentence pairs, Common Voice's TSVs (``"Stop!" he said.`` stays as written; CSV
quoting would take a line's opening quote for a quoted field and swallow the lines up to the next quote). A TSV a CSV
writer made (Python's ``csv`` or pandas' ``to_csv(sep="\t")``: a field holding a quote wrapped in quotes, its quotes
doubled) is recognised by such a field and read with CSV quoting (``tsv_quoting``). CSV files are read with CSV
quoting (RFC 4180); one whose header names the text column only when split at semicolons (Excel's CSV in locales with
a decimal comma) is read with ``;``. Without a ``text`` (``label``) column or key, the one other usual name the file
has is taken (``TEXT_NAMES``, ``LABEL_NAMES``: sst2's ``sentence``, IMDB's ``review``/``sentiment``, ...).
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path


@dataclass
class TextExample:
    text: str
    label: str | None
    line: int


def missing_data(data, builtins, note: str = "") -> FileNotFoundError:
    """The error for a data argument that is neither a file or folder nor a built-in data set: the built-in names, and
    the one the user seems to have meant (``smsspam`` → ``sms-spam``, ``M3`` → ``m3``)."""
    import difflib

    asked = str(data).strip().lower()
    close = [b for b in builtins if asked == b.lower()] or difflib.get_close_matches(asked, list(builtins), 1, 0.6) \
        or [b for b in builtins if len(asked) >= 2 and b.startswith(asked)]
    hint = f"; did you mean {close[0]!r}?" if close else ""
    builtin = (f", and no built-in data set of that name (built in: {', '.join(builtins)}){hint}" if builtins else "")
    return FileNotFoundError(f"{data}: no such file or folder{builtin}{note}")


def read_utf8(path: str | Path) -> str:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise ValueError(f"{path}:{line}: not valid UTF-8 (byte 0x{raw[e.start]:02x} at offset {e.start}); "
                         "convert the file to UTF-8") from None


#: a whole tab-separated field wrapped in quotes with a doubled quote inside: what a CSV writer makes of a field with a
#: quote, and what a plain TSV hardly ever holds
_CSV_ESCAPED_FIELD = re.compile(r'(?:^|\t)"(?:[^"\t\n]|"")*""(?:[^"\t\n]|"")*"(?=\t|\r?$)', re.M)


def tsv_quoting(text: str) -> int:
    """The ``csv`` quoting to read this TSV text with: ``QUOTE_NONE`` (quotes are text), unless a field shows the file
    was written with CSV quoting (``QUOTE_MINIMAL``)."""
    return csv.QUOTE_MINIMAL if _CSV_ESCAPED_FIELD.search(text) else csv.QUOTE_NONE


def table_quoting(text: str, delimiter: str) -> int:
    """CSV quoting for a comma-separated file; ``tsv_quoting`` for a tab-separated one."""
    return tsv_quoting(text) if delimiter == "\t" else csv.QUOTE_MINIMAL


#: the names public data sets give the text and the label (Hugging Face's sst2 ``sentence``, Kaggle's IMDB
#: ``review``/``sentiment``, tweet sets ``tweet``/``target``, ...), tried in turn when the default name is absent
TEXT_NAMES = ("text", "sentence", "review", "content", "document", "tweet", "comment")
LABEL_NAMES = ("label", "sentiment", "labels", "class", "category", "target")


def pick_name(asked: str | None, present, names: tuple[str, ...]) -> str | None:
    """``asked`` where the file has it or names something else; for the default name (``names[0]``) absent, the one
    other name of ``names`` the file has (two or none: ``asked``, and the caller's error names the columns)."""
    if asked is None or asked in present or asked != names[0]:
        return asked
    found = [n for n in names[1:] if n in present]
    return found[0] if len(found) == 1 else asked


def column_hint(options: tuple[str, str], header) -> str:
    """The end of a "no such column" error: which options name the columns, spelled for Python and the CLI, with the
    file's own first two names as the example where it has two or more."""
    flags = ["--" + o.replace("_", "-") for o in options]
    example = f", e.g. {' '.join(f'{f} {h}' for f, h in zip(flags, header))}" if len(header) >= 2 else ""
    return f" (name the columns with {'/'.join(options)}; on the command line {'/'.join(flags)}{example})"


def _csv_delimiter(text: str, column: str) -> str:
    """``,`` — or ``;`` where the header names ``column`` only when split at semicolons (a "CSV" that Excel saved in a
    locale whose decimal mark is the comma)."""
    header, names = text.partition("\n")[0].strip("\r"), {column, *TEXT_NAMES}
    if not names & set(next(csv.reader([header]), [])) and names & set(next(csv.reader([header], delimiter=";"), [])):
        return ";"
    return ","


def _check_label(path, line, label, labels):
    if labels is not None and label not in labels:
        raise ValueError(f"{path}:{line}: unknown label {label!r}; expected one of {sorted(labels)}")


def read_table(path: str | Path, text_col: str = "text", label_col: str | None = "label", delimiter: str | None = None,
               labels: set[str] | None = None) -> list[TextExample]:
    """CSV (``,``) or TSV (``.tsv`` or ``delimiter="\\t"``) with a header row; columns chosen by name."""
    path = Path(path)
    text = read_utf8(path)
    delimiter = delimiter or ("\t" if path.suffix.lower() in (".tsv", ".tab") else _csv_delimiter(text, text_col))
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter,
                            quoting=table_quoting(text, delimiter))
    header = reader.fieldnames or []
    text_col, label_col = pick_name(text_col, header, TEXT_NAMES), pick_name(label_col, header, LABEL_NAMES)
    for col in [text_col] + ([label_col] if label_col else []):
        if col not in header:
            raise ValueError(f"{path}:1: no column {col!r}; the header has {header}"
                             + column_hint(("text_col", "label_col"), header))
    out = []
    try:
        for row in reader:
            line = reader.line_num
            t = (row.get(text_col) or "").strip()
            if not t:
                raise ValueError(f"{path}:{line}: empty text in column {text_col!r}")
            label = None
            if label_col:
                label = (row.get(label_col) or "").strip()
                if not label:
                    raise ValueError(f"{path}:{line}: empty label in column {label_col!r}")
                _check_label(path, line, label, labels)
            out.append(TextExample(t, label, line))
    except csv.Error as e:
        raise ValueError(f"{path}:{reader.line_num}: malformed CSV: {e}") from None
    if not out:
        raise ValueError(f"{path}: no examples")
    return out


def read_jsonl(path: str | Path, text_key: str = "text", label_key: str | None = "label",
               labels: set[str] | None = None) -> list[TextExample]:
    path = Path(path)
    out = []
    for line_no, raw in enumerate(read_utf8(path).splitlines(), 1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}:{line_no}: invalid JSON: {e.msg}") from None
        if not out and isinstance(obj, dict):  # the first object's keys settle the names, as a table's header does
            text_key, label_key = pick_name(text_key, obj, TEXT_NAMES), pick_name(label_key, obj, LABEL_NAMES)
        if not isinstance(obj, dict) or text_key not in obj:
            raise ValueError(f"{path}:{line_no}: no key {text_key!r}" + (
                f"; the object has {sorted(obj)}{column_hint(('text_col', 'label_col'), list(obj))}"
                if isinstance(obj, dict) and not out else ""))
        t = str(obj[text_key]).strip()
        if not t:
            raise ValueError(f"{path}:{line_no}: empty text")
        label = None
        if label_key:
            if label_key not in obj:
                raise ValueError(f"{path}:{line_no}: no key {label_key!r}" + (
                    f"; the object has {sorted(obj)}{column_hint(('text_col', 'label_col'), list(obj))}"
                    if not out else ""))
            label = str(obj[label_key])
            _check_label(path, line_no, label, labels)
        out.append(TextExample(t, label, line_no))
    if not out:
        raise ValueError(f"{path}: no examples")
    return out


def read_text(path: str | Path, per_line: bool = False) -> list[TextExample] | str:
    """The whole file as one document, or (``per_line``) one example per non-empty line. Line ends are ``\\n``
    whatever the file uses (Windows' ``\\r\\n``, old Macs' ``\\r``), as Python's text mode reads them: a character
    model learns no ``\\r``."""
    text = read_utf8(path)
    if not per_line:
        if not text.strip():
            raise ValueError(f"{path}: the file is empty")
        return text.replace("\r\n", "\n").replace("\r", "\n")
    out = [TextExample(s.strip(), None, i) for i, s in enumerate(text.splitlines(), 1) if s.strip()]
    if not out:
        raise ValueError(f"{path}: no non-empty lines")
    return out


def read_examples(path: str | Path, text_col: str = "text", label_col: str | None = "label") -> list[TextExample]:
    """By extension: .csv/.tsv → ``read_table``, .jsonl → ``read_jsonl``, else one example per line (no labels)."""
    suffix = Path(path).suffix.lower()
    if suffix in (".csv", ".tsv", ".tab"):
        return read_table(path, text_col, label_col)
    if suffix in (".jsonl", ".ndjson"):
        return read_jsonl(path, text_col, label_col)
    return read_text(path, per_line=True)
