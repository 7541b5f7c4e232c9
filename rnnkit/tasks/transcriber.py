"""A trained speech recogniser (task ``asr``): audio in, text out — greedy or prefix beam search, an optional character
language model fused into the search, word timestamps, streaming, and the posteriors drawn under the spectrogram.

``Featurizer`` is the run's feature pipeline (log-mel, then per-utterance or global normalisation; its statistics are
saved in ``config.json``). ``CharLMScorer`` lets a character language model trained by ``rnnkit train lm`` score
prefixes in ``rnnkit.decoding.ctc_prefix_beam_search``: its state is carried per hypothesis, and a lower-case letter's
probability is the LM's for the letter in either case. Word times come from the frame at which each character is first
emitted (one model step = hop × subsample, 20 ms by default); a word ends one step after its last character.
"""

from __future__ import annotations

import base64
import dataclasses
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from rnnkit.data.audio import READABLE, EmptyAudio, decode_audio, read_audio, resample, to_mono
from rnnkit.data.features import LogMel, StreamingLogMel, normalize
from rnnkit.data.transcripts import Alphabet
from rnnkit.decoding.ctc import ctc_greedy, ctc_prefix_beam_search
from rnnkit.models.acoustic import CTCAcousticModel
from rnnkit.models.device import to_device_of
from rnnkit.tasks.options import check, option
from rnnkit.tasks.registry import require
from rnnkit.tasks.runs import load_run_model
from rnnkit.train.sampler import length_batches


class Featurizer:
    """Waveforms → normalised log-mel features (B, T, F) and frame counts (B,)."""

    def __init__(self, sample_rate: int = 16000, n_mels: int = 80, normalize: str = "utterance",
                 mean: list[float] | None = None, std: list[float] | None = None) -> None:
        self.sample_rate, self.n_mels, self.normalize = sample_rate, n_mels, normalize
        self.logmel = LogMel(sample_rate, n_mels)
        self.mean = torch.tensor(mean) if mean is not None else None
        self.std = torch.tensor(std) if std is not None else None
        if normalize == "global" and (self.mean is None or self.std is None):
            raise ValueError("global normalisation needs the training set's mean and std")

    @classmethod
    def fit(cls, sample_rate: int, n_mels: int, normalize: str, waves: list[np.ndarray]) -> Featurizer:
        if normalize != "global":
            return cls(sample_rate, n_mels, normalize)
        plain = cls(sample_rate, n_mels, "none")
        feats = [plain.raw([w])[0][0] for w in waves[:500]]
        stacked = torch.cat(feats)
        return cls(sample_rate, n_mels, "global", stacked.mean(0).tolist(), stacked.std(0).clamp(min=1e-3).tolist())

    def config(self) -> dict:
        return {"sample_rate": self.sample_rate, "n_mels": self.n_mels, "normalize": self.normalize,
                "mean": self.mean.tolist() if self.mean is not None else None,
                "std": self.std.tolist() if self.std is not None else None,
                "hop_length": self.logmel.hop_length}

    @classmethod
    def from_config(cls, d: dict) -> Featurizer:
        return cls(d["sample_rate"], d["n_mels"], d["normalize"], d.get("mean"), d.get("std"))

    def raw(self, waves: list[np.ndarray], warps: list[float] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        lengths = torch.tensor([len(w) for w in waves])
        batch = torch.zeros(len(waves), int(lengths.max()))
        for i, w in enumerate(waves):
            batch[i, :len(w)] = torch.as_tensor(w)
        return self.logmel(batch, lengths, warps)

    def normalise(self, feats: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        if self.normalize == "utterance":
            return normalize(feats, frames)
        if self.normalize == "global":
            valid = torch.arange(feats.shape[1])[None, :, None] < frames[:, None, None]
            return (feats - self.mean) / self.std * valid
        return feats

    def __call__(self, waves: list[np.ndarray], warps: list[float] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``warps``: a VTLP factor per waveform (training's augmentation), or None."""
        feats, frames = self.raw(waves, warps)
        return self.normalise(feats, frames), frames

    @property
    def step_seconds(self) -> float:
        return self.logmel.hop_length / self.sample_rate


def error_rates(references: list[str], hypotheses: list[str]) -> dict:
    """Corpus character and word error rates (jiwer): edits / reference length, over all utterances."""
    import jiwer

    return {"cer": float(jiwer.cer(references, hypotheses)), "wer": float(jiwer.wer(references, hypotheses))}


@torch.no_grad()
def posteriors(model: CTCAcousticModel, featurizer: Featurizer, waves: list[np.ndarray], batch_size: int = 32
               ) -> list[np.ndarray]:
    """Per waveform, the model's label log-probabilities (T', V) over its valid steps."""
    model.eval()
    out: list[np.ndarray | None] = [None] * len(waves)
    for chunk in length_batches(waves, batch_size):
        feats, frames = featurizer([waves[i] for i in chunk])
        logp, n, _ = model(*to_device_of(model, feats, frames))
        logp, n = logp.cpu(), n.cpu()
        for b, i in enumerate(chunk):
            out[i] = logp[b, :int(n[b])].numpy()
    return out


def greedy_texts(model, featurizer: Featurizer, waves: list[np.ndarray], alphabet: Alphabet) -> list[str]:
    return [alphabet.decode(ctc_greedy(lp)) for lp in posteriors(model, featurizer, waves)]


class CharLMScorer:
    """A character language model run (``rnnkit train lm --tokenizer char``) as a prefix scorer for CTC search."""

    def __init__(self, lm_run: str | Path, alphabet: Alphabet) -> None:
        from rnnkit.tasks.lm import LMPredictor

        p = LMPredictor(lm_run)
        if p.tokenizer.kind != "char":
            raise ValueError(f"{lm_run} is a {p.tokenizer.kind}-token language model; fusing it into CTC search "
                             "needs a character model (rnnkit train lm --tokenizer char)")
        self.model, stoi = p.model.eval(), p.tokenizer.stoi
        unk = stoi.get("<unk>", 1)
        self.ids = []  # per alphabet symbol, the LM token ids whose probabilities it collects
        for s in alphabet.symbols:
            ids = [stoi[c] for c in dict.fromkeys((s, s.upper())) if c in stoi] if s != "<blank>" else []
            self.ids.append(ids or [unk])  # the first (the symbol as written, lower case) is what is fed back
        self.space = stoi.get(" ", unk)
        # symbol × LM token: which tokens' probabilities each symbol collects
        self.groups = torch.zeros(len(self.ids), self.model.config["vocab_size"], dtype=torch.bool)
        for i, ids in enumerate(self.ids):
            self.groups[i, ids] = True

    @torch.no_grad()
    def _feed(self, tokens: list[int], state) -> list:
        """One LM step for a batch of prefixes: per prefix, (log p over the alphabet's symbols, recurrent state)."""
        logits, state = self.model(torch.tensor(tokens)[:, None], state)
        logp = torch.log_softmax(logits[:, -1].float(), -1)  # (N, vocab)
        per_symbol = torch.logsumexp(logp[:, None, :].masked_fill(~self.groups, float("-inf")), -1).numpy()
        return [(per_symbol[i], _index_state(state, i)) for i in range(len(tokens))]

    def initial(self):
        return self._feed([self.space], None)[0]  # a transcript starts as if after a space

    def log_probs(self, state) -> np.ndarray:
        return state[0]

    def advance(self, state, label: int):
        return self.advance_batch([state], [label])[0]

    def advance_batch(self, states: list, labels: list[int]) -> list:
        return self._feed([self.ids[c][0] for c in labels], _stack_states([s[1] for s in states]))


def _index_state(state, i: int):
    """Prefix ``i``'s slice of a batched recurrent state (torch.nn layout: batch on dim 1; LSTMs carry (h, c))."""
    if isinstance(state, (tuple, list)):
        return type(state)(_index_state(s, i) for s in state)
    return state[:, i:i + 1]


def _stack_states(states: list):
    if isinstance(states[0], (tuple, list)):
        return type(states[0])(_stack_states(list(parts)) for parts in zip(*states))
    return torch.cat(states, 1)


@dataclass
class TranscribeOptions:
    beam: int = option(1, "prefix beam width (1: greedy)", min=1, max=256)
    alpha: float = option(0.5, "language-model weight α (with lm)", min=0)
    beta: float = option(1.0, "insertion bonus β per character (with lm)")
    timestamps: bool = option(False, "word start and end times")

    def __post_init__(self) -> None:
        check(self)


class Transcriber:
    """A reloaded speech recognition run."""

    task = "asr"

    def __init__(self, run_dir: str | Path) -> None:
        require(run_dir, "asr", verb="transcribing")
        self.run_dir = Path(run_dir)
        self.model, self.config = load_run_model(run_dir, lambda mc: CTCAcousticModel(
            **{k: v for k, v in mc.items() if k != "class"}))
        self.featurizer = Featurizer.from_config(self.config["features"])
        self.alphabet = Alphabet(tuple(self.config["alphabet"]))

    @property
    def step_seconds(self) -> float:
        return self.featurizer.step_seconds * self.model.subsample

    def _words(self, labels: list[int], frames: list[int]) -> list[dict]:
        words, current = [], None
        for label, f in zip(labels, frames):
            ch = self.alphabet.symbols[label]
            if ch == " ":
                current = None
                continue
            if current is None:
                current = {"word": "", "start": round(f * self.step_seconds, 3)}
                words.append(current)
            current["word"] += ch
            current["end"] = round((f + 1) * self.step_seconds, 3)
        return words

    def decode(self, log_probs: np.ndarray, beam: int = 1, lm: CharLMScorer | None = None, alpha: float = 0.5,
               beta: float = 1.0, timestamps: bool = False) -> dict:
        if beam == 1 and lm is None:
            best = log_probs.argmax(-1)
            labels, frames, prev = [], [], None
            for t, k in enumerate(best.tolist()):
                if k != prev and k != 0:
                    labels.append(k)
                    frames.append(t)
                prev = k
        else:
            h = ctc_prefix_beam_search(log_probs, beam=beam, lm=lm, alpha=alpha, beta=beta)[0]
            labels, frames = h.labels, h.frames
        out = {"text": self.alphabet.decode(labels)}
        if timestamps:
            out["words"] = self._words(labels, frames)
        return out

    def transcribe_waves(self, waves: list[np.ndarray], beam: int = 1, lm: str | Path | CharLMScorer | None = None,
                         alpha: float = 0.5, beta: float = 1.0, timestamps: bool = False) -> list[dict]:
        opts = TranscribeOptions(beam, alpha, beta, timestamps)
        scorer = CharLMScorer(lm, self.alphabet) if isinstance(lm, (str, Path)) else lm
        return [self.decode(lp, opts.beam, scorer, opts.alpha, opts.beta, opts.timestamps)
                for lp in posteriors(self.model, self.featurizer, waves)]

    def transcribe(self, paths: list[str | Path], **kwargs) -> list[dict]:
        return self.transcribe_waves([read_audio(p, self.featurizer.sample_rate) for p in paths], **kwargs)

    def stream(self, chunks, **kwargs):
        """Transcribe audio arriving in pieces (arrays at the model's sample rate), the recurrent state carried:
        yields the text so far after each piece; the last text equals the whole-file transcription."""
        if self.model.bidirectional or self.model.front_end != "stack" or self.featurizer.normalize != "global":
            raise ValueError(f"{self.run_dir} cannot stream: streaming needs a unidirectional model "
                             "(--bidirectional false) with the stack front end and global normalisation "
                             "(--normalize global)")
        logmel, k = StreamingLogMel(self.featurizer.logmel), self.model.subsample
        pending, state, parts = torch.zeros(0, self.featurizer.n_mels), None, []

        def run(frames: torch.Tensor, state):
            feats = self.featurizer.normalise(frames[None], torch.tensor([len(frames)]))
            with torch.no_grad():
                logp, n, state = self.model.eval()(feats, torch.tensor([len(frames)]), state)
            parts.append(logp[0, :int(n[0])].numpy())
            return state

        for chunk in chunks:
            pending = torch.cat([pending, logmel.push(chunk)])
            ready = len(pending) // k * k
            if ready:
                state, pending = run(pending[:ready], state), pending[ready:]
                yield self.decode(np.concatenate(parts), **kwargs)["text"]
        pending = torch.cat([pending, logmel.finish()])
        if len(pending):
            run(pending, state)
        yield self.decode(np.concatenate(parts) if parts else np.zeros((0, len(self.alphabet))), **kwargs)["text"]

    def plot(self, audio: str | Path, path: str | Path) -> Path:
        """The utterance's log-mel spectrogram with the CTC posteriors under it (PNG)."""
        from rnnkit.tasks.plots import plot_ctc

        wave = read_audio(audio, self.featurizer.sample_rate)
        feats, frames = self.featurizer([wave])
        logp = posteriors(self.model, self.featurizer, [wave])[0]
        return plot_ctc(feats[0, :int(frames[0])].numpy(), logp, self.alphabet.symbols, self.step_seconds,
                        self.featurizer.step_seconds, Path(path), self.decode(logp)["text"])

    # --- the JSON interface (CLI predict, server) ---------------------------------------------------------------
    def info(self) -> dict:
        return {"input": "audio (WAV, FLAC, OGG, MP3, M4A, WebM …) as base64", "output": "its transcript", "streaming": False,
                "sample_rate": self.featurizer.sample_rate,
                "options": {f.name: f.default for f in dataclasses.fields(TranscribeOptions)}}

    def predict_json(self, inputs: list, options: dict | None = None) -> list[dict]:
        waves = []
        for i, item in enumerate(inputs):
            try:
                raw = base64.b64decode(item, validate=True)
            except (ValueError, TypeError):
                raise ValueError(f"input {i + 1}: not base64 (a request carries an audio file's bytes "
                                 "base64-encoded)") from None
            try:
                data, rate = decode_audio(io.BytesIO(raw), f"input {i + 1}")
            except EmptyAudio:
                raise
            except Exception:  # noqa: BLE001 - any undecodable input is the client's error
                raise ValueError(f"input {i + 1}: not audio the model can read ({READABLE}; in a request, a "
                                 "file's bytes base64-encoded)") from None
            waves.append(resample(to_mono(data), rate, self.featurizer.sample_rate))
        return self.transcribe_waves(waves, **(options or {}))

    @staticmethod
    def parse_cli(path: str) -> str:
        return base64.b64encode(Path(path).read_bytes()).decode()

    @staticmethod
    def format_cli(path: str, result: dict) -> str:
        return result["text"]

    def graphs(self) -> list:
        """``posteriors``: features → CTC log-probabilities (``rnnkit.tasks.speech_graphs``)."""
        from rnnkit.tasks.speech_graphs import speech_graphs

        return speech_graphs(self.model, self.featurizer.config(), list(self.alphabet.symbols))


def transcribe(run_dir: str | Path, paths: list[str | Path], **kwargs) -> list[str]:
    """The transcript of each audio file (``beam``, ``lm``, ``alpha``, ``beta`` as in ``Transcriber.transcribe``)."""
    return [r["text"] for r in Transcriber(run_dir).transcribe(list(paths), **kwargs)]


__all__ = ["Transcriber", "Featurizer", "CharLMScorer", "TranscribeOptions", "transcribe", "error_rates",
           "posteriors", "greedy_texts"]
