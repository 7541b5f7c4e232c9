"""A trained text classifier at work (task ``classify``): texts batched and padded, class probabilities, and
``ClassifierPredictor`` — a run folder reloaded (``predict(texts) -> [(label, {label: probability})]``, the JSON API's
``predict_json``, the CLI's formats and the ONNX graph ``export`` writes). Training is ``rnnkit.tasks.classify``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from rnnkit.data.tokenize import PAD
from rnnkit.models.device import to_device_of
from rnnkit.models.text import ClassifierEnsemble, TextClassifier
from rnnkit.tasks.graphs import GraphSpec, random_lengths
from rnnkit.tasks.registry import require
from rnnkit.tasks.runs import load_text_run
from rnnkit.train.sampler import length_batches


def pad_collate(items) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """[(ids, label)] → (ids (B, T) padded with 0, labels (B,), lengths (B,))."""
    lengths = torch.tensor([max(1, len(ids)) for ids, _ in items])
    out = torch.full((len(items), int(lengths.max())), PAD, dtype=torch.long)
    for i, (ids, _) in enumerate(items):
        out[i, :len(ids)] = torch.tensor(ids, dtype=torch.long)
    return out, torch.tensor([y for _, y in items]), lengths


@torch.no_grad()
def classify_ids(model: TextClassifier, ids: list[list[int]], batch_size: int = 256) -> np.ndarray:
    """Class probabilities (N, classes) of token id lists, in their order. Batches are cut from the texts sorted by
    length, so that one long text pads only the batch of the longest ones (not 255 short texts to its length)."""
    model.eval()
    batches = length_batches(ids, batch_size)
    probs = []
    for rows in batches:
        x, _, lengths = pad_collate([(ids[i], 0) for i in rows])
        probs.append(torch.softmax(model(*to_device_of(model, x, lengths)), -1).cpu())
    sorted_probs = torch.cat(probs)
    out = torch.empty_like(sorted_probs)
    out[[i for rows in batches for i in rows]] = sorted_probs  # back in the input order
    return out.numpy()


def build_classifier(mc: dict):
    kind = mc.pop("class", None)
    if kind == "TextClassifier":
        return TextClassifier(**mc)
    if kind == "ClassifierEnsemble":
        return ClassifierEnsemble(mc["members"])
    raise ValueError(f"not a text classifier: {kind!r}")


MAX_TEXT_CHARS = 20000


class ClassifierPredictor:
    """A reloaded classifier run: ``predict(texts) -> [(label, {label: probability})]``."""

    task = "classify"

    def __init__(self, run_dir: str | Path) -> None:
        require(run_dir, "classify", verb="classifying text")
        self.run_dir = Path(run_dir)
        self.model, self.tokenizer, self.config = load_text_run(run_dir, build_classifier)
        self.labels = self.model.config["labels"]

    def predict(self, texts: list[str]) -> list[tuple[str, dict[str, float]]]:
        if not texts or any(not t.strip() for t in texts):
            raise ValueError("nothing to classify: give non-empty texts")
        probs = classify_ids(self.model, [self.tokenizer.encode(t) or [1] for t in texts])
        return [(self.labels[int(p.argmax())], {lab: float(q) for lab, q in zip(self.labels, p)}) for p in probs]

    def info(self) -> dict:
        return {"input": "a text", "output": "its label and every label's probability", "labels": self.labels,
                "streaming": False, "options": {}}

    def predict_json(self, inputs: list, options: dict | None = None) -> list[dict]:
        if options:
            raise ValueError(f"a classifier takes no options, got {sorted(options)}")
        for t in inputs:
            if not isinstance(t, str) or not t.strip():
                raise ValueError(f"each input must be a non-empty text, got {t!r:.80}")
            if len(t) > MAX_TEXT_CHARS:
                raise ValueError(f"a text is {len(t)} characters; the limit is {MAX_TEXT_CHARS}")
        return [{"label": label, "probabilities": probs} for label, probs in self.predict(list(inputs))]

    @staticmethod
    def parse_cli(text: str) -> str:
        return text

    @staticmethod
    def format_cli(text: str, result: dict) -> str:
        probs = " ".join(f"{k}={v:.3f}" for k, v in result["probabilities"].items())
        return f"{result['label']}\t{probs}\t{text[:80]}"

    def graphs(self) -> list[GraphSpec]:
        """``classify``: token ids (B, T) padded with 0 and each text's length (B,) → class probabilities (B, C), in
        the order of the manifest's labels."""
        V = self.model.config["vocab_size"]

        def sample(batch, steps, g):
            lengths = random_lengths(batch, steps, g)
            ids = torch.randint(4, V, (batch, steps), generator=g)
            return ids.masked_fill(torch.arange(steps)[None, :] >= lengths[:, None], PAD), lengths

        return [GraphSpec("classify", _Probabilities(self.model), ["ids", "lengths"], ["probabilities"],
                          {"ids": {0: "batch", 1: "time"}, "lengths": {0: "batch"}}, sample,
                          "a padded batch of texts → class probabilities", {"labels": self.labels})]


class _Probabilities(nn.Module):
    def __init__(self, model) -> None:
        super().__init__()
        self.model = model

    def forward(self, ids, lengths):
        return torch.softmax(self.model(ids, lengths), -1)


def predict(run_dir: str | Path, texts: list[str]) -> list[tuple[str, dict[str, float]]]:
    return ClassifierPredictor(run_dir).predict(texts)


__all__ = ["ClassifierPredictor", "build_classifier", "classify_ids", "pad_collate", "predict", "MAX_TEXT_CHARS"]
