"""Speech data sets: the user's recordings with their transcripts, in the layouts the field's data sets come in.

Layouts (``read_recordings`` tells them apart; errors name file and line):

* a **NeMo-style JSONL manifest** — one ``{"audio": path, "text": ..., "duration": seconds}`` per line (NeMo's
  ``audio_filepath`` is accepted too), paths relative to the manifest;
* a **CSV/TSV table** with a header: the audio in a column ``path``, ``file_name``, ``audio``, ``audio_filepath`` or
  ``file``, the transcript in ``sentence``, ``transcription``, ``text`` or ``transcript`` — Common Voice's TSVs (the
  clips in ``clips/`` beside them), Hugging Face AudioFolder's ``metadata.csv`` (``file_name``, ``transcription``),
  wav2vec 2.0 fine-tuning CSVs;
* an **LJSpeech-style** ``metadata.csv`` — ``ID|transcript|normalised transcript`` without a header, the audio in
  ``wavs/ID.wav`` (the normalised column, numbers spelled out, where there is one);
* a **Kaldi data folder** — ``wav.scp`` (``UTTERANCE-ID path``) and ``text`` (``UTTERANCE-ID transcript``), as Kaldi,
  ESPnet, WeNet and icefall prepare them (paths relative to the folder or the working directory);
* a **LibriSpeech-style folder** — ``*.trans.txt`` files whose lines are ``UTTERANCE-ID transcript``, the audio
  ``UTTERANCE-ID.flac`` (or ``.wav``) beside them;
* a **folder of recordings with transcripts beside them** — ``clip.wav`` and ``clip.txt`` (or ``clip.lab``, the
  Montreal Forced Aligner's layout), in any sub-folders.

A folder written by ``rnnkit data synth-speech`` (``train.jsonl``, ``validation.jsonl``, ``test.jsonl``) gives its
three splits. Transcripts are normalised by ``rnnkit.data.transcripts.clean_transcript`` (lower case, punctuation and
accents removed); a character still outside the alphabet (a digit, a symbol, another script) is an error naming the
file, line and characters, and so are a missing audio file and an empty transcript. Audio is read (and checked) when it
is first used, by ``rnnkit.data.audio.read_audio``.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

from rnnkit.data.readers import missing_data, read_utf8, table_quoting
from rnnkit.data.transcripts import ALPHABET, BLANK, Alphabet, clean_transcript

AUDIO_COLUMNS = ("audio", "audio_filepath", "path", "file_name", "file")
TEXT_COLUMNS = ("sentence", "transcription", "text", "transcript", "normalized_text")
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".opus", ".mp3", ".m4a", ".aac", ".webm", ".mp4")
LAYOUTS = ("a JSONL manifest, a CSV/TSV table (Common Voice, AudioFolder's metadata.csv), an LJSpeech metadata.csv, a "
           "Kaldi folder (wav.scp + text), a LibriSpeech folder (*.trans.txt) or a folder of recordings with a .txt "
           "transcript beside each")


@dataclass(frozen=True)
class Recording:
    audio: Path
    text: str
    where: str  # "file:line", for error messages


def _recording(base: Path, audio: str, text, where: str) -> Recording:
    cleaned = clean_transcript(text)
    if not cleaned:
        raise ValueError(f"{where}: empty transcript" + (f" (no letters in {str(text)[:80]!r})" if str(text).strip()
                                                         else ""))
    text = cleaned
    path = (base / audio) if not Path(audio).is_absolute() else Path(audio)
    if not path.is_file():
        raise FileNotFoundError(f"{where}: the audio file {path} does not exist")
    return Recording(path, text, where)


def read_manifest(path: str | Path) -> list[Recording]:
    path = Path(path)
    out = []
    for line, raw in enumerate(read_utf8(path).splitlines(), 1):
        if not raw.strip():
            continue
        where = f"{path}:{line}"
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as e:
            raise ValueError(f"{where}: invalid JSON: {e.msg}") from None
        if not isinstance(obj, dict):
            raise ValueError(f"{where}: expected a JSON object with 'audio' and 'text'")
        audio = next((obj[k] for k in AUDIO_COLUMNS if k in obj), None)
        text = next((obj[k] for k in TEXT_COLUMNS if k in obj), None)
        if isinstance(audio, dict) and isinstance(audio.get("path"), str):  # Hugging Face's Audio column
            audio = audio["path"]
        if audio is None or text is None:
            raise ValueError(f"{where}: needs an audio key ({', '.join(AUDIO_COLUMNS)}) and a transcript key "
                             f"({', '.join(TEXT_COLUMNS)}); has {sorted(obj)}")
        out.append(_recording(path.parent, str(audio), text, where))
    if not out:
        raise ValueError(f"{path}: no recordings")
    return out


def read_librispeech(folder: str | Path) -> list[Recording]:
    folder = Path(folder)
    out = []
    for trans in sorted(folder.rglob("*.trans.txt")):
        for line, raw in enumerate(read_utf8(trans).splitlines(), 1):
            if not raw.strip():
                continue
            uid, _, text = raw.strip().partition(" ")
            audio = next((trans.parent / f"{uid}{ext}" for ext in (".flac", ".wav", ".ogg")
                          if (trans.parent / f"{uid}{ext}").is_file()), trans.parent / f"{uid}.flac")
            out.append(_recording(trans.parent, audio.name, text, f"{trans}:{line}"))
    if not out:
        raise ValueError(f"{folder}: no *.trans.txt transcripts found (a LibriSpeech-style folder has them)")
    return out


def _column(header: list[str], names: tuple[str, ...], what: str, where: str) -> str:
    found = next((n for n in names if n in header), None)
    if found is None:
        raise ValueError(f"{where}: no {what} column (one of {', '.join(names)}); the header has {header}")
    return found


def read_table(path: str | Path) -> list[Recording]:
    """A CSV/TSV with a header: the audio path and transcript columns by name (``AUDIO_COLUMNS``, ``TEXT_COLUMNS``);
    paths relative to ``clips/`` beside the file where there is one (Common Voice), else to the file's folder."""
    path = Path(path)
    text = read_utf8(path)
    delimiter = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    first = next(csv.reader(io.StringIO(text.partition("\n")[0]), delimiter=delimiter), [])
    if "|" in text.partition("\n")[0] and not set(first) & set(AUDIO_COLUMNS):
        return read_ljspeech(path)  # ID|transcript|normalised, no header
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter, quoting=table_quoting(text, delimiter))
    header = list(reader.fieldnames or [])
    audio_col = _column(header, AUDIO_COLUMNS, "audio", f"{path}:1")
    text_col = _column(header, TEXT_COLUMNS, "transcript", f"{path}:1")
    base = path.parent / "clips" if (path.parent / "clips").is_dir() else path.parent
    out = [_recording(base, row[audio_col] or "", row[text_col] or "", f"{path}:{reader.line_num}") for row in reader]
    if not out:
        raise ValueError(f"{path}: no recordings")
    return out


read_common_voice = read_table  # Common Voice's TSVs are such tables


def read_ljspeech(path: str | Path) -> list[Recording]:
    """LJSpeech's ``metadata.csv`` (``ID|transcript|normalised transcript``, no header), the audio in ``wavs/``."""
    path = Path(path)
    if path.is_dir():
        path = path / "metadata.csv"
    out = []
    for line, raw in enumerate(read_utf8(path).splitlines(), 1):
        if not raw.strip():
            continue
        fields = raw.split("|")
        if len(fields) < 2:
            raise ValueError(f"{path}:{line}: expected ID|transcript[|normalised transcript], got {raw[:80]!r}")
        uid, text = fields[0].strip(), fields[2] if len(fields) > 2 and fields[2].strip() else fields[1]
        audio = uid if Path(uid).suffix else f"{uid}.wav"
        out.append(_recording(path.parent / "wavs", audio, text, f"{path}:{line}"))
    if not out:
        raise ValueError(f"{path}: no recordings")
    return out


def _keyed_lines(path: Path) -> dict[str, tuple[str, int]]:
    """Kaldi's ``KEY value`` lines → {key: (value, line)}."""
    out = {}
    for line, raw in enumerate(read_utf8(path).splitlines(), 1):
        if raw.strip():
            key, value = (raw.split(maxsplit=1) + [""])[:2]  # a space or a tab after the key
            if key in out:
                raise ValueError(f"{path}:{line}: utterance {key!r} again (first on line {out[key][1]})")
            out[key] = (value.strip(), line)
    return out


def read_kaldi(folder: str | Path) -> list[Recording]:
    """A Kaldi data folder: ``wav.scp`` and ``text``, one utterance per line of ``text``."""
    folder = Path(folder)
    if (folder / "segments").is_file():
        raise ValueError(f"{folder}/segments: utterances cut from longer recordings are not read; give one file per "
                         "utterance (Kaldi's extract-segments, or sox, cuts them)")
    wavs = _keyed_lines(folder / "wav.scp")
    out = []
    for uid, (text, line) in _keyed_lines(folder / "text").items():
        where = f"{folder / 'text'}:{line}"
        if uid not in wavs:
            raise ValueError(f"{where}: utterance {uid!r} is not in {folder / 'wav.scp'}")
        audio, wline = wavs[uid]
        if audio.endswith("|"):
            raise ValueError(f"{folder / 'wav.scp'}:{wline}: {uid!r} is a command ({audio[:60]!r}); rnnkit reads "
                             "audio files (write the command's output to a file)")
        base = folder if (folder / audio).is_file() or not Path(audio).is_file() else Path.cwd()
        out.append(_recording(base, audio, text, where))
    if not out:
        raise ValueError(f"{folder / 'text'}: no transcripts")
    return out


def read_beside(folder: str | Path) -> list[Recording]:
    """Recordings with a transcript beside each (``clip.wav`` + ``clip.txt`` or ``clip.lab``), in any sub-folder."""
    folder = Path(folder)
    out = []
    for audio in sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file()):
        transcript = next((t for t in (audio.with_suffix(".txt"), audio.with_suffix(".lab")) if t.is_file()), None)
        if transcript is None:
            raise ValueError(f"{audio}: no transcript beside it ({audio.with_suffix('.txt').name} or "
                             f"{audio.with_suffix('.lab').name})")
        out.append(_recording(audio.parent, audio.name, read_utf8(transcript), f"{transcript}:1"))
    return out


def read_recordings(data: str | Path) -> list[Recording]:
    """One set of recordings in any of the layouts of the module's docstring, told apart by name and content."""
    data = Path(data)
    if data.is_dir():
        if (data / "metadata.csv").is_file():
            return read_table(data / "metadata.csv")
        if (data / "metadata.jsonl").is_file():
            return read_manifest(data / "metadata.jsonl")
        if (data / "wav.scp").is_file() and (data / "text").is_file():
            return read_kaldi(data)
        if next(data.rglob("*.trans.txt"), None) is not None:
            return read_librispeech(data)
        found = read_beside(data)
        if not found:
            raise ValueError(f"{data}: no recordings found; expected {LAYOUTS}")
        return found
    if not data.exists():
        raise missing_data(data, [], " — speech data is a folder or manifest of recordings; 'rnnkit data synth-speech "
                                     "--preset commands --out DIR' makes one to train on (then --data DIR)")
    if data.suffix.lower() in (".jsonl", ".json", ".ndjson"):
        return read_manifest(data)
    if data.suffix.lower() in (".tsv", ".tab", ".csv"):
        return read_table(data)
    raise ValueError(f"{data}: expected {LAYOUTS}")


def read_splits(data: str | Path) -> dict[str, list[Recording]] | None:
    """The train/validation/test manifests of a folder written by ``rnnkit data synth-speech``, or None."""
    data = Path(data)
    if data.is_dir() and all((data / f"{s}.jsonl").is_file() for s in ("train", "validation", "test")):
        return {s: read_manifest(data / f"{s}.jsonl") for s in ("train", "validation", "test")}
    return None


def check_alphabet(recordings: list[Recording], alphabet: Alphabet) -> None:
    for r in recordings:
        alphabet.encode(r.text, r.where)


__all__ = ["Recording", "Alphabet", "ALPHABET", "BLANK", "read_manifest", "read_table", "read_common_voice",
           "read_ljspeech", "read_kaldi", "read_librispeech", "read_beside", "read_recordings", "read_splits",
           "check_alphabet", "clean_transcript", "AUDIO_SUFFIXES"]
