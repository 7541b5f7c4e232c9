"""A trained translator (task ``translate``): sentences in, sentences out, with greedy or beam search.

``Translator(run_dir).translate(texts, beam=5, n_best=1, ...)`` decodes a batch of sentences at once (sorted by length,
``batch_size`` at a time) and returns per sentence its ``n_best`` translations — detokenized text, score, the output
tokens and the attention weights over the source tokens. ``scores`` measures BLEU and chrF with sacrebleu on
detokenized text, with sacrebleu's signature.

A source sentence longer than the run's ``max_source_tokens`` (twice the training length limit) is **truncated to that
many tokens, with a warning** naming the sentence: an RNN has no hard input limit, but it was never trained on longer
inputs, and translating a whole paragraph as one sentence gives poor output either way.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import Dataset

from rnnkit.data.tokenize import BOS, EOS, PAD
from rnnkit.decoding import LENGTH_PENALTIES, beam_search, greedy_search
from rnnkit.models.seq2seq import Seq2Seq
from rnnkit.tasks.options import check, option
from rnnkit.tasks.plots import plot_attention
from rnnkit.tasks.registry import require
from rnnkit.tasks.runs import load_run_model, load_tokenizer
from rnnkit.train.checkpoint import CheckpointError
from rnnkit.train.sampler import length_batches

MAX_TEXT_CHARS = 5000


def normalize(text: str, lowercase: bool) -> str:
    """Whitespace collapsed (and lower-cased when the run was trained so): how every text enters a tokenizer."""
    text = " ".join(text.split())
    return text.lower() if lowercase else text


class EncodedPairs(Dataset):
    """Token ids of sentence pairs; item i is ``(source ids, target ids)``; ``lengths()`` lets the sampler bucket."""

    def __init__(self, source: list[list[int]], target: list[list[int]], references: list[str] | None = None) -> None:
        self.source, self.target, self.references = source, target, references

    def __len__(self):
        return len(self.source)

    def __getitem__(self, i):
        return self.source[i], self.target[i]

    def lengths(self) -> list[int]:
        return [len(s) + len(t) for s, t in zip(self.source, self.target)]


def pad_batch(seqs: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Id lists → (ids (B, T) padded with ``<pad>``, lengths (B,))."""
    lengths = torch.tensor([max(1, len(s)) for s in seqs])
    out = torch.full((len(seqs), int(lengths.max())), PAD, dtype=torch.long)
    for i, s in enumerate(seqs):
        out[i, :len(s)] = torch.tensor(s, dtype=torch.long)
    return out, lengths


def collate_pairs(items):
    """[(source ids, target ids)] → (src, src_lengths, tgt_in = <bos> y, tgt_out = y <eos>)."""
    src, src_lengths = pad_batch([s for s, _ in items])
    tgt_in, _ = pad_batch([[BOS] + t for _, t in items])
    tgt_out, _ = pad_batch([t + [EOS] for _, t in items])
    return src, src_lengths, tgt_in, tgt_out


def scores(hypotheses: list[str], references: list[str], lowercase: bool = False) -> dict:
    """Corpus BLEU and chrF (sacrebleu's defaults: 13a tokenization, chrF β = 2) with their signatures."""
    from sacrebleu.metrics import BLEU, CHRF

    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses for {len(references)} references")
    bleu, chrf = BLEU(lowercase=lowercase), CHRF(lowercase=lowercase)
    return {"bleu": bleu.corpus_score(hypotheses, [references]).score,
            "chrf": chrf.corpus_score(hypotheses, [references]).score,
            "bleu_signature": str(bleu.get_signature()), "chrf_signature": str(chrf.get_signature())}


@dataclass
class SearchOptions:
    """How ``translate`` searches (the command line's and the server's options)."""

    beam: int = option(5, "beam size (1: greedy search)", min=1, max=64)
    n_best: int = option(1, "translations per sentence, best first (at most the beam size)", min=1, max=64)
    length_penalty: str = option("wu", "how finished hypotheses are ranked: log p / lp(length)", choices=LENGTH_PENALTIES)
    alpha: float = option(0.6, "the wu length penalty's exponent α", min=0)
    max_len_a: float = option(1.5, "at most a · (source tokens) + b output tokens: a", min=0)
    max_len_b: int = option(10, "... and b", min=0)
    no_repeat_ngram: int = option(0, "forbid any n-gram of this size to repeat in an output (0: off)", min=0)
    batch_size: int = option(64, "sentences decoded together", min=1)

    def __post_init__(self) -> None:
        check(self)
        if self.n_best > self.beam:
            raise ValueError(f"n_best ({self.n_best}) cannot exceed the beam size ({self.beam})")


class Translator:
    """A reloaded translation run."""

    task = "translate"

    def __init__(self, run_dir: str | Path) -> None:
        require(run_dir, "translate", verb="translating")
        self.run_dir = Path(run_dir)
        self.model, self.config = load_run_model(run_dir, lambda mc: Seq2Seq(
            **{k: v for k, v in mc.items() if k != "class"}))
        self.source_tokenizer = load_tokenizer(self.run_dir, self.config, "source_tokenizer")
        self.target_tokenizer = load_tokenizer(self.run_dir, self.config, "target_tokenizer")
        mc = self.config["model"]
        if (len(self.source_tokenizer), len(self.target_tokenizer)) != (mc["src_vocab"], mc["tgt_vocab"]):
            raise CheckpointError(f"{run_dir}: the tokenizers have {len(self.source_tokenizer)} and "
                                  f"{len(self.target_tokenizer)} tokens, the model was built for {mc['src_vocab']} "
                                  f"and {mc['tgt_vocab']}")
        text = self.config.get("text", {})
        self.lowercase, self.max_source_tokens = bool(text.get("lowercase")), int(text.get("max_source_tokens", 200))

    def encode_source(self, text: str, where: str = "") -> list[int]:
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"{where or 'a sentence'}: nothing to translate (empty text)")
        ids = self.source_tokenizer.encode(normalize(text, self.lowercase))
        if len(ids) > self.max_source_tokens:
            warnings.warn(f"{where or 'a sentence'} has {len(ids)} tokens; the model reads at most "
                          f"{self.max_source_tokens} (twice its training limit): truncated to the first "
                          f"{self.max_source_tokens}", stacklevel=3)
            ids = ids[:self.max_source_tokens]
        return ids or [1]

    def pieces(self, tok, ids: list[int]) -> list[str]:
        """Each token as text (a byte-level BPE token that splits a character shows as �)."""
        return [tok.decode([i], skip_specials=False) for i in ids]

    @torch.no_grad()
    def translate(self, texts: list[str], progress: bool = False, **search) -> list[list[dict]]:
        """Per text, its ``n_best`` translations: ``{"text", "score", "log_prob", "tokens", "source_tokens",
        "attention"}`` (attention: one row per output token over the source tokens, or None without attention)."""
        opts = SearchOptions(**search)
        ids = [self.encode_source(t, f"sentence {i + 1}") for i, t in enumerate(texts)]
        results: list[list[dict] | None] = [None] * len(ids)
        from tqdm import tqdm

        bar = tqdm(total=len(ids), desc="translating", unit="sentence", disable=not progress, leave=False)
        for chunk in length_batches(ids, opts.batch_size):
            src, lengths = pad_batch([ids[i] for i in chunk])
            if opts.beam == 1:
                found = [[h] for h in greedy_search(self.model, src, lengths, opts.max_len_a, opts.max_len_b)]
            else:
                found = beam_search(self.model, src, lengths, opts.beam, opts.n_best, opts.length_penalty, opts.alpha,
                                    opts.max_len_a, opts.max_len_b, opts.no_repeat_ngram)
            for i, hyps in zip(chunk, found):
                results[i] = [self._result(ids[i], h) for h in hyps]
            bar.update(len(chunk))
        bar.close()
        return results

    def _result(self, src_ids: list[int], h) -> dict:
        return {"text": self.target_tokenizer.decode(h.tokens), "score": h.score, "log_prob": h.log_prob,
                "tokens": self.pieces(self.target_tokenizer, h.tokens),
                "source_tokens": self.pieces(self.source_tokenizer, src_ids),
                "attention": h.attention.tolist() if h.attention is not None else None}

    def plot_attention(self, text: str, path: str | Path, **search) -> Path:
        """The attention heatmap (source tokens × output tokens) of ``text``'s best translation."""
        best = self.translate([text], **search)[0][0]
        if best["attention"] is None:
            raise ValueError(f"{self.run_dir} was trained without attention (attention = none): there are no weights "
                             "to plot")
        return plot_attention(best["attention"], best["source_tokens"], best["tokens"], Path(path),
                              f"Attention: {text[:60]}{'…' if len(text) > 60 else ''}")

    # --- the JSON interface (CLI predict, server) ---------------------------------------------------------------
    def info(self) -> dict:
        return {"input": "a sentence in the source language", "output": "its translations, best first",
                "streaming": False, "lowercase": self.lowercase,
                "options": {f.name: f.default for f in dataclasses.fields(SearchOptions)}}

    def predict_json(self, inputs: list, options: dict | None = None) -> list[dict]:
        for t in inputs:
            if not isinstance(t, str) or not t.strip():
                raise ValueError(f"each input must be a non-empty sentence, got {t!r:.80}")
            if len(t) > MAX_TEXT_CHARS:
                raise ValueError(f"a sentence is {len(t)} characters; the limit is {MAX_TEXT_CHARS}")
        return [{"translations": r} for r in self.translate(list(inputs), **(options or {}))]

    @staticmethod
    def parse_cli(text: str) -> str:
        return text

    @staticmethod
    def format_cli(text: str, result: dict) -> str:
        return result["translations"][0]["text"]

    def graphs(self) -> list:
        """``encode`` and ``step``: the encoder once, then one decoder step per output token
        (``rnnkit.tasks.translate_graphs``)."""
        from rnnkit.tasks.translate_graphs import translator_graphs

        return translator_graphs(self.model)

    def export_files(self) -> list[str]:
        """The files that travel with the exported graphs: both tokenizers."""
        return [self.config[key].get("file") for key in ("source_tokenizer", "target_tokenizer")]


def translate(run_dir: str | Path, texts: list[str] | str, **search) -> list[str] | str:
    """The best translation of each text (a single text gives a single string)."""
    one = isinstance(texts, str)
    out = [r[0]["text"] for r in Translator(run_dir).translate([texts] if one else list(texts), **search)]
    return out[0] if one else out


__all__ = ["Translator", "SearchOptions", "translate", "scores", "normalize", "EncodedPairs", "collate_pairs",
           "pad_batch"]
