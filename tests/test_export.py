"""ONNX export: every cell type and every task, checked here in onnxruntime against the PyTorch model on inputs the
exporter never saw (other batch sizes and lengths, padded batches, bidirectional, two layers), and a language model that
generates 100 tokens step by step through onnxruntime, feeding its state back, exactly as torch does (greedy)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from typer.testing import CliRunner

from rnnkit.cli import app
from rnnkit.layers import CELL_NAMES
from rnnkit.tasks import load
from rnnkit.tasks.classify import ClassifyOptions, train_classifier
from rnnkit.tasks.lm import LMOptions, train_language_model

FIX = Path(__file__).parent / "fixtures"


def session(folder: Path, graph: str) -> tuple[ort.InferenceSession, dict]:
    manifest = json.loads((folder / "manifest.json").read_text())
    return ort.InferenceSession(str(folder / manifest["graphs"][graph]["file"])), manifest


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.mark.parametrize("cell", CELL_NAMES)
def test_classifier_of_every_cell_exports_and_matches_torch_on_padded_batches(cell, tmp_path):
    """Two layers, bidirectional where the cell allows it, max pooling over each text's valid steps: onnxruntime's
    probabilities equal torch's within 1e-4 for batches of several lengths, padded with 0."""
    run = tmp_path / "run"
    train_classifier(ClassifyOptions(data=str(FIX / "tiny_sentiment.csv"), cell=cell, num_layers=2, hidden_size=8,
                                     embedding_dim=8, epochs=1, min_freq=1, progress=False), run)
    r = cli("export", run, "--format", "onnx", "--out", tmp_path / "onnx")
    assert r.exit_code == 0, r.output
    sess, manifest = session(tmp_path / "onnx", "classify")
    assert manifest["task"] == "classify" and manifest["graphs"]["classify"]["labels"] == ["negative", "positive"]
    assert [i["shape"] for i in manifest["graphs"]["classify"]["inputs"]] == [["batch", "time"], ["batch"]]
    p = load(run)
    texts = ["a truly great and moving film", "bad", "not good at all, honestly", "the acting was fine"]
    ids = [p.tokenizer.encode(t) for t in texts]
    lengths = torch.tensor([len(i) for i in ids])
    batch = torch.zeros(len(ids), int(lengths.max()), dtype=torch.long)
    for row, i in enumerate(ids):
        batch[row, :len(i)] = torch.tensor(i)
    got = sess.run(["probabilities"], {"ids": batch.numpy(), "lengths": lengths.numpy()})[0]
    expected = np.array([[probs[label] for label in p.labels] for _, probs in p.predict(texts)])
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_language_model_generates_100_tokens_through_onnxruntime_as_torch_does(cell, tmp_path):
    run = tmp_path / "lm"
    train_language_model(LMOptions(data=str(FIX / "tiny_corpus.txt"), cell=cell, num_layers=2, hidden_size=16,
                                   embedding_dim=8, streams=2, bptt=10, max_steps=20, progress=False), run)
    r = cli("export", run, "--out", tmp_path / "onnx")
    assert r.exit_code == 0, r.output
    step, manifest = session(tmp_path / "onnx", "step")
    whole, _ = session(tmp_path / "onnx", "sequence")
    assert (tmp_path / "onnx" / "tokenizer.json").read_text() == (run / "tokenizer.json").read_text()
    p = load(run)
    names = [i["name"] for i in manifest["graphs"]["step"]["inputs"]]
    assert names == (["token", "h0", "c0"] if cell == "lstm" else ["token", "h0"])
    prompt = p.tokenizer.encode("the quick ")
    state = [np.zeros((2, 1, 16), np.float32) for _ in names[1:]]
    # the prompt through the whole-sequence graph, then one token at a time with the state fed back
    logits, *state = whole.run(None, {"ids": np.array([prompt]), **dict(zip(names[1:], state))})
    tokens, last = [], logits[0, -1]
    for _ in range(100):
        tokens.append(int(last.argmax()))
        last, *state = step.run(None, {"token": np.array([[tokens[-1]]]), **dict(zip(names[1:], state))})
        last = last[0]
    assert tokens == list(p.model.generate(prompt, 100, temperature=0))


def test_config_run_exports_with_lengths_and_explicit_state(tmp_path):
    cfg = Path(__file__).parent.parent / "examples" / "digits.yaml"
    assert cli("train", cfg, "--out", tmp_path / "d", "--epochs", "1", "--model.bidirectional", "true",
               "--model.num_layers", "2", "--progress", "false").exit_code == 0
    assert cli("export", tmp_path / "d", "--out", tmp_path / "onnx").exit_code == 0
    sess, manifest = session(tmp_path / "onnx", "sequence")
    assert [o["name"] for o in manifest["graphs"]["sequence"]["outputs"]] == ["probabilities", "h"]
    model = load(tmp_path / "d").model
    g = torch.Generator().manual_seed(0)
    x, lengths, h0 = torch.rand(3, 8, 8, generator=g), torch.tensor([8, 5, 2]), torch.randn(4, 3, 64, generator=g)
    probs, h = sess.run(None, {"x": x.numpy(), "lengths": lengths.numpy(), "h0": h0.numpy()})
    with torch.no_grad():
        out, h_ref = model.run(x, lengths, h0)
    np.testing.assert_allclose(probs, torch.softmax(out, -1).numpy(), atol=1e-4, rtol=0)
    np.testing.assert_allclose(h, h_ref.numpy(), atol=1e-4, rtol=0)


def test_export_refuses_a_folder_that_holds_files_and_unknown_formats(tmp_path):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x.txt").write_text("mine")
    cfg = Path(__file__).parent.parent / "examples" / "adding.yaml"
    assert cli("train", cfg, "--out", tmp_path / "a", "--epochs", "1", "--data.train_size", "64",
               "--progress", "false").exit_code == 0
    r = cli("export", tmp_path / "a", "--out", tmp_path / "busy")
    assert r.exit_code == 2 and "is not empty" in r.output and (tmp_path / "busy" / "x.txt").read_text() == "mine"
    r = cli("export", tmp_path / "a", "--format", "tflite", "--out", tmp_path / "t")
    assert r.exit_code == 2 and "the only export format is 'onnx'" in r.output
