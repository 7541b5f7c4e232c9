"""Tasks as a user meets them: every run folder evaluates through one registry, text runs resume bit for bit, the
tokenizer file is the one source of truth, options are checked with the option's name and range, and a run of the
wrong kind is refused with a message that says what it is."""

from __future__ import annotations

import csv
import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.metrics import accuracy_score, f1_score
from torch.nn import functional as F
from typer.testing import CliRunner

from rnnkit.cli import app
from rnnkit.tasks import WrongTask, evaluate, load, task_of
from rnnkit.tasks.classify import ClassifyOptions
from rnnkit.tasks.lm import LMOptions, StreamWindows, train_language_model
from rnnkit.tasks.options import OptionError
from rnnkit.train import Trainer
from rnnkit.train.checkpoint import CheckpointError

FIX = Path(__file__).parent / "fixtures"
TINY_LM = ["--data", str(FIX / "tiny_corpus.txt"), "--hidden-size", "16", "--embedding-dim", "8", "--streams", "2",
           "--bptt", "10", "--progress", "false"]
TINY_CLS = ["--data", str(FIX / "tiny_sentiment.csv"), "--min-freq", "1", "--hidden-size", "8", "--embedding-dim", "8",
            "--batch-size", "16", "--val-fraction", "0.2", "--cell", "gru", "--progress", "false"]


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def plain(text: str) -> str:
    """CLI output without the boxes typer draws around errors, whitespace collapsed (boxes wrap long messages)."""
    return " ".join(text.replace("│", " ").replace("╭", " ").replace("╰", " ").replace("─", " ").split())


@pytest.fixture(scope="module")
def classifier_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cls") / "run"
    r = cli("train", "classify", *TINY_CLS, "--epochs", "3", "--out", out)
    assert r.exit_code == 0, r.output
    return out


@pytest.fixture(scope="module")
def lm_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("lm") / "run"
    r = cli("train", "lm", *TINY_LM, "--max-steps", "4", "--held-out", "0.2", "--out", out)
    assert r.exit_code == 0, r.output
    return out


# --- one registry: every run folder names its task and evaluates ------------------------------------------------------
def test_evaluate_a_classifier_run_matches_sklearn_on_its_validation_split(classifier_run):
    """`rnnkit evaluate` on a text classifier (a KeyError before): accuracy and macro-F1 as scikit-learn computes them
    from the predictions on the same validation texts (split again from the file by the run's seed)."""
    config = json.loads((classifier_run / "config.json").read_text())
    assert config["task"] == "classify" and task_of(classifier_run).name == "classify"
    r = cli("evaluate", classifier_run)
    assert r.exit_code == 0, r.output
    got = {k: float(v) for k, v in (line.split(": ") for line in r.stdout.strip().splitlines())}
    from rnnkit.tasks.classify import load_labelled

    _, val, _ = load_labelled(ClassifyOptions(**config["options"]))
    predicted = [label for label, _ in load(classifier_run).predict([e.text for e in val])]
    truth = [e.label for e in val]
    assert got["validation_accuracy"] == pytest.approx(accuracy_score(truth, predicted), abs=1e-6)
    assert got["validation_macro_f1"] == pytest.approx(f1_score(truth, predicted, average="macro"), abs=1e-6)
    assert got["validation_accuracy"] == pytest.approx(config["results"]["validation_accuracy"], abs=1e-6)


def test_evaluate_a_language_model_run_is_the_held_out_cross_entropy(lm_run):
    """`rnnkit evaluate` on a language model: bits per token of the held-out tail, each stream read in one pass (the
    state flowing through every window), computed here with torch's cross-entropy."""
    r = cli("evaluate", lm_run)
    assert r.exit_code == 0, r.output
    got = {k: float(v) for k, v in (line.split(": ") for line in r.stdout.strip().splitlines())}
    p = load(lm_run)
    text = (FIX / "tiny_corpus.txt").read_text()
    ids = p.tokenizer.encode(text[int(len(text) * 0.8):])
    val = StreamWindows(ids, max(1, min(2, len(ids) // 20)), 10**9)
    with torch.no_grad():
        logits, _ = p.model(val.x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), val.y.reshape(-1)).item()
    assert got["val_bits_per_token"] == pytest.approx(loss / math.log(2), abs=1e-5)
    assert got["val_perplexity"] == pytest.approx(math.exp(loss), rel=1e-5)


def test_evaluate_scores_new_labelled_texts_as_scikit_learn_scores_the_predictions(classifier_run, tmp_path):
    """`rnnkit evaluate RUN --data held_out.csv`: new labelled texts (the run's columns) scored as the run's test set —
    accuracy and macro-F1 as scikit-learn's accuracy_score and f1_score(average="macro") give them for the labels the
    predictor predicts; a label the model was never trained on is an error naming it, the file and the line."""
    rows = list(csv.DictReader((FIX / "tiny_sentiment.csv").open(encoding="utf-8")))[::5]
    held = tmp_path / "held.csv"
    with held.open("w", encoding="utf-8", newline="") as f:
        csv.DictWriter(f, ["text", "label"]).writeheader()
        csv.DictWriter(f, ["text", "label"]).writerows(rows)
    r = cli("evaluate", classifier_run, "--data", held)
    assert r.exit_code == 0, r.output
    got = dict(line.split(": ", 1) for line in r.stdout.splitlines())
    predicted = [label for label, _ in load(classifier_run).predict([r["text"] for r in rows])]
    truth = [r["label"] for r in rows]
    assert got["test_examples"] == str(len(rows)) and got["data"] == str(held)
    assert float(got["test_accuracy"]) == pytest.approx(accuracy_score(truth, predicted), abs=1e-6)
    assert float(got["test_macro_f1"]) == pytest.approx(f1_score(truth, predicted, average="macro"), abs=1e-6)
    assert "validation_accuracy" not in got  # the new data only
    r = cli("evaluate", classifier_run, "--data", held, "--out", tmp_path / "items.csv", "--plot", tmp_path / "cm.png")
    assert r.exit_code == 0, r.output  # each text, for a look, and the confusion matrix
    assert (tmp_path / "cm.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    scored = list(csv.DictReader((tmp_path / "items.csv").open(encoding="utf-8")))
    assert [(i["text"], i["label"], i["predicted"]) for i in scored] == list(zip([r["text"] for r in rows], truth,
                                                                                predicted))
    held.write_text("text,label\nthe movie was good,positive\nthe movie was good,neutral\n", encoding="utf-8")
    r = cli("evaluate", classifier_run, "--data", held)
    assert r.exit_code != 0 and "held.csv:3: label(s) ['neutral']" in r.output
    r = cli("evaluate", classifier_run, "--data", held, "--target", held)
    assert r.exit_code != 0 and "--target" in r.output and "'classify' run" in r.output


def test_predict_reads_a_classifiers_table_and_writes_the_predictions_to_a_file(classifier_run, tmp_path):
    """`rnnkit predict RUN --file new.csv --out predictions.csv`: the texts of the run's text column (as Python's csv
    module reads them, commas and quotes inside), one row each with the label and one column per label's probability,
    the same as the predictor gives; `.jsonl` writes one JSON object per text."""
    rows = list(csv.DictReader((FIX / "tiny_sentiment.csv").open(encoding="utf-8")))[:6]
    rows[0]["text"] = 'a "quoted", comma-laden text'
    with (tmp_path / "new.csv").open("w", encoding="utf-8", newline="") as f:
        csv.DictWriter(f, ["label", "text"]).writeheader()
        csv.DictWriter(f, ["label", "text"]).writerows(rows)
    r = cli("predict", classifier_run, "--file", tmp_path / "new.csv", "--out", tmp_path / "p.csv")
    assert r.exit_code == 0, r.output
    want = load(classifier_run).predict([row["text"] for row in rows])
    got = list(csv.DictReader((tmp_path / "p.csv").open(encoding="utf-8")))
    assert [g["input"] for g in got] == [row["text"] for row in rows]
    for g, (label, probs) in zip(got, want):
        assert g["label"] == label
        assert {k: float(g[f"p_{k}"]) for k in probs} == pytest.approx(probs, abs=1e-6)
    r = cli("predict", classifier_run, "--file", tmp_path / "new.csv", "--out", tmp_path / "p.jsonl")
    assert r.exit_code == 0, r.output
    lines = [json.loads(x) for x in (tmp_path / "p.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(x["input"], x["label"]) for x in lines] == [(row["text"], w[0]) for row, w in zip(rows, want)]
    r = cli("predict", classifier_run, "good", "--out", tmp_path / "p.txt")
    assert r.exit_code != 0 and "expected a .csv or .jsonl file" in r.output


def test_evaluate_scores_a_new_text_with_a_language_model_as_cross_entropy_over_it(lm_run, tmp_path):
    """`rnnkit evaluate LM_RUN --data new.txt`: the model run over the whole new text with its state carried, scored
    as F.cross_entropy over one pass (one stream: the text is shorter than 2 × 2 × bptt); a text too short to score
    says so and names the file."""
    new = tmp_path / "new.txt"
    new.write_text("a dog sat on a log by the cat.\n", encoding="utf-8")
    got = evaluate(lm_run, data=new)
    lm = load(lm_run)
    ids = torch.tensor(lm.tokenizer.encode(new.read_text(encoding="utf-8")))
    with torch.no_grad():
        logits, _ = lm.model.eval()(ids[None, :-1])
    expected = F.cross_entropy(logits[0], ids[1:]).item()
    assert got["test_loss"] == pytest.approx(expected, rel=1e-5)
    assert got["test_perplexity"] == pytest.approx(math.exp(expected), rel=1e-5)
    assert got["test_bits_per_token"] == pytest.approx(expected / math.log(2), rel=1e-5)
    assert got["test_tokens"] == len(ids) - 1 and "val_loss" not in got
    (tmp_path / "wikitext").mkdir()  # a folder in WikiText's layout: its test.txt
    (tmp_path / "wikitext" / "test.txt").write_text(new.read_text(encoding="utf-8"), encoding="utf-8")
    assert evaluate(lm_run, data=tmp_path / "wikitext")["test_loss"] == got["test_loss"]
    r = cli("evaluate", lm_run, "--data", new, "--out", tmp_path / "items.csv")
    assert r.exit_code != 0 and "scored as a whole; it has no items to write" in r.output
    r = cli("evaluate", lm_run, "--data", new, "--plot", tmp_path / "p.png")
    assert r.exit_code != 0 and "draws no plot" in r.output and "rnnkit generate --help" in r.output
    new.write_text("a", encoding="utf-8")
    r = cli("evaluate", lm_run, "--data", new)
    assert r.exit_code != 0 and "new.txt" in r.output and "too short" in r.output


def test_evaluate_a_config_run_reports_validation_and_test(tmp_path):
    from rnnkit.tasks.sequence import build_data
    from rnnkit.train import apply_overrides, load_config

    cfg_path = Path(__file__).parent.parent / "examples" / "digits.yaml"
    r = cli("train", cfg_path, "--out", tmp_path / "d", "--epochs", "1", "--progress", "false")
    assert r.exit_code == 0, r.output
    metrics = evaluate(tmp_path / "d")
    assert set(metrics) == {"val_loss", "val_accuracy", "test_loss", "test_accuracy"}
    cfg = apply_overrides(load_config(cfg_path), ["--epochs", "1"])
    _, _, test, _ = build_data(cfg)
    probs = load(tmp_path / "d").predict(test.tensors[0])
    assert metrics["test_accuracy"] == pytest.approx(accuracy_score(test.tensors[1], probs.argmax(-1)), abs=1e-6)
    r = cli("evaluate", tmp_path / "d", "--data", cfg_path)  # a config run is scored on its config's data
    assert r.exit_code != 0 and "config run" in r.output


def test_legacy_run_folders_are_recognised_by_their_model_class(classifier_run, tmp_path):
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    config = json.loads((classifier_run / "config.json").read_text())
    del config["task"]
    (legacy / "config.json").write_text(json.dumps(config))
    assert task_of(legacy).name == "classify"


def test_a_run_of_the_wrong_kind_is_named_for_each_verb(classifier_run, lm_run):
    r = cli("generate", classifier_run, "--prompt", "the ")
    assert r.exit_code == 2 and "is a 'classify' run" in r.output and "'rnnkit predict'" in r.output
    assert not r.stdout.startswith("the ")  # the folder is checked before anything is printed
    with pytest.raises(WrongTask, match="is a 'lm' run \\(a language model\\).*'rnnkit generate'"):
        from rnnkit.tasks.classify import ClassifierPredictor

        ClassifierPredictor(lm_run)
    from rnnkit.tasks.lm import LMPredictor

    with pytest.raises(WrongTask, match="is a 'classify' run"):
        LMPredictor(classifier_run)


# --- resume ----------------------------------------------------------------------------------------------------------
def test_language_model_killed_mid_run_resumes_bit_for_bit(tmp_path, monkeypatch):
    """A run stopped by a crash after its checkpoint at step 4 and resumed with --resume ends with the weights (the
    very bytes of model.safetensors) of an uninterrupted run, and its learning curve has every evaluation once."""
    args = [*TINY_LM, "--epochs", "2", "--eval-every", "2", "--checkpoint-every", "2", "--dropout", "0.1"]
    assert cli("train", "lm", *args, "--out", tmp_path / "straight").exit_code == 0
    original = Trainer._train_batch

    def crash_after_step_5(self, batch, n):
        if self.step == 5:
            raise KeyboardInterrupt("killed")
        return original(self, batch, n)

    monkeypatch.setattr(Trainer, "_train_batch", crash_after_step_5)
    with pytest.raises(KeyboardInterrupt):
        train_language_model(LMOptions(**{a[2:].replace("-", "_"): v for a, v in zip(args[::2], args[1::2])}
                                       | {"progress": False, "hidden_size": 16, "embedding_dim": 8, "streams": 2,
                                          "bptt": 10, "epochs": 2, "eval_every": 2, "checkpoint_every": 2,
                                          "dropout": 0.1}), tmp_path / "killed")
    monkeypatch.setattr(Trainer, "_train_batch", original)
    assert not (tmp_path / "killed" / "model.safetensors").exists()
    r = cli("train", "lm", *args, "--out", tmp_path / "killed")
    assert r.exit_code == 2 and "already holds a run" in r.output
    r = cli("train", "lm", *args, "--out", tmp_path / "killed", "--resume")
    assert r.exit_code == 0, r.output
    assert sha256(tmp_path / "killed" / "model.safetensors") == sha256(tmp_path / "straight" / "model.safetensors")
    steps = [int(row["step"]) for row in csv.DictReader(open(tmp_path / "killed" / "curve.csv"))]
    assert steps == [int(row["step"]) for row in csv.DictReader(open(tmp_path / "straight" / "curve.csv"))]
    assert steps == sorted(set(steps))


def test_resume_refuses_changed_options_and_continues_a_finished_classifier(classifier_run, tmp_path):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(classifier_run, run)
    before = sha256(run / "model.safetensors")
    r = cli("train", "classify", *TINY_CLS, "--epochs", "3", "--hidden-size", "12", "--out", run, "--resume")
    assert r.exit_code == 2 and "options.hidden_size: checkpoint 8 vs now 12" in plain(r.output)
    r = cli("train", "classify", *TINY_CLS, "--epochs", "3", "--out", run, "--resume")
    assert r.exit_code == 0, r.output
    assert sha256(run / "model.safetensors") == before  # nothing left to train: the same model


def test_a_run_written_before_an_option_existed_resumes_when_that_option_is_at_its_default(classifier_run, tmp_path):
    """A checkpoint from an older rnnkit lacks the options and config keys added since; resuming it treats a missing key
    as that setting's default (the behaviour the run had) and still refuses a non-default value, naming it."""
    import shutil

    from rnnkit.train.checkpoint import load_checkpoint, save_checkpoint

    run = tmp_path / "run"
    shutil.copytree(classifier_run, run)
    for ckpt in (run / "checkpoints").glob("*.safetensors"):  # as an older version wrote them
        tensors, state = load_checkpoint(ckpt)
        assert state["resume_check"].pop("options.weight_drop") == 0.0
        state["config"]["optim"].pop("weight_decay")
        save_checkpoint(ckpt, tensors, state)
    r = cli("train", "classify", *TINY_CLS, "--epochs", "3", "--out", run, "--resume")
    assert r.exit_code == 0, r.output
    r = cli("train", "classify", *TINY_CLS, "--epochs", "3", "--weight-drop", "0.2", "--out", run, "--resume")
    assert r.exit_code == 2 and "options.weight_drop: checkpoint None vs now 0.2" in plain(r.output)


def test_identical_runs_write_identical_model_files(tmp_path):
    """Bit-identical training gives byte-identical model.safetensors (the header's metadata in a fixed order), so
    `sha256sum` confirms it."""
    for name in ("a", "b"):
        assert cli("train", "lm", *TINY_LM, "--max-steps", "2", "--out", tmp_path / name).exit_code == 0
    assert sha256(tmp_path / "a" / "model.safetensors") == sha256(tmp_path / "b" / "model.safetensors")
    from rnnkit.train.checkpoint import save_model

    model = torch.nn.Linear(3, 2)
    digests = set()
    for i in range(8):  # the safetensors writer orders metadata by a hash map: differs between saves without the fix
        save_model(tmp_path / f"m{i}", model, {"x": 1})
        digests.add(sha256(tmp_path / f"m{i}" / "model.safetensors"))
    assert len(digests) == 1


# --- the tokenizer file is the one source of truth --------------------------------------------------------------------
@pytest.mark.parametrize("damage, message", [
    ("delete", "tokenizer.json is missing"),
    ("edit", "was changed after training"),
    ("break", "was changed after training"),
])
def test_predict_refuses_a_missing_edited_or_broken_tokenizer_file(classifier_run, tmp_path, damage, message):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(classifier_run, run)
    tok = run / "tokenizer.json"
    if damage == "delete":
        tok.unlink()
    elif damage == "edit":  # a consistent edit: the file's own fingerprint updated too
        from rnnkit.data.tokenize import Tokenizer

        t = Tokenizer.load(tok)
        t.itos[4], t.itos[5] = t.itos[5], t.itos[4]
        t.stoi = {s: i for i, s in enumerate(t.itos)}
        t.save(tok)
    else:
        tok.write_text(tok.read_text()[:50])
    r = cli("predict", run, "a fine film")
    assert r.exit_code == 2 and message in plain(r.output)
    with pytest.raises(CheckpointError, match=message):
        load(run)


def test_generate_warns_about_characters_outside_the_vocabulary(lm_run):
    r = cli("generate", lm_run, "--prompt", "the Ωx€", "--length", "5")
    assert r.exit_code == 0, r.output
    assert "warning" in r.stderr and "'Ω'" in r.stderr and "'€'" in r.stderr and "<unk>" in r.stderr
    assert r.stdout.startswith("the Ωx€")


# --- options: checked, named, listed --------------------------------------------------------------------------------
@pytest.mark.parametrize("verb, option, value, expected", [
    ("classify", "--bidirectional", "flase", "Invalid value for '--bidirectional': expected true or false, got 'flase'"),
    ("lm", "--epochs", "abc", "Invalid value for '--epochs': expected an integer, got 'abc' (at least 1)"),
    ("lm", "--lr", "-1", "Invalid value for '--lr': must be greater than 0, got -1.0"),
    ("classify", "--val-fraction", "1.5", "Invalid value for '--val-fraction': must be in (0, 1), got 1.5"),
    ("lm", "--max-minutes", "0", "Invalid value for '--max-minutes': must be greater than 0, got 0.0"),
    ("lm", "--cell", "lstn", "Invalid value for '--cell': unknown cell 'lstn'; expected one of rnn, relu, lstm"),
])
def test_bad_option_values_name_the_option_and_the_valid_range(tmp_path, verb, option, value, expected):
    base = TINY_CLS if verb == "classify" else TINY_LM
    r = cli("train", verb, *base, option, value, "--out", tmp_path / "x")
    assert r.exit_code == 2 and expected in plain(r.output), r.output
    assert not (tmp_path / "x").exists()


def test_generate_top_k_zero_is_refused(lm_run):
    r = cli("generate", lm_run, "--prompt", "the ", "--top-k", "0")
    assert r.exit_code == 2 and "--top-k" in r.output and "greater than or equal to 1" in plain(r.output)


def test_python_options_check_the_same_rules():
    with pytest.raises(OptionError, match=r"val_fraction must be in \(0, 1\), got 1.5"):
        ClassifyOptions(data="x.csv", val_fraction=1.5)
    with pytest.raises(OptionError, match="bidirectional must be a boolean, got 'false'"):
        ClassifyOptions(data="x.csv", bidirectional="false")
    with pytest.raises(OptionError, match="data is required"):
        LMOptions()
    # a whole data frame where a path belongs is named by its type, not printed row by row
    import pandas as pd

    with pytest.raises(OptionError, match=r"^data must be a string, got a pandas\.core\.frame\.DataFrame$"):
        ClassifyOptions(data=pd.DataFrame({"text": ["a"] * 50, "label": [0] * 50}))


@pytest.mark.parametrize("verb, cls", [("classify", ClassifyOptions), ("lm", LMOptions)])
def test_task_help_lists_every_option_with_its_description(verb, cls):
    from rnnkit.tasks.options import documented_fields

    r = cli("train", verb, "--help")
    assert r.exit_code == 0
    text = plain(r.output)
    for f in documented_fields(cls):
        assert "--" + f.name.replace("_", "-") in text, f.name
        assert " ".join(f.metadata["help"].split()[:3]) in text, f.name
    assert "--resume" in text and "--out" in text


@pytest.mark.parametrize("verb", ["predict", "generate", "evaluate"])
def test_run_verbs_document_their_options(verb):
    import typer.main

    command = typer.main.get_command(app).commands[verb]
    for param in command.params:
        if param.name != "help":
            assert getattr(param, "help", None), f"{verb}: {param.name} has no help text"


# --- silent acceptances ----------------------------------------------------------------------------------------------
def test_a_single_label_column_is_refused(tmp_path):
    data = tmp_path / "one.csv"
    data.write_text("text,label\n" + "".join(f"review number {i},pos\n" for i in range(30)))
    r = cli("train", "classify", "--data", data, "--progress", "false", "--out", tmp_path / "x")
    assert r.exit_code == 2 and "single label ('pos')" in r.output


def test_ensemble_names_its_members_and_writes_a_top_level_table(tmp_path):
    r = cli("train", "classify", *TINY_CLS, "--epochs", "1", "--ensemble", "2", "--out", tmp_path / "ens")
    assert r.exit_code == 0, r.output
    assert "training member 1/2 (seed 0)" in r.output and "training member 2/2 (seed 1)" in r.output
    rows = list(csv.DictReader(open(tmp_path / "ens" / "metrics.csv")))
    assert [row["member"] for row in rows] == ["member0", "member1", "ensemble"]
    seeds = [json.loads((tmp_path / "ens" / f"member{m}" / "config.json").read_text())["member_seed"] for m in range(2)]
    assert seeds == [0, 1] and evaluate(tmp_path / "ens" / "member1")["validation_accuracy"] == pytest.approx(
        float(rows[1]["validation_accuracy"]), abs=1e-5)  # each member is a run of its own, evaluated on its split
    assert float(rows[-1]["validation_accuracy"]) == pytest.approx(
        json.loads((tmp_path / "ens" / "config.json").read_text())["results"]["validation_accuracy"], abs=1e-5)


def test_language_model_progress_shows_tokens_per_second_and_the_budget(tmp_path):
    r = cli("train", "lm", *TINY_LM[:-2], "--max-minutes", "0.003", "--epochs", "1000", "--held-out", "0.5",
            "--out", tmp_path / "lm")
    assert r.exit_code == 0, r.output
    assert "char/s" in r.output and "time budget 0.003 min" in r.output and "samples_s" not in r.output
    assert "epoch 1/1000" not in r.output
    assert "evaluating" in r.output  # the held-out evaluation (two windows here) has its own bar


def test_only_rank_zero_prints_the_summary(tmp_path, monkeypatch):
    monkeypatch.setenv("RANK", "1")
    r = cli("train", "lm", *TINY_LM, "--max-steps", "1", "--out", tmp_path / "lm")
    assert r.exit_code == 0 and "val_bits_per_token" not in r.stdout and "model saved" not in r.stdout


def test_confusion_matrix_is_readable(tmp_path):
    import matplotlib.image as mpimg

    from rnnkit.tasks.plots import plot_confusion

    path = plot_confusion(np.array([[40, 2], [5, 30]]), ["negative", "positive"], tmp_path / "c.png", "test")
    h, w = mpimg.imread(path).shape[:2]
    assert h >= 450 and w >= 450  # was 230×190 px


def test_evaluate_names_a_keras_model_folder_for_what_it_is(tmp_path):
    from rnnkit.keras.layers import Dense, SimpleRNN
    from rnnkit.keras.models import Sequential

    model = Sequential([SimpleRNN(4, input_shape=(5, 2)), Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    model.save(str(tmp_path / "k"))
    r = cli("evaluate", tmp_path / "k")
    assert r.exit_code == 2 and "Keras-style model folder" in r.output and "load_model" in r.output


def test_predict_works_for_every_task(classifier_run, lm_run, tmp_path):
    """`rnnkit predict` takes any run: a language model continues the prompt exactly as `rnnkit generate` does with
    the same (default) settings; a config run takes JSON sequences of any lengths and gives what the model gives."""
    r = cli("predict", lm_run, "the cat")
    g = cli("generate", lm_run, "--prompt", "the cat")
    assert r.exit_code == 0 and g.exit_code == 0 and r.stdout == g.stdout and r.stdout.startswith("the cat")
    positional = cli("generate", lm_run, "the cat")  # the prompt as an argument, like predict's inputs
    assert positional.exit_code == 0 and positional.stdout == g.stdout
    for twice_or_none in ((lm_run, "a", "--prompt", "b"), (lm_run,)):
        r = cli("generate", *twice_or_none)
        assert r.exit_code != 0 and "give the prompt once" in r.output
    cfg = Path(__file__).parent.parent / "examples" / "digits.yaml"
    assert cli("train", cfg, "--out", tmp_path / "d", "--epochs", "1", "--progress", "false").exit_code == 0
    seqs = [torch.rand(8, 8), torch.rand(5, 8)]
    r = cli("predict", tmp_path / "d", json.dumps(seqs[0].tolist()), json.dumps(seqs[1].tolist()))
    assert r.exit_code == 0, r.output
    got = [json.loads(line) for line in r.stdout.strip().splitlines()]
    model = load(tmp_path / "d").model
    with torch.no_grad():
        for seq, out in zip(seqs, got):
            expected = torch.softmax(model(seq[None]), -1)[0]
            assert out["label"] == int(expected.argmax())
            torch.testing.assert_close(torch.tensor(out["probabilities"]), expected, atol=1e-6, rtol=0)
    r = cli("predict", tmp_path / "d", "[[1, 2], [3")
    assert r.exit_code == 2 and "given as JSON" in r.output
    r = cli("predict", tmp_path / "d", "[[1, 2], [3, 4]]")
    assert r.exit_code == 2 and "expected shape (1..100000 steps, 8 features), got (2, 2)" in r.output


@pytest.mark.parametrize("task,data,expect", [
    ("classify", "smsspam", "did you mean 'sms-spam'"),
    ("lm", "janeausten", "did you mean 'austen'"),
    ("translate", "kjv", "did you mean 'kjv-rv1909'"),
    ("forecast", "M3", "did you mean 'm3'"),
    ("classify", "reviews.csv", "(built in: rt-polarity, rt-polarity-by-movie, sms-spam)"),
    ("asr", "commands", "'rnnkit data synth-speech --preset commands --out DIR'"),
])
def test_a_data_argument_that_names_nothing_lists_the_built_ins_and_the_likely_one(tmp_path, task, data, expect):
    # given a --data that is neither a file nor a built-in name: the error says so, lists the task's built-in data
    # sets and the one the user probably meant — before anything is written
    from typer.testing import CliRunner

    from rnnkit.cli import app

    r = CliRunner().invoke(app, ["train", task, "--data", str(data), "--out", str(tmp_path / "run")])
    assert r.exit_code != 0 and f"{data}: no such file or folder" in r.output and expect in r.output, r.output
    assert not (tmp_path / "run" / "model.safetensors").exists()
