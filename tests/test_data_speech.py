"""Speech data sets in the field's layouts, and transcripts normalised as the speech toolkits' English recipes do.

Each layout is written here as its data set ships it (Common Voice's TSV and clips/, LJSpeech's metadata.csv and wavs/,
Hugging Face AudioFolder's metadata.csv/jsonl, a Kaldi data folder, LibriSpeech's *.trans.txt, MFA's .lab files), and
read back as the (audio file, transcript) pairs the data set means."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile

from rnnkit.data.speech import read_recordings
from rnnkit.data.transcripts import Alphabet, clean_transcript


def tone(path: Path, seconds: float = 0.2) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, (0.1 * np.sin(np.arange(int(16000 * seconds)) / 5)).astype(np.float32), 16000)
    return path


def pairs(recordings) -> list[tuple[str, str]]:
    return [(r.audio.name, r.text) for r in recordings]


@pytest.mark.parametrize("written, spoken", [
    # LJSpeech's LJ001-0001 (its normalised column), punctuation that is not spoken
    ("Printing, in the only sense with which we are at present concerned, differs from most if not from all the arts",
     "printing in the only sense with which we are at present concerned differs from most if not from all the arts"),
    # LibriSpeech's transcripts are upper case without punctuation; apostrophes inside words are spoken
    ("HE HOPED THERE WOULD BE STEW FOR DINNER TURNIPS AND CARROTS", "he hoped there would be stew for dinner turnips "
                                                                   "and carrots"),
    ("I DON'T KNOW WHAT O'CLOCK IT IS", "i don't know what o'clock it is"),
    # Common Voice-style sentences: curly quotes and apostrophes, dashes and hyphens, accents
    ("“Don’t,” she said — “it’s well-known.”", "don't she said it's well known"),
    ("The café’s naïve façade; déjà vu!", "the cafe's naive facade deja vu"),
    ("Encyclopædia of Łódź, Straße and Zoë", "encyclopaedia of lodz strasse and zoe"),
    ("'Quoted' words and the dogs' bones...", "quoted words and the dogs bones"),
    ("  Spaces\tand\nnew lines  ", "spaces and new lines"),
])
def test_written_transcripts_become_what_is_spoken(written, spoken):
    assert clean_transcript(written) == spoken
    Alphabet().encode(spoken)  # all of it in the CTC alphabet


def test_what_is_spoken_but_not_written_in_letters_is_named_by_the_alphabet_check():
    # digits and symbols carry words the data's owner must spell out; clean_transcript keeps them so the check names them
    for written, bad in (("Take 2 pills", "'2'"), ("50% off & more", "'%&05'"), ("Привет", "'веипрт'")):
        with pytest.raises(ValueError, match=f"f.tsv:3: characters outside the alphabet .*{bad}"):
            Alphabet().encode(clean_transcript(written), "f.tsv:3")


def test_common_voice_tsv_reads_clips_beside_it(tmp_path):
    for n in ("a.mp3", "b.mp3"):
        tone(tmp_path / "clips" / n.replace(".mp3", ".wav")).rename(tmp_path / "clips" / n)
    (tmp_path / "train.tsv").write_text("client_id\tpath\tsentence\tup_votes\n"
                                        "c1\ta.mp3\tHello, world!\t2\nc2\tb.mp3\t\"Quoted\" – ok.\t3\n", encoding="utf-8")
    assert pairs(read_recordings(tmp_path / "train.tsv")) == [("a.mp3", "hello world"), ("b.mp3", "quoted ok")]


def test_ljspeech_metadata_and_wavs(tmp_path):
    for uid in ("LJ001-0001", "LJ001-0002"):
        tone(tmp_path / "wavs" / f"{uid}.wav")
    (tmp_path / "metadata.csv").write_text(
        "LJ001-0001|Printing, in 1470, began.|Printing, in fourteen seventy, began.\n"
        "LJ001-0002|in being comparatively modern.|in being comparatively modern.\n", encoding="utf-8")
    want = [("LJ001-0001.wav", "printing in fourteen seventy began"),
            ("LJ001-0002.wav", "in being comparatively modern")]  # the normalised column: numbers spelled out
    assert pairs(read_recordings(tmp_path)) == want
    assert pairs(read_recordings(tmp_path / "metadata.csv")) == want


def test_a_hugging_face_audio_column_gives_its_path(tmp_path):
    tone(tmp_path / "clips" / "a.wav")
    # datasets' to_json of an Audio(decode=False) column: {"bytes": null, "path": ...}
    (tmp_path / "train.jsonl").write_text('{"audio": {"bytes": null, "path": "clips/a.wav"}, "sentence": "Hi there."}\n')
    assert pairs(read_recordings(tmp_path / "train.jsonl")) == [("a.wav", "hi there")]


def test_audiofolder_metadata_csv_and_jsonl(tmp_path):
    tone(tmp_path / "data" / "first.wav")
    tone(tmp_path / "data" / "sub" / "second.flac")
    (tmp_path / "data" / "metadata.csv").write_text(
        'file_name,transcription\nfirst.wav,"Yes, please."\nsub/second.flac,No thanks\n', encoding="utf-8")
    assert pairs(read_recordings(tmp_path / "data")) == [("first.wav", "yes please"), ("second.flac", "no thanks")]
    (tmp_path / "data" / "metadata.csv").unlink()
    (tmp_path / "data" / "metadata.jsonl").write_text(
        json.dumps({"file_name": "first.wav", "transcription": "Yes."}) + "\n", encoding="utf-8")
    assert pairs(read_recordings(tmp_path / "data")) == [("first.wav", "yes")]


def test_kaldi_data_folder(tmp_path):
    tone(tmp_path / "audio" / "u1.wav")
    tone(tmp_path / "audio" / "u2.flac")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "wav.scp").write_text(f"spk1-u1 {tmp_path / 'audio' / 'u1.wav'}\nspk1-u2 ../audio/u2.flac\n")
    (tmp_path / "data" / "text").write_text("spk1-u2 GOOD MORNING\nspk1-u1\tHELLO THERE\n")
    assert pairs(read_recordings(tmp_path / "data")) == [("u2.flac", "good morning"), ("u1.wav", "hello there")]
    (tmp_path / "data" / "text").write_text("spk1-u1 HELLO\nspk1-u9 MISSING\n")
    with pytest.raises(ValueError, match=r"data/text:2: utterance 'spk1-u9' is not in .*wav.scp"):
        read_recordings(tmp_path / "data")
    (tmp_path / "data" / "wav.scp").write_text("spk1-u1 sox in.sph -t wav - |\n")
    with pytest.raises(ValueError, match=r"wav.scp:1: 'spk1-u1' is a command"):
        read_recordings(tmp_path / "data")


def test_librispeech_folder(tmp_path):
    chapter = tmp_path / "train-clean" / "19" / "198"
    tone(chapter / "19-198-0000.flac")
    tone(chapter / "19-198-0001.flac")
    (chapter / "19-198.trans.txt").write_text("19-198-0000 NORTHANGER ABBEY\n19-198-0001 THIS LITTLE WORK\n")
    assert pairs(read_recordings(tmp_path)) == [("19-198-0000.flac", "northanger abbey"),
                                                ("19-198-0001.flac", "this little work")]


def test_recordings_with_a_transcript_beside_each(tmp_path):
    tone(tmp_path / "spk1" / "a.wav")
    (tmp_path / "spk1" / "a.txt").write_text("Turn left.\n")
    tone(tmp_path / "spk2" / "b.flac")
    (tmp_path / "spk2" / "b.lab").write_text("turn RIGHT")  # the Montreal Forced Aligner's .lab
    assert pairs(read_recordings(tmp_path)) == [("a.wav", "turn left"), ("b.flac", "turn right")]
    tone(tmp_path / "spk2" / "c.wav")
    with pytest.raises(ValueError, match=r"c.wav: no transcript beside it \(c.txt or c.lab\)"):
        read_recordings(tmp_path)


def test_what_no_layout_explains_is_named(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no recordings found; expected a JSONL manifest, a CSV/TSV table"):
        read_recordings(tmp_path / "empty")
    (tmp_path / "t.csv").write_text("name,words\nx.wav,hello\n")
    with pytest.raises(ValueError, match=r"t.csv:1: no audio column \(one of audio, .*\); the header has \['name'"):
        read_recordings(tmp_path / "t.csv")
    tone(tmp_path / "x.wav")
    (tmp_path / "p.tsv").write_text("path\tsentence\nx.wav\t...\n")
    with pytest.raises(ValueError, match=r"p.tsv:2: empty transcript \(no letters in '...'\)"):
        read_recordings(tmp_path / "p.tsv")
