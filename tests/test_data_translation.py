"""Translation data: the SWORD zText reader (on a module built here, and on Debian's where installed) and the pair
files' reader with its errors."""

import struct
import zlib
from pathlib import Path

import pytest

from rnnkit.data.corpora import SWORD_MODULES, _normal_case
from rnnkit.data.pairs import read_pairs
from rnnkit.data.sword import bible_pairs, clean_osis, read_module

BOOK = '<div canonical="true" osisID="{0}" sID="b" type="book"/> <title type="main">The Book of {0}</title>'
CHAPTER = '<chapter n="{1}" osisID="{0}.{1}" sID="{0}.{1}"/> <title>A Psalm</title>'


def write_ztext(folder: Path, testaments: dict[str, list[str]]) -> Path:
    """A zText module: per testament one zlib block holding every slot, the 12-byte block and 10-byte verse indexes."""
    folder.mkdir(parents=True, exist_ok=True)
    for t, slots in testaments.items():
        data, index = b"", b""
        for s in slots:
            raw = s.encode("utf-8")
            index += struct.pack("<IIH", 0, len(data), len(raw))
            data += raw
        block = zlib.compress(data)
        (folder / f"{t}.bzz").write_bytes(block)
        (folder / f"{t}.bzs").write_bytes(struct.pack("<III", 0, len(block), len(data)))
        (folder / f"{t}.bzv").write_bytes(index)
    return folder


def _module(folder, verse):
    ot = ["", "<milestone/>", BOOK.format("Gen"), CHAPTER.format("Gen", 1), verse("Gen", 1, 1), verse("Gen", 1, 2),
          CHAPTER.format("Gen", 2), verse("Gen", 2, 1)]
    nt = ["", "<milestone/>", BOOK.format("John"), CHAPTER.format("John", 1), verse("John", 1, 1), ""]
    return write_ztext(folder, {"ot": ot, "nt": nt})


def test_a_hand_made_ztext_module_is_read_verse_by_verse(tmp_path):
    en = _module(tmp_path / "en", lambda b, c, v: f'<w lemma="x">Word</w> {b} {c}:{v}<note placement="foot">a '
                                                  f'<reference>1.1</reference> note</note> &amp; more.')
    es = _module(tmp_path / "es", lambda b, c, v: f"<transChange>Palabra</transChange> {b} {c}:{v}.")
    verses = read_module(en)
    assert [(v.book, v.chapter, v.verse) for v in verses] == [("Gen", 1, 1), ("Gen", 1, 2), ("Gen", 2, 1),
                                                              ("John", 1, 1), ("John", 1, 2)]
    assert verses[1].text == "Word Gen 1:2 & more."  # tags and the footnote gone, the entity decoded
    assert verses[4].text == ""  # an empty slot is an empty verse ...
    pairs = bible_pairs(en, es)
    assert len(pairs) == 4  # ... and is left out of the pairs
    assert pairs[3][1].text == "Palabra John 1:1."


def test_modules_of_different_versifications_are_refused(tmp_path):
    en = _module(tmp_path / "en", lambda b, c, v: "x")
    other = write_ztext(tmp_path / "other", {"ot": ["", "", BOOK.format("Gen"), CHAPTER.format("Gen", 1), "x"],
                                             "nt": ["", ""]})
    with pytest.raises(ValueError, match="versification"):
        bible_pairs(en, other)
    with pytest.raises(FileNotFoundError, match="not a zText module"):
        read_module(tmp_path)


def test_osis_cleaning_and_the_drop_capital():
    assert clean_osis('<w>Y dijo</w> <w>Dios</w>: <note n="a">x <b>y</b></note>Sea la luz .') == "Y dijo Dios: Sea la luz."
    assert _normal_case("EN el principio") == "En el principio"
    assert _normal_case("Y ACONTECIÓ en los días") == "Y aconteció en los días"
    assert _normal_case("¡OH Jehová") == "¡Oh Jehová"
    assert _normal_case("El nombre") == "El nombre"


REAL = SWORD_MODULES / "engKJV2006eb"


@pytest.mark.skipif(not REAL.is_dir() or not (SWORD_MODULES / "spaRV1909eb").is_dir(),
                    reason="Debian's sword-text-kjv and sword-text-sparv are not installed")
def test_the_real_kjv_and_reina_valera_modules():
    pairs = bible_pairs(REAL, SWORD_MODULES / "spaRV1909eb")
    assert len(pairs) == 31019  # of the 31,102 KJV verses, those non-empty in both modules
    assert len({a.book for a, _ in pairs}) == 66
    first = pairs[0]
    assert first[0].text == "In the beginning God created the heaven and the earth."
    assert first[1].text == "EN el principio crió Dios los cielos y la tierra."
    john = next(p for p in pairs if (p[0].book, p[0].chapter, p[0].verse) == ("John", 11, 35))
    assert (john[0].text, john[1].text) == ("Jesus wept.", "Y lloró Jesús.")
    assert not any("<" in a.text or ">" in a.text or "<" in b.text for a, b in pairs)
    # where the Reina-Valera numbers verses as the Hebrew Bible does, its slots hold the next verse: Jonah 2:1's slot
    # says 1:17 ("the LORD had prepared a great fish"), 2:2's says 2:1 ("Then Jonah prayed") — the lengths disagree
    jonah = {(a.chapter, a.verse): b.text for a, b in pairs if a.book == "Jonah"}
    assert jonah[(2, 1)].startswith("Mas Jehová había prevenido un gran pez") or \
        jonah[(2, 1)].startswith("MAS Jehová había prevenido un gran pez")
    assert jonah[(2, 2)].startswith("Y oró Jonás")
    checked = bible_pairs(REAL, SWORD_MODULES / "spaRV1909eb", check_lengths=True)
    kept = {(a.book, a.chapter, a.verse) for a, _ in checked}
    assert not any(("Jonah", 2, v) in kept for v in range(1, 11))
    assert ("Jonah", 1, 16) in kept and ("Jonah", 3, 1) in kept and ("John", 11, 35) in kept
    assert 30_700 < len(checked) < 31_019  # a few chapters of another numbering, not more


def test_gale_and_church_pair_merged_and_split_sentences_and_leave_matching_ones_on_the_diagonal():
    import math

    from rnnkit.data.align import align, bead_cost

    # the cost of a bead by hand: −log P(bead) − log 2(1 − Φ(|δ|)), δ = (l2 − c l1) / √(6.8 (l1 + l2 / c) / 2)
    delta = (90 - 1.0 * 100) / math.sqrt(6.8 * (100 + 90) / 2)
    want = -math.log(0.89) - math.log(2 * (1 - 0.5 * (1 + math.erf(abs(delta) / math.sqrt(2)))))
    assert bead_cost(100, 90, 1.0, (1, 1)) == pytest.approx(want)
    lengths = [120, 40, 300, 75, 210, 33, 160, 95, 250, 60]
    same = [round(x * 0.95) for x in lengths]
    assert align(lengths, same) == [([i], [i]) for i in range(10)]
    # a translation that merges sentences 2 and 3 and splits sentence 6 in two: the beads say so, the rest stays 1-1
    target = [round(x * 0.95) for x in lengths[:2]] + [round((lengths[2] + lengths[3]) * 0.95)] + \
        [round(x * 0.95) for x in lengths[4:6]] + [76, 76] + [round(x * 0.95) for x in lengths[7:]]
    assert align(lengths, target) == [([0], [0]), ([1], [1]), ([2, 3], [2]), ([4], [3]), ([5], [4]), ([6], [5, 6]),
                                      ([7], [7]), ([8], [8]), ([9], [9])]


def test_pairs_from_tsv_csv_jsonl_and_aligned_text_files(tmp_path):
    (tmp_path / "p.tsv").write_text("id\ten\tes\n1\tHello.\tHola.\n\n2\tGood night.\tBuenas noches.\n")
    (tmp_path / "p.csv").write_text('en,es\n"Yes, sir.","Sí, señor."\n')
    (tmp_path / "p.jsonl").write_text('{"en": "One.", "es": "Uno."}\n\n{"en": "Two.", "es": "Dos."}\n')
    (tmp_path / "a.en").write_text("Hello.\n\nBye.\n")
    (tmp_path / "a.es").write_text("Hola.\n\nAdiós.\n\n")
    tsv = read_pairs(tmp_path / "p.tsv", "en", "es")
    assert [(p.source, p.target, p.line) for p in tsv] == [("Hello.", "Hola.", 2), ("Good night.", "Buenas noches.", 4)]
    assert read_pairs(tmp_path / "p.csv", "en", "es")[0].target == "Sí, señor."
    assert [p.target for p in read_pairs(tmp_path / "p.jsonl", "en", "es")] == ["Uno.", "Dos."]
    assert [(p.source, p.target) for p in read_pairs(tmp_path / "a.en", target=tmp_path / "a.es")] == [
        ("Hello.", "Hola."), ("Bye.", "Adiós.")]


def test_a_hugging_face_translation_jsonl_reads_its_language_keys(tmp_path):
    (tmp_path / "opus_books.jsonl").write_text(  # as datasets' to_json writes opus_books / wmt14
        '{"id": "0", "translation": {"en": "Hello.", "fr": "Bonjour."}}\n'
        '{"id": "1", "translation": {"en": "Thanks.", "fr": "Merci."}}\n', encoding="utf-8")
    got = read_pairs(tmp_path / "opus_books.jsonl", "en", "fr")
    assert [(p.source, p.target, p.line) for p in got] == [("Hello.", "Bonjour.", 1), ("Thanks.", "Merci.", 2)]
    with pytest.raises(ValueError, match=r"opus_books.jsonl:1: no key 'de'"):
        read_pairs(tmp_path / "opus_books.jsonl", "en", "de")


TATOEBA_STYLE = ['"Stop!" he said.\t"¡Para!", dijo.', 'I have a "dog".\tTengo un "perro".',
                 '"It\'s late\tEs tarde', 'Good night.\tBuenas noches.']


def test_a_tsv_keeps_its_quotes_as_text_as_the_format_defines_them(tmp_path):
    # Tatoeba's and Anki's pair files: a tab ends a field, quotes are text — a line opening with a quote (the third,
    # never closed) must not swallow the lines after it, as CSV quoting would
    (tmp_path / "t.tsv").write_text("en\tes\n" + "\n".join(TATOEBA_STYLE) + "\n", encoding="utf-8")
    got = [(p.source, p.target, p.line) for p in read_pairs(tmp_path / "t.tsv", "en", "es")]
    assert got == [(*line.split("\t"), i) for i, line in enumerate(TATOEBA_STYLE, 2)]


def test_a_tsv_a_csv_writer_made_is_read_back_to_the_texts_written(tmp_path):
    import csv

    import pandas as pd

    rows = [("He said \"hi\".", "Dijo \"hola\"."), ("\"Stop!\"", "\"¡Para!\""), ("plain", "llano")]
    with open(tmp_path / "csv.tsv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter="\t")
        w.writerows([("en", "es"), *rows])
    pd.DataFrame(rows, columns=["en", "es"]).to_csv(tmp_path / "pandas.tsv", sep="\t", index=False)
    for name in ("csv.tsv", "pandas.tsv"):
        assert [(p.source, p.target) for p in read_pairs(tmp_path / name, "en", "es")] == rows, name


@pytest.mark.parametrize("name,content,match", [
    ("ragged.tsv", "en\tes\nHello.\tHola.\nBye.\n", r"ragged.tsv:3: 1 fields, the header has 2"),
    ("extra.tsv", "en\tes\nHello.\tHola.\tx\n", r"extra.tsv:2: 3 fields"),
    ("empty.tsv", "en\tes\nHello.\t \n", r"empty.tsv:2: the 'es' side is empty"),
    ("nocol.tsv", "en\tfr\nHello.\tSalut.\n", r"nocol.tsv:1: no column 'es'"),
    ("bad.jsonl", '{"en": "a", "es": "b"}\n{"en": "a"}\n', r"bad.jsonl:2: no key 'es'"),
    ("bytes.tsv", b"en\tes\nHello.\tHola.\nBye.\tAdi\xf3s.\n", r"bytes.tsv:3: not valid UTF-8"),
    ("pairs.txt", "Hello.\n", r"expected a .tsv, .csv or .jsonl"),
])
def test_bad_pair_files_name_the_file_and_line(tmp_path, name, content, match):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(ValueError, match=match):
        read_pairs(path, "en", "es")


def test_a_missing_column_error_says_which_options_name_the_columns(tmp_path):
    # a header of language codes (or Hugging Face's translation dict) has no 'source'/'target': the error spells the
    # options to pass, with the file's own names, and passing them reads the pairs
    (tmp_path / "p.tsv").write_text("en\tes\nHello.\tHola.\n")
    with pytest.raises(ValueError, match=r"p.tsv:1: no column 'source'; the header has \['en', 'es'\] \(name the "
                                         r"columns with src_col/tgt_col; on the command line --src-col/--tgt-col, "
                                         r"e.g. --src-col en --tgt-col es\)"):
        read_pairs(tmp_path / "p.tsv")
    (tmp_path / "hf.jsonl").write_text('{"id": "0", "translation": {"en": "Hello.", "es": "Hola."}}\n')
    with pytest.raises(ValueError, match=r"hf.jsonl:1: no key 'source'; the object has \['en', 'es'\] .*--src-col en "
                                         r"--tgt-col es\)"):
        read_pairs(tmp_path / "hf.jsonl")
    for name in ("p.tsv", "hf.jsonl"):
        assert [(p.source, p.target) for p in read_pairs(tmp_path / name, "en", "es")] == [("Hello.", "Hola.")]


def test_aligned_files_of_different_lengths_or_holes_are_refused(tmp_path):
    (tmp_path / "a.en").write_text("One.\nTwo.\nThree.\n")
    (tmp_path / "a.es").write_text("Uno.\nDos.\n")
    with pytest.raises(ValueError, match="has 3 lines but .* has 2"):
        read_pairs(tmp_path / "a.en", target=tmp_path / "a.es")
    (tmp_path / "b.es").write_text("Uno.\n\nTres.\n")
    with pytest.raises(ValueError, match=r"b.es:2: empty line where .*a.en:2 has a sentence"):
        read_pairs(tmp_path / "a.en", target=tmp_path / "b.es")


ANKI = ("Go.\tVa !\tCC-BY 2.0 (France) Attribution: tatoeba.org #2877272 (CM) & #1158250 (Wittydev)\n"
        "Hi.\tSalut !\tCC-BY 2.0 (France) Attribution: tatoeba.org #538123 (CM) & #509819 (Aiji)\n"
        "I won!\tJ'ai gagné !\tCC-BY 2.0 (France) Attribution: tatoeba.org #2005192 (CK) & #5607226 (Aiji)\n")


def test_tatoeba_anki_files_read_as_the_seq2seq_tutorials_read_them(tmp_path):
    # manythings.org's fra.txt: no header, English <TAB> French <TAB> attribution. Keras's lstm_seq2seq example reads
    # `input_text, target_text, _ = line.split("\t")`; PyTorch's tutorial the first two fields of eng-fra.txt (no
    # attribution), and reverses them to translate French to English
    (tmp_path / "fra.txt").write_text(ANKI, encoding="utf-8")
    (tmp_path / "eng-fra.txt").write_text("".join("\t".join(line.split("\t")[:2]) + "\n" for line in ANKI.splitlines()))
    keras = [tuple(line.split("\t")[:2]) for line in ANKI.splitlines()]
    assert [(p.source, p.target) for p in read_pairs(tmp_path / "fra.txt")] == keras
    assert [(p.source, p.target) for p in read_pairs(tmp_path / "eng-fra.txt")] == keras
    reverse = read_pairs(tmp_path / "eng-fra.txt", src_col="2", tgt_col="1")
    assert [(p.source, p.target, p.line) for p in reverse] == [(t, s, i) for i, (s, t) in enumerate(keras, 1)]


@pytest.mark.parametrize("content, cols, match", [
    ("Go.\tVa !\nHi.\n", {}, r"pairs.txt:2: 1 tab-separated field\(s\), expected source<TAB>target \(no tab"),
    ("Go.\t \n", {}, r"pairs.txt:1: the 'field 2' side is empty"),
    ("Go.\tVa !\n", {"tgt_col": "3"}, r"pairs.txt:1: 2 tab-separated field\(s\).*field 3 asked"),
    ("Go.\tVa !\n", {"src_col": "en"}, r"pairs.txt: a file of tab-separated pairs has no header.*not 'en'"),
    ("Go.\tVa !\n", {"src_col": "0"}, r"pairs.txt: field numbers start at 1"),
])
def test_bad_tab_pair_files_name_the_file_and_line(tmp_path, content, cols, match):
    (tmp_path / "pairs.txt").write_text(content)
    with pytest.raises(ValueError, match=match):
        read_pairs(tmp_path / "pairs.txt", **cols)
