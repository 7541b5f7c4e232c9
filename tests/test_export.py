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


@pytest.mark.parametrize("head, freqs", [("quantile", ("MS", "MS", "QS")), ("gaussian", ("MS", "MS"))],
                         ids=["quantile", "gaussian"])
def test_a_forecast_run_exports_its_ensembles_and_onnxruntime_forecasts_as_rnnkit_does(head, freqs, tmp_path):
    """One graph per group (monthly and quarterly series; the Gaussian head's run only the monthly group — every
    graph costs the exporter tens of seconds), each the group's 3 members (lookbacks 1, 2, 3 × h, log values, calendar
    features): run in onnxruntime on the windows at each series' end, the ensemble's median quantiles equal
    ``Forecaster.rnn_quantiles`` — the Python forecast — within 1e-4 (relative)."""
    import pandas as pd

    from rnnkit.data.windows import SeriesWindows, forecast_cuts
    from rnnkit.tasks.forecast import ForecastOptions, train_forecaster
    from rnnkit.tasks.forecaster import Forecaster

    rows = []
    for k, (freq, n) in enumerate(zip(freqs, (60, 50, 40))):
        stamps = pd.date_range("2010-01-01", periods=n, freq=freq)
        t = np.arange(n)
        rows += [{"id": f"s{k}", "timestamp": str(d.date()), "value": float(v)}
                 for d, v in zip(stamps, 100 + 2 * k + 0.5 * t + 8 * np.sin(2 * np.pi * t / (12 if k < 2 else 4)))]
    pd.DataFrame(rows).to_csv(tmp_path / "panel.csv", index=False)
    run = tmp_path / "run"
    train_forecaster(ForecastOptions(data=str(tmp_path / "panel.csv"), head=head, lookback="1,2,3", ensemble=3,
                                     hidden_size=8, max_steps=3, combine="none", progress=False, checkpoint_every=0),
                     run)
    out = tmp_path / "onnx"
    result = cli("export", run, "--format", "onnx", "--out", out)
    assert result.exit_code == 0, result.output
    f = Forecaster(run)
    series = f.history()
    manifest = json.loads((out / "manifest.json").read_text())
    assert sorted(manifest["graphs"]) == ["forecast_period12", "forecast_period4"][:len(set(freqs))]
    for key, group in f.groups.items():
        sess, _ = session(out, f"forecast_{key}")
        notes = manifest["graphs"][f"forecast_{key}"]
        part = [s for s in series if s.id in group["ids"]]
        windows = SeriesWindows(part, notes["lookback"], notes["horizon"], f.features, forecast_cuts(part))
        x, mask, freq, feats = windows.batch_of(range(len(windows)))[:4]
        got = sess.run(["quantiles"], {"x": x.numpy(), "mask": mask.numpy(), "freq": freq.numpy(),
                                       "feats": feats.numpy()})[0]
        expected = f.rnn_quantiles(part, [notes["horizon"]] * len(part), notes["levels"])
        np.testing.assert_allclose(got, np.stack(expected), rtol=1e-4, atol=1e-4)
        h = notes["horizon"]
        assert notes["members_lookback"] == [h, 2 * h, 3 * h] and notes["lookback"] == 3 * h  # each reads its own tail


def test_a_forecast_run_with_the_autoregressive_decoder_is_refused_with_a_message(tmp_path):
    # its forecast samples paths (random draws fed back): not a graph of plain tensors; the message says what exports
    from rnnkit.tasks.forecast import ForecastOptions, train_forecaster

    data = tmp_path / "s.csv"
    data.write_text("id,timestamp,value\n" + "".join(f"a,{2000 + k}-01-01,{10 + k % 3}\n" for k in range(30)))
    run = tmp_path / "run"
    train_forecaster(ForecastOptions(data=str(data), decoder="autoregressive", hidden_size=4, max_steps=1,
                                     combine="none", progress=False, checkpoint_every=0), run)
    result = cli("export", run, "--format", "onnx", "--out", tmp_path / "onnx")
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "autoregressive decoder" in result.output and "direct decoder" in result.output


@pytest.mark.parametrize("variant", [dict(decoder_cell="lstm", attention="general", input_feeding=True),
                                     dict(decoder_cell="gru", attention="none", bidirectional=False)])
def test_a_translation_run_exports_encode_and_step_and_onnxruntime_translates_as_rnnkit_does(variant, tmp_path):
    """``encode`` once, then ``step`` per token with the state fed back, greedy (pad and bos never chosen, eos or
    a·|x| + b ends): onnxruntime's translations of sentences it never saw equal ``Translator.translate(beam=1)``."""
    import random

    from rnnkit.tasks.translate import TranslateOptions, train_translator
    from rnnkit.tasks.translator import Translator

    words = {"one": "uno", "two": "dos", "red": "rojo", "dog": "perro", "cat": "gato", "sees": "ve", "big": "grande"}
    rng = random.Random(0)
    rows = []
    for _ in range(300):
        en = [rng.choice(list(words)) for _ in range(rng.randint(2, 5))]
        rows.append(f"{' '.join(en)}\t{' '.join(words[w] for w in reversed(en))}\n")
    (tmp_path / "pairs.tsv").write_text("en\tes\n" + "".join(rows), encoding="utf-8")
    run = tmp_path / "run"
    train_translator(TranslateOptions(data=str(tmp_path / "pairs.tsv"), src_col="en", tgt_col="es", tokenizer="word",
                                      min_freq=1, embedding_dim=16, hidden_size=32, dropout=0.0, batch_size=32,
                                      max_steps=40, epochs=100, bleu_sentences=5, progress=False, **variant), run)
    out = tmp_path / "onnx"
    result = cli("export", run, "--format", "onnx", "--out", out)
    assert result.exit_code == 0, result.output
    encode, manifest = session(out, "encode")
    step, _ = session(out, "step")
    assert {"tokenizer_source", "tokenizer_target"} <= set(manifest["files"])
    t = Translator(run)
    names_in = [i.name for i in step.get_inputs()]
    names_out = [o.name for o in step.get_outputs()]
    notes = manifest["graphs"]["step"]
    texts = ["the big dog sees one cat", "two red cats", "one dog"]
    expected = [r[0]["text"] for r in t.translate(texts, beam=1)]
    for text, want in zip(texts, expected):
        ids = t.encode_source(text)
        enc = dict(zip([o.name for o in encode.get_outputs()],
                       encode.run(None, {"src": np.array([ids], dtype=np.int64),
                                         "lengths": np.array([len(ids)], dtype=np.int64)})))
        feed = {n: enc[n] for n in ("memory", "mask", "keys") if n in names_in}
        state = {n: enc[n[:-1]] for n in names_in if n.endswith("0")}
        token, got = notes["bos"], []
        limit = int(np.floor(len(ids) * 1.5 + 10))
        for k in range(limit):
            outs = dict(zip(names_out, step.run(None, {"token": np.array([token], dtype=np.int64), **feed, **state})))
            logp = outs["log_probs"][0].copy()
            logp[[notes["pad"], notes["bos"]]] = -np.inf
            if k + 1 >= limit:
                logp[np.arange(len(logp)) != notes["eos"]] = -np.inf
            token = int(logp.argmax())
            if token == notes["eos"]:
                break
            got.append(token)
            state = {n: outs[n[:-1]] for n in state}
        assert t.target_tokenizer.decode(got) == want
        # the manifest's shapes are the ones onnxruntime returns: 'batch' 1 and 'time' the source's length (not the
        # export example's 5 — the mask and the attention weights were listed as (batch, 5))
        for graph, outs in (("encode", enc), ("step", dict(zip(names_out, step.run(None, {
                "token": np.array([token], dtype=np.int64), **feed, **state}))))):
            for o in manifest["graphs"][graph]["outputs"]:
                size = {"batch": 1, "time": len(ids)}
                assert list(outs[o["name"]].shape) == [size.get(d, d) for d in o["shape"]], (graph, o)


@pytest.mark.parametrize("variant", [dict(subsample=2), dict(subsample=1, bidirectional=False, cell="lstm")])
def test_a_speech_run_exports_its_posteriors_and_greedy_ctc_over_them_transcribes_as_rnnkit_does(variant, tmp_path):
    """``posteriors``: the run's features of a recording it never saw → onnxruntime's log-probabilities, decoded
    greedily here by hand (best label per frame, repeats merged, blanks dropped), give ``rnnkit transcribe``'s text."""
    import shutil

    import soundfile

    if shutil.which("espeak-ng") is None:
        pytest.skip("Debian's espeak-ng is not installed")
    from rnnkit.data.speech_synth import Utterance, synthesize
    from rnnkit.tasks.speech import ASROptions, train_asr
    from rnnkit.tasks.transcriber import Transcriber

    rows = []
    for i, word in enumerate(("yes", "no", "go left", "up down")):
        soundfile.write(tmp_path / f"{i}.wav", synthesize(Utterance(word, "en-us+m3", 150, 50, 120, 1)), 22050)
        rows.append(json.dumps({"audio": f"{i}.wav", "text": word}) + "\n")
    (tmp_path / "m.jsonl").write_text("".join(rows))
    soundfile.write(tmp_path / "new.wav", synthesize(Utterance("go down", "en-gb+f2", 150, 50, 120, 1)), 22050)
    manifest = str(tmp_path / "m.jsonl")
    run = tmp_path / "asr"
    train_asr(ASROptions(data=manifest, validation=manifest, test=manifest, n_mels=20, hidden_size=16, max_steps=8,
                         epochs=100, batch_size=4, progress=False, **variant), run)
    out = tmp_path / "onnx"
    result = cli("export", run, "--format", "onnx", "--out", out)
    assert result.exit_code == 0, result.output
    sess, manifest_json = session(out, "posteriors")
    notes = manifest_json["graphs"]["posteriors"]
    t = Transcriber(run)
    wave, rate = soundfile.read(tmp_path / "new.wav", dtype="float32")
    from rnnkit.data.audio import resample

    feats, frames = t.featurizer([resample(wave, rate, notes["features"]["sample_rate"])])
    log_probs, n = sess.run(None, {"feats": feats.numpy(), "frames": frames.numpy()})
    best = log_probs[0, :int(n[0])].argmax(-1)
    labels = [int(b) for k, b in enumerate(best) if b != notes["blank"] and (k == 0 or b != best[k - 1])]
    assert "".join(notes["alphabet"][i] for i in labels) == t.transcribe([tmp_path / "new.wav"])[0]["text"]
