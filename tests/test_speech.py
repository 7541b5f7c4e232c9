"""The speech task end to end: a handful of synthesised words learned to zero CER, transcription (greedy, beam,
timestamps, streaming), evaluation against jiwer, and the errors a user meets."""

import csv
import json
import shutil
from pathlib import Path

import jiwer
import numpy as np
import pytest
import soundfile
import torch
from typer.testing import CliRunner

from rnnkit.cli import app
from rnnkit.data.audio import read_audio
from rnnkit.data.features import LogMel, StreamingLogMel
from rnnkit.data.speech import read_manifest
from rnnkit.data.speech_synth import Utterance, synthesize
from rnnkit.models.acoustic import CTCAcousticModel
from rnnkit.tasks import registry
from rnnkit.tasks.registry import WrongTask
from rnnkit.tasks.speech import ASROptions, evaluate_asr, train_asr
from rnnkit.tasks.transcriber import Transcriber, transcribe

WORDS = ("yes", "no", "up down", "go left")


def write_set(folder: Path, voices, name: str) -> Path:
    rows = []
    for v in voices:
        for i, w in enumerate(WORDS):
            audio = f"{name}_{v.replace('+', '_')}_{i}.wav"
            soundfile.write(folder / audio, synthesize(Utterance(w, v, 150, 50, 120, 1)), 22050)
            rows.append({"audio": audio, "text": w})
    (folder / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder / f"{name}.jsonl"


def _train_runs(folder: Path) -> tuple[dict, dict]:
    train = write_set(folder, ("en-us+m3", "en-gb+f2", "en-us+m1"), "train")
    common = dict(data=str(train), validation=str(train), test=str(train), n_mels=40, hidden_size=64,
                  speed_perturb=False, noise=0.0, spec_augment=False, batch_size=12, lr=5e-3, dropout=0.0,
                  scheduler="none", patience=1000, progress=False)
    bi = train_asr(ASROptions(max_steps=150, epochs=1000, **common), folder / "bi")
    uni = train_asr(ASROptions(max_steps=20, epochs=1000, bidirectional=False, normalize="global", **common),
                    folder / "uni")
    return bi, uni


@pytest.fixture(scope="module")
def runs(build_once):
    """Two runs on a handful of synthesised words, trained once for all the test workers."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("Debian's espeak-ng is not installed")
    folder, (bi, uni) = build_once("speech-runs", _train_runs)
    return folder, bi, uni


def test_a_handful_of_words_is_learned_to_zero_cer(runs):
    folder, bi, _ = runs
    assert bi["val_cer"] == 0.0
    files = [folder / f"train_en-us_m3_{i}.wav" for i in range(len(WORDS))]
    assert transcribe(folder / "bi", files) == list(WORDS)
    assert transcribe(folder / "bi", files, beam=8) == list(WORDS)
    assert (folder / "bi" / "curve.png").is_file()


def test_evaluate_reports_jiwers_error_rates(runs):
    folder, _, _ = runs
    m = evaluate_asr(folder / "uni", beam=4)
    recs = read_manifest(folder / "train.jsonl")
    hyps = transcribe(folder / "uni", [r.audio for r in recs])
    refs = [r.text for r in recs]
    assert m["test_cer_greedy"] == pytest.approx(jiwer.cer(refs, hyps))
    assert m["test_wer_greedy"] == pytest.approx(jiwer.wer(refs, hyps))
    assert m["utterances"] == len(recs) and "test_cer_beam4" in m


def test_evaluate_scores_new_recordings_as_jiwer_scores_the_transcripts(runs, tmp_path):
    # `rnnkit evaluate RUN --data cv.tsv`: recordings in any layout training reads (here Common Voice's TSV, clips/
    # beside it) scored as the run's test set — CER and WER as jiwer computes them on the run's own transcripts
    folder, _, _ = runs
    (tmp_path / "clips").mkdir()
    names = ["train_en-gb_f2_1.wav", "train_en-us_m3_3.wav", "train_en-us_m1_2.wav"]
    for n in names:
        shutil.copy(folder / n, tmp_path / "clips" / n)
    texts = ["No", "go left", "up down"]
    (tmp_path / "cv.tsv").write_text("client_id\tpath\tsentence\n" + "".join(f"x\t{n}\t{t}\n" for n, t in
                                                                                 zip(names, texts)), encoding="utf-8")
    hyps, refs = transcribe(folder / "bi", [tmp_path / "clips" / n for n in names]), [t.lower() for t in texts]
    r = CliRunner().invoke(app, ["evaluate", str(folder / "bi"), "--data", str(tmp_path / "cv.tsv"), "--out",
                                 str(tmp_path / "items.csv")])
    assert r.exit_code == 0, r.output
    got = dict(line.split(": ", 1) for line in r.stdout.splitlines())
    items = list(csv.DictReader((tmp_path / "items.csv").open(encoding="utf-8")))
    assert [(i["reference"], i["greedy"]) for i in items] == list(zip(refs, hyps))
    assert [float(i["cer_greedy"]) for i in items] == pytest.approx([jiwer.cer(a, b) for a, b in zip(refs, hyps)])
    assert got["utterances"] == "3" and got["split"] == "test" and got["data"] == str(tmp_path / "cv.tsv")
    assert float(got["test_cer_greedy"]) == pytest.approx(jiwer.cer(refs, hyps), abs=1e-6)
    assert float(got["test_wer_greedy"]) == pytest.approx(jiwer.wer(refs, hyps), abs=1e-6)
    for split, k in (("train", 0), ("validation", 1), ("test", 2)):  # a synth-speech folder: its test split
        (tmp_path / f"{split}.jsonl").write_text(json.dumps({"audio": f"clips/{names[k]}", "text": texts[k]}) + "\n")
    got = registry.evaluate(folder / "bi", tmp_path, beam=1)
    assert got["utterances"] == 1 and got["test_cer_greedy"] == pytest.approx(jiwer.cer(refs[2], hyps[2]))
    (tmp_path / "cv.tsv").write_text("path\tsentence\nmissing.wav\tyes\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["evaluate", str(folder / "bi"), "--data", str(tmp_path / "cv.tsv")])
    assert r.exit_code != 0 and "cv.tsv:2: the audio file" in r.output and "missing.wav" in r.output


def test_streaming_equals_the_whole_file(runs):
    folder, _, _ = runs
    t = Transcriber(folder / "uni")
    audio = read_audio(folder / "train_en-gb_f2_3.wav", 16000)
    whole = t.transcribe_waves([audio])[0]["text"]
    for piece in (1600, 2345, 7000):
        texts = list(t.stream(audio[i:i + piece] for i in range(0, len(audio), piece)))
        assert texts[-1] == whole
    with pytest.raises(ValueError, match="cannot stream"):
        list(Transcriber(folder / "bi").stream([audio]))


def test_streaming_log_mel_equals_the_whole_signal():
    logmel = LogMel(16000, n_mels=40)
    x = torch.randn(16000 * 2 + 123)
    whole, _ = logmel(x[None])
    for piece in (160, 999, 4000, 40000):
        s = StreamingLogMel(logmel)
        got = torch.cat([s.push(x[i:i + piece]) for i in range(0, len(x), piece)] + [s.finish()])
        assert got.shape == whole[0].shape
        assert torch.allclose(got, whole[0], atol=1e-4)


def test_timestamps_cover_the_words_in_order(runs):
    folder, _, _ = runs
    r = Transcriber(folder / "bi").transcribe([folder / "train_en-us_m3_3.wav"], timestamps=True)[0]
    assert [w["word"] for w in r["words"]] == ["go", "left"]
    duration = soundfile.info(folder / "train_en-us_m3_3.wav").duration
    starts = [w["start"] for w in r["words"]]
    assert starts == sorted(starts) and all(0 <= w["start"] < w["end"] <= duration + 0.1 for w in r["words"])


def test_the_command_line(runs, tmp_path):
    folder, _, _ = runs
    f = folder / "train_en-us_m1_2.wav"
    r = CliRunner().invoke(app, ["transcribe", str(folder / "bi"), str(f), "--beam", "4", "--timestamps", "--plot",
                                 str(tmp_path / "p.png")])
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines()[0] == "up down" and (tmp_path / "p.png").stat().st_size > 1000
    r = CliRunner().invoke(app, ["transcribe", str(folder / "uni"), str(f), "--stream"])
    assert r.exit_code == 0 and r.stdout.strip() == transcribe(folder / "uni", [f])[0]
    r = CliRunner().invoke(app, ["predict", str(folder / "bi"), str(f)])
    assert r.exit_code == 0 and r.stdout.strip() == "up down"


def test_bad_input_is_named(tmp_path, runs):
    folder, _, _ = runs
    (tmp_path / "m.jsonl").write_text('{"audio": "nope.wav", "text": "yes"}\n')
    with pytest.raises(FileNotFoundError, match=r"m.jsonl:1: the audio file .*nope.wav does not exist"):
        train_asr(ASROptions(data=str(tmp_path / "m.jsonl"), progress=False), tmp_path / "r")
    shutil.copy(folder / "train_en-us_m1_0.wav", tmp_path / "a.wav")
    (tmp_path / "n.jsonl").write_text('{"audio": "a.wav", "text": "yes"}\n{"audio": "a.wav", "text": "take 2 pills"}\n')
    with pytest.raises(ValueError, match=r"n.jsonl:2: characters outside the alphabet .*'2'"):
        train_asr(ASROptions(data=str(tmp_path / "n.jsonl"), progress=False), tmp_path / "r")
    (tmp_path / "bad.wav").write_text("not audio")
    with pytest.raises(ValueError, match="bad.wav: not readable audio"):
        transcribe(folder / "bi", [tmp_path / "bad.wav"])
    r = CliRunner().invoke(app, ["predict", str(folder / "bi"), str(tmp_path / "bad.wav")])  # the file's bytes
    assert r.exit_code != 0 and "input 1: not audio the model can read (WAV, FLAC, OGG, MP3, M4A/AAC" in r.output
    (tmp_path / "lm").mkdir()
    (tmp_path / "lm" / "config.json").write_text(json.dumps({"task": "translate"}))
    with pytest.raises(WrongTask, match="'translate' run"):
        Transcriber(tmp_path / "lm")
    assert not (tmp_path / "r" / "model.safetensors").exists()


def test_the_acoustic_model_counts_its_frames():
    m = CTCAcousticModel(n_mels=8, vocab_size=5, hidden_size=4, num_layers=1, subsample=3)
    logp, n, _ = m(torch.randn(2, 10, 8), torch.tensor([10, 7]))
    assert logp.shape == (2, 4, 5) and n.tolist() == [4, 3]
    assert torch.allclose(logp.exp().sum(-1), torch.ones(2, 4), atol=1e-5)
    conv = CTCAcousticModel(n_mels=8, vocab_size=5, hidden_size=4, num_layers=1, subsample=4, front_end="conv")
    logp, n, _ = conv(torch.randn(2, 10, 8), torch.tensor([10, 5]))
    assert logp.shape[1] == 3 and n.tolist() == [3, 2]
    with pytest.raises(ValueError, match="power of 2"):
        CTCAcousticModel(subsample=3, front_end="conv")
    assert np.isfinite(m.training_step((torch.randn(2, 10, 8), torch.tensor([10, 7]), torch.tensor([[1, 2], [3, 0]]),
                                         torch.tensor([2, 1])))["loss"].item())


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_the_fused_character_lm_scores_a_prefix_as_the_lm_reads_the_whole_text(cell, tmp_path):
    # the reference: the LM run over " " + prefix in one call, a letter's probability summed over its two cases
    from rnnkit.data.speech import Alphabet
    from rnnkit.decoding.ctc import ctc_prefix_beam_search
    from rnnkit.tasks.lm import LMOptions, LMPredictor, train_language_model
    from rnnkit.tasks.transcriber import CharLMScorer

    fixtures = Path(__file__).parent / "fixtures"
    train_language_model(LMOptions(data=str(fixtures / "tiny_corpus.txt"), cell=cell, num_layers=2, hidden_size=16,
                                   embedding_dim=8, streams=2, bptt=10, max_steps=10, progress=False), tmp_path / "lm")
    alphabet, lm = Alphabet(), LMPredictor(tmp_path / "lm")
    scorer = CharLMScorer(tmp_path / "lm", alphabet)
    prefixes = ["the", "a quick", "it's"]
    states = [scorer.initial() for _ in prefixes]
    for step in range(max(map(len, prefixes))):
        live = [i for i, p in enumerate(prefixes) if step < len(p)]  # prefixes of different lengths, batched
        moved = scorer.advance_batch([states[i] for i in live], [alphabet.index[prefixes[i][step]] for i in live])
        for i, s in zip(live, moved):
            states[i] = s
    stoi = lm.tokenizer.stoi
    for text, state in zip(prefixes, states):
        with torch.no_grad():
            logits, _ = lm.model.eval()(torch.tensor([lm.tokenizer.encode(" " + text)]))
        logp = torch.log_softmax(logits[0, -1].double(), -1)
        for symbol in ("e", "q", " ", "'"):
            ids = [stoi[c] for c in {symbol, symbol.upper()} if c in stoi] or [stoi["<unk>"]]  # unseen: <unk>
            expected = float(torch.logsumexp(logp[ids], 0))
            assert scorer.log_probs(state)[alphabet.index[symbol]] == pytest.approx(expected, abs=1e-5)

    class OneByOne:  # the same scorer without its batched step: the search must find the same hypotheses
        initial, log_probs, advance = scorer.initial, scorer.log_probs, scorer.advance

    rng = np.random.default_rng(0)
    y = np.log(rng.dirichlet(np.full(len(alphabet), 0.3), size=40))
    batched = ctc_prefix_beam_search(y, beam=6, lm=scorer, alpha=0.8, beta=0.5, n_best=3)
    single = ctc_prefix_beam_search(y, beam=6, lm=OneByOne(), alpha=0.8, beta=0.5, n_best=3)
    assert [h.labels for h in batched] == [h.labels for h in single]
    np.testing.assert_allclose([h.score for h in batched], [h.score for h in single], atol=1e-9)
