"""Reading SWORD zText Bible modules (the format of Debian's ``sword-text-*`` packages), without the SWORD library.

A zText module keeps each testament (``ot``, ``nt``) in three files:

* ``.bzs`` — the block index: per compressed block, three little-endian uint32 ``(offset, compressed size, size)``
  into ``.bzz``;
* ``.bzv`` — the verse index: per verse *slot*, uint32 block number, uint32 offset into the uncompressed block, uint16
  size (10 bytes per slot; size 0 = an empty slot);
* ``.bzz`` — the blocks, each zlib-compressed.

Slots follow the module's versification: slot 0 is empty, slot 1 the testament heading, then per book one heading slot
(its OSIS ``<div type="book" osisID="Gen">``), and per chapter one heading slot (``<chapter osisID="Gen.1">``, markup
and titles only) followed by its verses. Two modules with the same versification (KJV's) therefore line up slot for
slot — that is how ``bible_pairs`` aligns the English and Spanish verses. Verse text is OSIS XML: ``clean_osis`` drops
footnotes (``<note>``), titles (``<title>``) and every tag, keeping the words.
"""

from __future__ import annotations

import html
import re
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

TESTAMENTS = ("ot", "nt")
_BOOK = re.compile(r'<div\b[^>]*\btype="book"[^>]*>')
_OSIS_ID = re.compile(r'\bosisID="([^"]+)"')
_CHAPTER = re.compile(r'<chapter\b[^>]*\bsID="[^"]*"[^>]*>')
_DROP = re.compile(r"<(note|title)\b[^>]*?(?<!/)>.*?</\1>", re.S)
_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True)
class Verse:
    book: str  # OSIS book id: Gen, Exod, ..., Rev
    chapter: int
    verse: int
    text: str


def clean_osis(text: str) -> str:
    """The words of an OSIS fragment: footnotes and titles removed, tags removed, entities decoded, spaces collapsed."""
    text = _TAG.sub(" ", _DROP.sub(" ", text))
    text = re.sub(r"\s+", " ", html.unescape(text)).strip()
    return re.sub(r" ([,.;:!?)])", r"\1", text).replace("( ", "(").replace("¿ ", "¿").replace("¡ ", "¡")


def read_slots(module_dir: str | Path, testament: str) -> list[str]:
    """The raw text of every verse slot of one testament (``""`` for an empty slot)."""
    d = Path(module_dir)
    paths = [d / f"{testament}.{ext}" for ext in ("bzs", "bzv", "bzz")]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"{d} is not a zText module: missing {', '.join(missing)}")
    bzs, bzv, bzz = (p.read_bytes() for p in paths)
    if len(bzs) % 12 or len(bzv) % 10:
        raise ValueError(f"{d}/{testament}: index sizes {len(bzs)} (.bzs, 12 bytes per block) and {len(bzv)} (.bzv, "
                         "10 bytes per slot) are not whole records")
    blocks = [struct.unpack_from("<III", bzs, i) for i in range(0, len(bzs), 12)]
    cache: dict[int, bytes] = {}
    slots = []
    for n, i in enumerate(range(0, len(bzv), 10)):
        block, offset, size = struct.unpack_from("<IIH", bzv, i)
        if size == 0:
            slots.append("")
            continue
        if block >= len(blocks):
            raise ValueError(f"{d}/{testament}.bzv: slot {n} points to block {block}; the module has {len(blocks)}")
        if block not in cache:
            start, csize, usize = blocks[block]
            try:
                cache[block] = zlib.decompress(bzz[start:start + csize])
            except zlib.error as e:
                raise ValueError(f"{d}/{testament}.bzz: block {block} is damaged: {e}") from None
            if len(cache[block]) != usize:
                raise ValueError(f"{d}/{testament}.bzz: block {block} holds {len(cache[block])} bytes, the index says "
                                 f"{usize}")
        raw = cache[block][offset:offset + size]
        slots.append(raw.decode("utf-8", errors="replace"))
    return slots


def slot_layout(slots: list[str], where: str = "module") -> list[tuple[str, int, int] | None]:
    """``(book, chapter, verse)`` of each slot, or None for heading slots (testament, book, chapter headings), read
    from the book and chapter markers the headings carry."""
    layout: list[tuple[str, int, int] | None] = []
    book, chapter, verse = None, 0, 0
    for n, s in enumerate(slots):
        if n < 2:
            layout.append(None)
            continue
        m = _BOOK.search(s)
        if m:
            book_id = _OSIS_ID.search(m.group(0))
            if book_id is None:
                raise ValueError(f"{where}: slot {n} opens a book without an osisID")
            book, chapter = book_id.group(1), 0
            layout.append(None)
            continue
        m = _CHAPTER.search(s)
        if m and book is not None and not clean_osis(_CHAPTER.sub("", s)):  # a chapter heading slot: markup only
            chapter, verse = chapter + 1, 0
            layout.append(None)
            continue
        if book is None or chapter == 0:
            layout.append(None)  # an introduction before the first chapter
            continue
        verse += 1
        layout.append((book, chapter, verse))
    return layout


def read_module(module_dir: str | Path) -> list[Verse]:
    """Every verse of a zText module, in canonical order, with markup removed (empty verses kept, as ``""``)."""
    verses = []
    for t in TESTAMENTS:
        slots = read_slots(module_dir, t)
        for where, s in zip(slot_layout(slots, f"{module_dir}/{t}"), slots):
            if where is not None:
                verses.append(Verse(*where, clean_osis(s)))
    return verses


def bible_pairs(source_dir: str | Path, target_dir: str | Path, check_lengths: bool = False
                ) -> list[tuple[Verse, Verse]]:
    """Verse-aligned pairs of two modules of the same versification; verses empty on either side are left out.

    ``check_lengths``: keep only the pairs that a length-based alignment of each book's verses (``rnnkit.data.align``,
    Gale & Church) pairs too. A module mapped onto another's versification can still number some verses otherwise —
    the Reina-Valera's Jonah 2:1 is the King James' 1:17, so every slot of that chapter holds the next verse — and
    there the slots pair verses that are not translations of each other; the alignment disagrees and they go."""
    src, tgt = read_module(source_dir), read_module(target_dir)
    if [(v.book, v.chapter, v.verse) for v in src] != [(v.book, v.chapter, v.verse) for v in tgt]:
        raise ValueError(f"{source_dir} and {target_dir} do not share one versification: their verse lists differ")
    pairs = [(a, b) for a, b in zip(src, tgt) if a.text and b.text]
    if not check_lengths:
        return pairs
    from rnnkit.data.align import align

    books: dict[str, tuple[list[Verse], list[Verse]]] = {}
    for a, b in zip(src, tgt):  # each book's non-empty verses, on each side
        s, t = books.setdefault(a.book, ([], []))
        s.extend([a] if a.text else [])
        t.extend([b] if b.text else [])
    agreed = set()
    for book, (s, t) in books.items():
        for si, ti in align([len(v.text) for v in s], [len(v.text) for v in t]):
            if len(si) == len(ti) == 1 and (s[si[0]].chapter, s[si[0]].verse) == (t[ti[0]].chapter, t[ti[0]].verse):
                agreed.add((book, s[si[0]].chapter, s[si[0]].verse))
    return [(a, b) for a, b in pairs if (a.book, a.chapter, a.verse) in agreed]


__all__ = ["Verse", "clean_osis", "read_slots", "slot_layout", "read_module", "bible_pairs"]
