"""The translation task end to end: a made-up language pair learned from a TSV file, translated, evaluated with
sacrebleu, and the errors a user meets."""

import json
import random
import warnings

import pytest
from sacrebleu.metrics import BLEU, CHRF
from typer.testing import CliRunner

from rnnkit.cli import app
from rnnkit.tasks import registry
from rnnkit.tasks.registry import WrongTask
from rnnkit.tasks.translate import TranslateOptions, evaluate_translator, train_translator, translate
from rnnkit.tasks.translator import Translator

WORDS = {"one": "uno", "two": "dos", "three": "tres", "red": "rojo", "green": "verde", "dog": "perro", "cat": "gato",
         "eats": "come", "sees": "ve", "the": "el", "big": "grande", "small": "pequeño"}


def sentence_pair(rng):
    en = [rng.choice(list(WORDS)) for _ in range(rng.randint(2, 5))]
    return " ".join(en), " ".join(WORDS[w] for w in reversed(en))  # reversed: alignment must be learned


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("translate")
    rng = random.Random(0)
    rows = [sentence_pair(rng) for _ in range(800)]
    (folder / "pairs.tsv").write_text("en\tes\n" + "".join(f"{a}\t{b}\n" for a, b in rows), encoding="utf-8")
    test = [sentence_pair(rng) for _ in range(40)]
    (folder / "test.tsv").write_text("en\tes\n" + "".join(f"{a}\t{b}\n" for a, b in test), encoding="utf-8")
    opts = TranslateOptions(data=str(folder / "pairs.tsv"), src_col="en", tgt_col="es", test=str(folder / "test.tsv"),
                            tokenizer="word", min_freq=1, embedding_dim=32, hidden_size=64, attention="general",
                            dropout=0.0, label_smoothing=0.0, batch_size=32, lr=1e-2, max_steps=350, epochs=100,
                            bleu_sentences=20, patience=100, progress=False)
    results = train_translator(opts, folder / "run")
    return folder, results, test


def test_a_reordering_language_pair_is_learned(run):
    folder, results, test = run
    assert results["val_bleu"] > 80
    out = translate(folder / "run", [a for a, _ in test[:10]], beam=3)
    assert sum(o == b for o, (_, b) in zip(out, test[:10])) >= 8
    config = json.loads((folder / "run" / "config.json").read_text())
    assert config["task"] == "translate" and (folder / "run" / "curve.png").is_file()
    assert "val_bleu" in (folder / "run" / "curve.csv").read_text().splitlines()[0]


def test_the_validation_bleu_is_sacrebleus_on_the_greedy_translations_in_order(run):
    from rnnkit.tasks.translate import ValidationPairs

    folder, _, test = run
    t = Translator(folder / "run")
    sources = [a for a, _ in test] + ["one two three red green dog cat big"]  # one long source among short ones
    refs = [b for _, b in test] + ["pequeño gato perro verde rojo tres dos uno"]
    ids = [t.encode_source(a) for a in sources]
    val = ValidationPairs(ids, ids, ids, refs, t.target_tokenizer, False, batch_size=7)
    hyps = translate(folder / "run", sources, beam=1)  # the reference: the translator's own greedy output
    assert val.corpus_metrics(t.model) == {"bleu": pytest.approx(BLEU().corpus_score(hyps, [refs]).score),
                                           "chrf": pytest.approx(CHRF().corpus_score(hyps, [refs]).score)}


def test_evaluate_reports_sacrebleus_bleu_and_chrf_on_the_test_pairs(run):
    folder, _, test = run
    metrics = evaluate_translator(folder / "run", beam=3)
    assert metrics["split"] == "test" and metrics["sentences"] == len(test)
    refs = [b for _, b in test]
    for name, k in (("greedy", 1), ("beam3", 3)):
        hyps = translate(folder / "run", [a for a, _ in test], beam=k)
        assert metrics[f"test_bleu_{name}"] == pytest.approx(BLEU().corpus_score(hyps, [refs]).score)
        assert metrics[f"test_chrf_{name}"] == pytest.approx(CHRF().corpus_score(hyps, [refs]).score)
    assert metrics["bleu_signature"].startswith("nrefs:1|case:mixed")
    assert registry.evaluate(folder / "run", beam=1)["test_bleu_greedy"] == metrics["test_bleu_greedy"]


def test_evaluate_scores_new_pairs_and_aligned_files_as_sacrebleu_scores_the_translations(run, tmp_path):
    # `rnnkit evaluate RUN --data new.tsv` (the run's columns) and `--data new.en --target new.es` (two aligned text
    # files, Europarl's and WMT's layout): the pairs scored as the run's test set, BLEU and chrF as sacrebleu scores the
    # translator's own greedy translations of them
    folder, _, test = run
    rng = random.Random(7)
    new = [sentence_pair(rng) for _ in range(12)]
    (tmp_path / "new.tsv").write_text("en\tes\n" + "".join(f"{a}\t{b}\n" for a, b in new), encoding="utf-8")
    (tmp_path / "new.en").write_text("".join(f"{a}\n" for a, _ in new), encoding="utf-8")
    (tmp_path / "new.es").write_text("".join(f"{b}\n" for _, b in new), encoding="utf-8")
    hyps, refs = translate(folder / "run", [a for a, _ in new], beam=1), [b for _, b in new]
    want = BLEU().corpus_score(hyps, [refs]).score
    got = registry.evaluate(folder / "run", tmp_path / "new.tsv", beam=1)
    assert got["split"] == "test" and got["sentences"] == len(new) and got["data"] == str(tmp_path / "new.tsv")
    assert got["test_bleu_greedy"] == pytest.approx(want)
    assert got["test_chrf_greedy"] == pytest.approx(CHRF().corpus_score(hyps, [refs]).score)
    r = CliRunner().invoke(app, ["evaluate", str(folder / "run"), "--data", str(tmp_path / "new.en"),
                                 "--target", str(tmp_path / "new.es"), "--out", str(tmp_path / "items.jsonl")])
    assert r.exit_code == 0, r.output
    items = [json.loads(x) for x in (tmp_path / "items.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(i["source"], i["reference"], i["greedy"]) for i in items] == [(a, b, h) for (a, b), h in zip(new, hyps)]
    assert [i["beam5"] for i in items] == translate(folder / "run", [a for a, _ in new], beam=5)
    lines = dict(line.split(": ", 1) for line in r.stdout.splitlines())
    assert float(lines["test_bleu_greedy"]) == pytest.approx(want, abs=1e-4) and "test_bleu_beam5" in lines
    (tmp_path / "bad.tsv").write_text("source\ttarget\nuno\tone\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["evaluate", str(folder / "run"), "--data", str(tmp_path / "bad.tsv")])
    assert r.exit_code != 0 and "bad.tsv" in r.output and "'en'" in r.output


def test_n_best_attention_and_long_inputs(run, tmp_path):
    folder, _, _ = run
    t = Translator(folder / "run")
    found = t.translate(["the big dog eats"], beam=4, n_best=3)[0]
    assert len(found) == 3 and [r["score"] for r in found] == sorted((r["score"] for r in found), reverse=True)
    best = found[0]
    assert len(best["attention"]) == len(best["tokens"]) and len(best["attention"][0]) == len(best["source_tokens"])
    assert t.plot_attention("the big dog eats", tmp_path / "att.png").stat().st_size > 1000
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t.translate(["one " * (t.max_source_tokens + 5)])
    assert any("truncated" in str(w.message) for w in caught)
    with pytest.raises(ValueError, match="nothing to translate"):
        t.translate(["  "])
    with pytest.raises(ValueError, match="n_best"):
        t.translate(["one"], beam=2, n_best=3)


def test_the_command_line(run, tmp_path):
    folder, _, test = run
    # a blank line in the file is answered by a blank line, so that output line i is input line i's translation
    sources = [a for a, _ in test[:3]]
    (tmp_path / "in.txt").write_text(f"{sources[0]}\n\n{sources[1]}\n   \n{sources[2]}\n")
    r = CliRunner().invoke(app, ["translate", str(folder / "run"), "--file", str(tmp_path / "in.txt"), "--beam", "2",
                                 "--attention", str(tmp_path / "a.png")])
    assert r.exit_code == 0, r.output
    want = translate(folder / "run", sources, beam=2)
    assert r.stdout.splitlines() == [want[0], "", want[1], "", want[2]]
    assert (tmp_path / "a.png").is_file()
    r = CliRunner().invoke(app, ["train", "translate", "--help"])
    assert r.exit_code == 0 and "--attention" in r.output and "--target-file" in r.output


def test_a_run_of_another_task_is_refused(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"task": "lm", "model": {"class": "LanguageModel"}}))
    with pytest.raises(WrongTask, match="'lm' run"):
        Translator(tmp_path)
    r = CliRunner().invoke(app, ["translate", str(tmp_path), "hello"])
    assert r.exit_code == 2 and "'lm' run" in r.output


def test_bad_data_is_refused_before_training(tmp_path):
    (tmp_path / "ragged.tsv").write_text("source\ttarget\na\tb\nc\n")
    with pytest.raises(ValueError, match="ragged.tsv:3"):
        train_translator(TranslateOptions(data=str(tmp_path / "ragged.tsv"), progress=False), tmp_path / "r1")
    with pytest.raises(ValueError, match="language model corpus"):
        train_translator(TranslateOptions(data="austen", progress=False), tmp_path / "r2")
    with pytest.raises(ValueError, match="built-in corpus"):
        TranslateOptions(data="kjv-rv1909", target_file="x.es")
    # options that do not go together: a usage error naming them on the command line, not a traceback
    r = CliRunner().invoke(app, ["train", "translate", "--data", "kjv-rv1909", "--out", str(tmp_path / "r3"),
                                 "--share-embeddings", "true"])
    assert r.exit_code == 2 and "--share-embeddings" in r.output and "joint_vocab" in r.output, r.output
    r = CliRunner().invoke(app, ["train", "translate", "--data", "kjv-rv1909", "--target-file", "x.es",
                                 "--out", str(tmp_path / "r4")])
    assert r.exit_code == 2 and "built-in corpus" in r.output and "Traceback" not in r.output, r.output
    assert not (tmp_path / "r1" / "model.safetensors").exists()


def test_a_resumed_run_ends_byte_for_byte_as_an_uninterrupted_one(run, tmp_path):
    folder, _, _ = run
    common = dict(data=str(folder / "pairs.tsv"), src_col="en", tgt_col="es", tokenizer="word", min_freq=1,
                  embedding_dim=16, hidden_size=16, batch_size=32, checkpoint_every=4, bleu_sentences=5, scheduler="none",
                  progress=False)
    train_translator(TranslateOptions(max_steps=8, **common), tmp_path / "whole")
    train_translator(TranslateOptions(max_steps=4, **common), tmp_path / "parts")
    train_translator(TranslateOptions(max_steps=8, **common), tmp_path / "parts", resume=True)
    whole, parts = ((tmp_path / d / "model.safetensors").read_bytes() for d in ("whole", "parts"))
    assert whole == parts
    with pytest.raises(FileExistsError, match="already holds a run"):
        train_translator(TranslateOptions(max_steps=8, **common), tmp_path / "whole")


def test_the_server_translates_and_refuses_bad_options(run):
    from fastapi.testclient import TestClient

    from rnnkit.serve import create_app

    folder, _, test = run
    with TestClient(create_app([folder / "run"])) as client:
        name = client.get("/v1/models").json()["models"][0]["name"]
        assert client.get(f"/v1/models/{name}").json()["task"] == "translate"
        r = client.post(f"/v1/models/{name}/predict", json={"inputs": [test[0][0]], "options": {"beam": 3,
                                                                                              "n_best": 2}})
        assert r.status_code == 200
        found = r.json()["outputs"][0]["translations"]
        assert len(found) == 2 and found[0]["text"] == translate(folder / "run", test[0][0], beam=3)
        for options in ({"beam": 0}, {"colour": "red"}, {"beam": 2, "n_best": 3}):
            r = client.post(f"/v1/models/{name}/predict", json={"inputs": ["one two"], "options": options})
            assert r.status_code == 422 and "Traceback" not in r.text
