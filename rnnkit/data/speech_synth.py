"""A speech corpus synthesised offline with Debian's ``espeak-ng`` and ``flite``: ``rnnkit data synth-speech``.

Each utterance is ``espeak-ng -v ACCENT+VARIANT -s SPEED -p PITCH -a AMPLITUDE -g GAP --stdout TEXT`` (22,050 Hz mono
16-bit), with speed 120–220 words/min, pitch 20–80, amplitude 70–180 and a word gap of 0–30 ms drawn per utterance.
A *voice* is an accent (8 English ones: ``ACCENTS``) with a variant (16: ``VARIANTS``; the MBROLA ``mb-*`` voices are
left out, they need other packages). The 128 voices are dealt to the splits by a fixed shuffle (``voice_splits``), so
**the validation and test voices are never heard in training**: a model is measured on speakers it has not met.

A second speaker family, where Debian's ``flite`` is installed (``flite="auto"``; make installs it): a quarter of each
split's utterances (``FLITE_SHARE``) are spoken by flite voices — CMU ARCTIC's ``awb``, ``rms`` and the diphone
``kal16`` in training, the 8 kHz diphone ``kal`` in validation and ARCTIC's ``slt`` in test — with the speed, pitch
(its mean F0) and amplitude drawn as for espeak. espeak's formant voices alone make a model that does not carry over
to another family. Measured (session 33, ``commands``, 3,000 utterances, 5 minutes of training each, 2-core CPU): a
model trained on espeak alone transcribes the test split's ``slt`` utterances at CER 0.574 / WER 0.904 (espeak's
test voices 0.009 / 0.038); trained on this corpus, 0.337 / 0.627 (espeak's test voices 0.024 / 0.102 — fewer espeak
utterances and a harder mixture in the same minutes). ``flite=False`` gives the espeak-only corpus of before.

Presets: ``commands`` — 1 to 5 words from the ten digits and 20 command words; ``sentences`` — sentences of at most 15
words from a built-in public-domain text (``austen``, or ``shakespeare`` where austen is not available), numbers
spelled out. Transcripts are lower-case letters, apostrophes and single spaces (the CTC alphabet).

The output folder holds ``{train,validation,test}/NNNNNN.wav`` and one NeMo-style JSONL manifest per split
(``{"audio": "train/000001.wav", "text": ..., "duration": seconds, "voice": ..., "speed": ..., "pitch": ...}``; paths
relative to the manifest). Generation runs on every core with a progress bar; the same seed gives the same corpus.
A ``sentences`` corpus also gets ``lm-text.txt``: the whole source text, normalised like the transcripts, **without the
validation and test sentences** — what a character language model for the fused search may learn from
(``rnnkit train lm --data DIR/lm-text.txt --tokenizer char``) without seeing the sentences it is measured on.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from rnnkit.data.audio import ESPEAK_RATE, espeak_samples, resample
from rnnkit.train.checkpoint import atomic_write_text

ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp", "en-gb-x-gbcwmd", "en-029", "en-us-nyc")
VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5", "klatt", "klatt2", "croak",
            "Andy")
DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
COMMANDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go", "forward", "backward", "follow",
            "learn", "open", "close", "start", "turn", "play", "wait")
PRESETS = ("commands", "sentences")
SPLIT_SHARE = {"train": 0.8, "validation": 0.1, "test": 0.1}
FLITE_VOICES = {"train": ("awb", "rms", "kal16"), "validation": ("kal",), "test": ("slt",)}
FLITE_SHARE = 0.25  # of each split's utterances, where flite joins


@dataclass(frozen=True)
class Utterance:
    text: str
    voice: str
    speed: int
    pitch: int
    amplitude: int
    gap: int


def voice_splits() -> dict[str, list[str]]:
    """The 128 accent+variant voices dealt to train (104), validation (12) and test (12) by a fixed shuffle — the
    same for every corpus, whatever its seed, so that no corpus ever trains on another's test voices."""
    voices = [f"{a}+{v}" for a in ACCENTS for v in VARIANTS]
    random.Random(1000).shuffle(voices)
    return {"train": sorted(voices[:104]), "validation": sorted(voices[104:116]), "test": sorted(voices[116:])}


_ONES = DIGITS + ("ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
                  "nineteen")
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")


def spell_number(n: int) -> str:
    """0 … 999,999 in words: 1813 → 'one thousand eight hundred and thirteen'."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return _ONES[n // 100] + " hundred" + ("" if rest == 0 else " and " + spell_number(rest))
    if n < 1_000_000:
        rest = n % 1000
        return (spell_number(n // 1000) + " thousand"
                + ("" if rest == 0 else (" and " if rest < 100 else " ") + spell_number(rest)))
    raise ValueError(f"cannot spell {n}: numbers up to 999,999 only")


def normalize_transcript(text: str) -> str:
    """Lower-case letters, apostrophes and single spaces; numbers spelled out; other characters become spaces."""
    text = re.sub(r"\d+", lambda m: " " + spell_number(int(m.group(0))) + " " if len(m.group(0)) <= 6 else " ", text)
    text = text.lower().replace("’", "'")
    text = re.sub(r"[^a-z' ]+", " ", text)
    text = re.sub(r"(^|\s)'+|'+(\s|$)", " ", text)  # quotes, not apostrophes inside words
    return " ".join(text.split())


def source_sentences() -> list[str]:
    """Every sentence of the ``sentences`` preset's source text, in order, normalised like a transcript."""
    from rnnkit.data.corpora import prepare
    from rnnkit.data.readers import read_text

    try:
        text = read_text(prepare("austen") / "text.txt")
    except (FileNotFoundError, ImportError, ValueError):
        text = read_text(prepare("shakespeare") / "text.txt")
    pieces = (normalize_transcript(p) for p in re.split(r"(?<=[.!?])\s+", " ".join(text.split())))
    return [p for p in pieces if p]


def _sentences(max_words: int = 15) -> list[str]:
    return sorted({t for t in source_sentences() if 3 <= len(t.split()) <= max_words})


def lm_text(held_out: set[str]) -> str:
    """The source text without the ``held_out`` sentences, one line of sentences separated by spaces (the fused
    search starts a transcript as if after a space)."""
    return " ".join(t for t in source_sentences() if t not in held_out) + "\n"


def plan(preset: str, utterances: int, seed: int = 0, flite: bool = False) -> dict[str, list[Utterance]]:
    """What each split will say and with which voice and settings (pure: the same seed, the same plan; with ``flite``
    a ``FLITE_SHARE`` of each split spoken by its flite voices, named ``flite:VOICE``)."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; expected one of {', '.join(PRESETS)}")
    if utterances < 10:
        raise ValueError(f"need at least 10 utterances (one per split and more), got {utterances}")
    rng = random.Random(seed)
    words = DIGITS + COMMANDS
    texts = _sentences() if preset == "sentences" else None
    if texts is not None:
        rng.shuffle(texts)
    voices = voice_splits()
    out, k = {}, 0
    for split, share in SPLIT_SHARE.items():
        n = max(1, round(utterances * share))
        items = []
        for _ in range(n):
            if texts is None:
                text = " ".join(rng.choice(words) for _ in range(rng.randint(1, 5)))
            else:
                text, k = texts[k % len(texts)], k + 1  # each sentence once, in one split only, until they run out
            voice = rng.choice(voices[split])
            if flite and rng.random() < FLITE_SHARE:
                voice = "flite:" + rng.choice(FLITE_VOICES[split])
            items.append(Utterance(text, voice, rng.randint(120, 220), rng.randint(20, 80), rng.randint(70, 180),
                                   rng.randint(0, 3)))
        out[split] = items
    return out


def flite_samples(u: Utterance) -> np.ndarray:
    """``flite -voice VOICE --setf duration_stretch=170/speed --setf int_f0_target_mean=F0 -t TEXT`` at
    ``ESPEAK_RATE`` (the corpus's one rate; resampled from the voice's own), scaled by amplitude / 100 — espeak's
    pitch 20–80 read as a mean F0 of 90–220 Hz."""
    import tempfile

    import soundfile

    voice = u.voice.removeprefix("flite:")
    f0 = 90 + (u.pitch - 20) * 130 / 60
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "u.wav"
        cmd = ["flite", "-voice", voice, "--setf", f"duration_stretch={170 / u.speed:.4f}", "--setf",
               f"int_f0_target_mean={f0:.1f}", "-t", u.text, "-o", str(wav)]
        run = subprocess.run(cmd, capture_output=True, check=False, timeout=60)
        if run.returncode != 0 or not wav.is_file():
            raise RuntimeError(f"flite failed on {u}: {run.stderr.decode(errors='replace').strip()}")
        samples, rate = soundfile.read(wav, dtype="float32")
    return np.clip(resample(samples, rate, ESPEAK_RATE) * (u.amplitude / 100), -1.0, 1.0)


def synthesize(u: Utterance) -> np.ndarray:
    if u.voice.startswith("flite:"):
        return flite_samples(u)
    cmd = ["espeak-ng", "-v", u.voice, "-s", str(u.speed), "-p", str(u.pitch), "-a", str(u.amplitude), "-g",
           str(u.gap), "--stdout", u.text]
    run = subprocess.run(cmd, capture_output=True, check=False, timeout=60)
    if run.returncode != 0:
        raise RuntimeError(f"espeak-ng failed on {u}: {run.stderr.decode(errors='replace').strip()}")
    return espeak_samples(run.stdout)


def synth_speech(out: str | Path, preset: str = "commands", utterances: int = 3000, seed: int = 0,
                 progress: bool = True, workers: int | None = None, flite: bool | str = "auto") -> dict[str, Path]:
    """Write the corpus to ``out``; return each split's manifest path (and, for ``sentences``, ``lm-text``).
    ``flite``: True, False, or "auto" — the flite voices join where flite is installed (a note says when it is not)."""
    import soundfile
    from tqdm import tqdm

    if shutil.which("espeak-ng") is None:
        raise FileNotFoundError("espeak-ng is not installed: 'apt-get install espeak-ng' (make does)")
    if flite not in (True, False, "auto"):
        raise ValueError(f"flite: expected true, false or auto, got {flite!r}")
    if flite is True and shutil.which("flite") is None:
        raise FileNotFoundError("flite is not installed: 'apt-get install flite' (make does), or flite=False")
    if flite == "auto":
        flite = shutil.which("flite") is not None
        if not flite:
            print("note: flite is not installed ('apt-get install flite'): espeak-ng's voices only", file=sys.stderr)
    out = Path(out)
    if any(out.glob("*.jsonl")):
        raise FileExistsError(f"{out} already holds a corpus (manifests); choose another folder (nothing was "
                              "overwritten)")
    jobs = plan(preset, utterances, seed, flite)
    manifests = {}
    bar = tqdm(total=sum(map(len, jobs.values())), desc=f"synthesising {preset}", unit="utt", disable=not progress)
    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:  # each job is an espeak-ng process
        for split, items in jobs.items():
            (out / split).mkdir(parents=True, exist_ok=True)
            rows = []
            for i, (u, samples) in enumerate(zip(items, pool.map(synthesize, items))):
                rel = f"{split}/{i:06d}.wav"
                soundfile.write(out / rel, samples, ESPEAK_RATE, subtype="PCM_16")
                rows.append({"audio": rel, "text": u.text, "duration": round(len(samples) / ESPEAK_RATE, 3),
                             **{k: v for k, v in asdict(u).items() if k != "text"}})
                bar.update(1)
            manifests[split] = out / f"{split}.jsonl"
            atomic_write_text(manifests[split], "".join(json.dumps(r) + "\n" for r in rows))
    bar.close()
    if preset == "sentences":
        held_out = {u.text for split in ("validation", "test") for u in jobs[split]}
        manifests["lm-text"] = out / "lm-text.txt"
        atomic_write_text(manifests["lm-text"], lm_text(held_out))
    return manifests


__all__ = ["synth_speech", "plan", "voice_splits", "spell_number", "normalize_transcript", "ACCENTS", "VARIANTS",
           "PRESETS", "Utterance", "lm_text", "source_sentences", "FLITE_VOICES", "FLITE_SHARE", "flite_samples"]
