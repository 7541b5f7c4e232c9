"""The synthesised speech corpus: its plan (voices disjoint across splits, deterministic), number spelling and
transcript rules, and — where espeak-ng is installed — the files and manifests it writes."""

import json
import shutil

import pytest
import soundfile
from typer.testing import CliRunner

from rnnkit.cli import app
from rnnkit.data.speech_synth import ACCENTS, VARIANTS, normalize_transcript, plan, spell_number, voice_splits


def test_test_and_validation_voices_are_never_heard_in_training():
    splits = voice_splits()
    assert sum(map(len, splits.values())) == len(ACCENTS) * len(VARIANTS) == 128
    train, val, test = (set(splits[k]) for k in ("train", "validation", "test"))
    assert not (train & test) and not (train & val) and not (val & test)
    p = plan("commands", 200, seed=3)
    for split, items in p.items():
        assert {u.voice for u in items} <= set(splits[split])
    assert p == plan("commands", 200, seed=3) and p != plan("commands", 200, seed=4)
    assert [len(p[k]) for k in ("train", "validation", "test")] == [160, 20, 20]


def test_numbers_and_transcripts():
    assert spell_number(0) == "zero" and spell_number(15) == "fifteen" and spell_number(40) == "forty"
    assert spell_number(1813) == "one thousand eight hundred and thirteen"
    assert spell_number(2005) == "two thousand and five" and spell_number(999) == "nine hundred and ninety nine"
    assert normalize_transcript("“It is 21 o’clock,” she said—'twas late!") == "it is twenty one o'clock she said twas late"
    with pytest.raises(ValueError, match="preset"):
        plan("digits", 100)


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="Debian's espeak-ng is not installed")
def test_a_small_corpus_is_written_with_manifests(tmp_path):
    r = CliRunner().invoke(app, ["data", "synth-speech", "--out", str(tmp_path / "c"), "--utterances", "10",
                                 "--seed", "1"])
    assert r.exit_code == 0, r.output
    rows = [json.loads(line) for line in (tmp_path / "c" / "train.jsonl").read_text().splitlines()]
    assert len(rows) == 8
    for row in rows:
        info = soundfile.info(tmp_path / "c" / row["audio"])
        assert info.samplerate == 22050 and info.channels == 1
        assert row["duration"] == pytest.approx(info.frames / 22050, abs=1e-3) and row["duration"] > 0.2
        assert set(row["text"].split()) <= set(
            "zero one two three four five six seven eight nine yes no up down left right on off stop go forward "
            "backward follow learn open close start turn play wait".split())
    again = CliRunner().invoke(app, ["data", "synth-speech", "--out", str(tmp_path / "c"), "--utterances", "10"])
    assert again.exit_code == 2 and "already holds a corpus" in again.output


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="Debian's espeak-ng is not installed")
def test_a_sentences_corpus_comes_with_lm_text_that_leaves_out_its_held_out_sentences(tmp_path):
    from rnnkit.data.speech_synth import source_sentences, synth_speech

    paths = synth_speech(tmp_path / "c", "sentences", 10, seed=2, progress=False)
    text = paths["lm-text"].read_text()
    said = {split: [json.loads(line)["text"] for line in paths[split].read_text().splitlines()]
            for split in ("train", "validation", "test")}
    held_out = set(said["validation"] + said["test"])
    assert all(f" {s} " in f" {text} " for s in said["train"])  # the training sentences stay in
    # the source's sentences, each held-out one removed wherever it occurs, and nothing else
    kept = [s for s in source_sentences() if s not in held_out]
    assert len(text.split()) == sum(len(s.split()) for s in kept) < sum(len(s.split()) for s in source_sentences())


def test_flite_voices_are_a_quarter_of_each_split_and_never_cross_splits():
    from rnnkit.data.speech_synth import FLITE_VOICES

    assert not set(FLITE_VOICES["train"]) & (set(FLITE_VOICES["validation"]) | set(FLITE_VOICES["test"]))
    p = plan("commands", 4000, seed=5, flite=True)
    espeak = voice_splits()
    for split, items in p.items():
        voices = [u.voice for u in items]
        fl = [v.removeprefix("flite:") for v in voices if v.startswith("flite:")]
        assert set(fl) == set(FLITE_VOICES[split])
        assert {v for v in voices if not v.startswith("flite:")} <= set(espeak[split])
        assert abs(len(fl) / len(voices) - 0.25) < (0.04 if split == "train" else 0.1)
    assert p == plan("commands", 4000, seed=5, flite=True)
    assert plan("commands", 200, seed=3) == plan("commands", 200, seed=3, flite=False)  # espeak-only corpora unchanged


@pytest.mark.skipif(shutil.which("flite") is None, reason="Debian's flite is not installed")
def test_flite_utterances_follow_their_speed_and_pitch():
    # the speed stretches the duration as espeak's words per minute do, and the pitch sets the mean F0 that
    # librosa's YIN finds in the audio (espeak's 20–80 read as 90–220 Hz)
    import librosa
    import numpy as np

    from rnnkit.data.speech_synth import Utterance, flite_samples

    slow, fast = (flite_samples(Utterance("open the door and go left", "flite:rms", s, 50, 100, 0)) for s in (120, 220))
    assert len(fast) / len(slow) == pytest.approx(120 / 220, rel=0.15)
    for pitch, hz in ((20, 90), (80, 220)):
        x = flite_samples(Utterance("one two three four five", "flite:slt", 170, pitch, 100, 0))
        f0 = librosa.yin(x.astype(np.float64), fmin=60, fmax=400, sr=22050)
        voiced = f0[(f0 > 60) & (f0 < 400)]
        assert np.median(voiced) == pytest.approx(hz, rel=0.25), pitch
    loud = flite_samples(Utterance("yes", "flite:awb", 170, 50, 150, 0))
    quiet = flite_samples(Utterance("yes", "flite:awb", 170, 50, 75, 0))
    assert np.abs(loud).max() == pytest.approx(2 * np.abs(quiet).max(), rel=0.02) or np.abs(loud).max() == 1.0


@pytest.mark.skipif(shutil.which("espeak-ng") is None or shutil.which("flite") is None,
                    reason="Debian's espeak-ng and flite are needed")
def test_a_corpus_with_flite_voices_is_written_at_one_rate(tmp_path):
    from rnnkit.data.speech_synth import FLITE_VOICES

    r = CliRunner().invoke(app, ["data", "synth-speech", "--out", str(tmp_path / "c"), "--utterances", "60",
                                 "--seed", "2", "--flite", "true"])
    assert r.exit_code == 0, r.output
    seen = set()
    for split in ("train", "validation", "test"):
        for row in map(json.loads, (tmp_path / "c" / f"{split}.jsonl").read_text().splitlines()):
            assert soundfile.info(tmp_path / "c" / row["audio"]).samplerate == 22050
            if row["voice"].startswith("flite:"):
                assert row["voice"].removeprefix("flite:") in FLITE_VOICES[split]
                seen.add(split)
    assert "train" in seen
