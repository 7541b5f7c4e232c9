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
