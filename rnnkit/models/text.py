"""Text models: a classifier (embedding → recurrent layer → pooling → linear) and a language model.

Classifier regularisation: ``dropout`` on the embeddings and on the pooled vector, and ``word_dropout`` — in training,
each token is replaced by ``<unk>`` with that probability, so the model cannot lean on any single word.

Classifier pooling over the valid steps of each sequence: ``last`` (the last valid step; with a bidirectional layer the
forward half at the last step and the backward half at the first), ``mean``, ``max``, or ``attention`` (a learned
score per step, softmax over valid steps, weighted sum).

Language model: ``p(x_{t+1} | x_{≤t}) = softmax(W_o h_t + b_o)``; with ``tie_weights`` the output matrix is the embedding
matrix (Press & Wolf 2017), which needs ``embedding_dim == hidden_size``. ``generate`` streams tokens one at a time
carrying the recurrent state — the prompt is read once.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.layers import make_layer
from rnnkit.models.vocab_loss import linear_cross_entropy

POOLINGS = ("last", "mean", "max", "attention")
UNK = 1  # rnnkit.data.tokenize: ids 0-3 are <pad>, <unk>, <bos>, <eos>


def checked_regularizers(cell: str, regularizers: dict[str, float] | None) -> dict[str, float]:
    """The recurrent layer's regularisers; the feedback cells take none yet (refused, not ignored)."""
    regularizers = {k: v for k, v in (regularizers or {}).items() if v}
    if regularizers and cell.lower().startswith("feedback"):
        raise ValueError(f"the {cell!r} cell takes no regularisers yet ({', '.join(regularizers)}); use another cell "
                         "or plain dropout")
    return regularizers


class TextClassifier(nn.Module):
    def __init__(self, vocab_size: int, num_classes: int, embedding_dim: int = 128, hidden_size: int = 128,
                 cell: str = "lstm", num_layers: int = 1, bidirectional: bool = True, pooling: str = "max",
                 dropout: float = 0.5, labels: list[str] | None = None, word_dropout: float = 0.0,
                 regularizers: dict[str, float] | None = None) -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {pooling!r}; expected one of {POOLINGS}")
        if not 0 <= word_dropout < 1:
            raise ValueError(f"word_dropout must be in [0, 1), got {word_dropout}")
        self.config = {"class": "TextClassifier", "vocab_size": vocab_size, "num_classes": num_classes,
                       "embedding_dim": embedding_dim, "hidden_size": hidden_size, "cell": cell,
                       "num_layers": num_layers, "bidirectional": bidirectional, "pooling": pooling, "dropout": dropout,
                       "labels": labels, "word_dropout": word_dropout}
        if regularizers:
            self.config["regularizers"] = dict(regularizers)
        self.word_dropout = word_dropout
        self.pooling, self.bidirectional = pooling, bidirectional and not cell.startswith("feedback")
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=0)
        kwargs = {"bidirectional": self.bidirectional} if not cell.startswith("feedback") else {}
        self.rnn = make_layer(cell, embedding_dim, hidden_size, num_layers, batch_first=True, **kwargs,
                              **checked_regularizers(cell, regularizers))
        width = hidden_size * (2 if self.bidirectional else 1)
        self.attention = nn.Linear(width, 1) if pooling == "attention" else None
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(width, num_classes)

    def forward(self, ids: Tensor, lengths: Tensor) -> Tensor:
        if ids.dtype not in (torch.int64, torch.int32):
            raise TypeError(f"TextClassifier expects token ids (int64), got {ids.dtype}")
        if self.training and self.word_dropout > 0:  # drop whole words: replace them by <unk> (id 1), padding stays
            drop = (torch.rand(ids.shape, device=ids.device) < self.word_dropout) & (ids != 0)
            ids = ids.masked_fill(drop, UNK)
        y, _ = self.rnn(self.drop(self.embedding(ids)), lengths=lengths)
        T = y.shape[1]
        valid = torch.arange(T, device=y.device)[None, :] < lengths.to(y.device)[:, None]  # (B, T)
        if self.pooling == "last":
            idx = (lengths.to(y.device) - 1).clamp(min=0)
            fwd = y[torch.arange(y.shape[0]), idx]
            if self.bidirectional:
                H = y.shape[-1] // 2
                fwd = torch.cat([fwd[:, :H], y[:, 0, H:]], dim=-1)
            pooled = fwd
        elif self.pooling == "mean":
            pooled = (y * valid[..., None]).sum(1) / lengths.to(y.device)[:, None].to(y.dtype)
        elif self.pooling == "max":
            pooled = y.masked_fill(~valid[..., None], float("-inf")).max(1).values
        else:
            scores = self.attention(y).squeeze(-1).masked_fill(~valid, float("-inf"))
            pooled = (torch.softmax(scores, dim=1)[..., None] * y).sum(1)
        return self.fc(self.drop(pooled))

    def training_step(self, batch):
        ids, y, lengths = batch
        logits = self(ids, lengths)
        return {"loss": F.cross_entropy(logits, y), "accuracy": (logits.argmax(-1) == y).float().mean().item()}

    @torch.no_grad()
    def validation_step(self, batch):
        ids, y, lengths = batch
        logits = self(ids, lengths)
        return {"loss": F.cross_entropy(logits, y).item(), "accuracy": (logits.argmax(-1) == y).float().mean().item()}


class ClassifierEnsemble(nn.Module):
    """Several classifiers trained apart (other seeds) voting softly: ``p(y | x) = (1/M) Σ_m p_m(y | x)``.

    ``forward`` returns ``log p(y | x)``, so that softmax, argmax and cross-entropy treat it like logits.
    """

    def __init__(self, members: list[dict]) -> None:
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one member")
        self.members = nn.ModuleList(TextClassifier(**{k: v for k, v in m.items() if k != "class"}) for m in members)
        self.config = {"class": "ClassifierEnsemble", "members": [dict(m.config) for m in self.members],
                       "labels": members[0].get("labels"), "vocab_size": members[0]["vocab_size"]}

    def forward(self, ids: Tensor, lengths: Tensor) -> Tensor:
        logp = torch.stack([F.log_softmax(m(ids, lengths), -1) for m in self.members])
        return torch.logsumexp(logp, 0) - math.log(len(self.members))


class LanguageModel(nn.Module):
    unit_name = "tok"  # throughput is tokens per second (a training "sample" is a window of every stream)

    def __init__(self, vocab_size: int, embedding_dim: int = 256, hidden_size: int = 256, cell: str = "lstm",
                 num_layers: int = 1, dropout: float = 0.0, tie_weights: bool = False, backend: str = "auto",
                 regularizers: dict[str, float] | None = None) -> None:
        super().__init__()
        if tie_weights and embedding_dim != hidden_size:
            raise ValueError(f"tie_weights needs embedding_dim == hidden_size, got {embedding_dim} and {hidden_size}")
        if backend != "auto" and cell.lower().startswith("feedback"):
            raise ValueError(f"backend={backend!r}: the {cell!r} cell has one backend (its loop); leave backend='auto'")
        self.config = {"class": "LanguageModel", "vocab_size": vocab_size, "embedding_dim": embedding_dim,
                       "hidden_size": hidden_size, "cell": cell, "num_layers": num_layers, "dropout": dropout,
                       "tie_weights": tie_weights, "backend": backend}
        if regularizers:
            self.config["regularizers"] = dict(regularizers)
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.rnn = make_layer(cell, embedding_dim, hidden_size, num_layers, batch_first=True,
                              **({} if backend == "auto" else {"backend": backend}),
                              **checked_regularizers(cell, regularizers))
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(hidden_size, vocab_size)
        if tie_weights:
            self.out.weight = self.embedding.weight

    def forward(self, ids: Tensor, state=None):
        """ids (B, T) → logits (B, T, V), final state."""
        features, state = self._features(ids, state)
        return self.out(features), state

    def _features(self, ids: Tensor, state=None):
        """ids (B, T) → the output layer's input (B, T, H) (after dropout), final state."""
        y, state = self.rnn(self.drop(self.embedding(ids)), state)
        return self.drop(y), state

    @staticmethod
    def _xy(batch):
        x, y = batch
        return (x[0], y[0]) if x.dim() == 3 else (x, y)  # a window of (streams, steps), batched as one item

    def _loss(self, features, y):
        """Cross-entropy of ``self.out(features)`` against y, fused with the output layer (rnnkit.models.vocab_loss)."""
        return linear_cross_entropy(features.reshape(-1, features.shape[-1]), self.out.weight, self.out.bias,
                                    y.reshape(-1))[0]

    def training_step(self, batch):
        x, y = self._xy(batch)
        return {"loss": self._loss(self._features(x)[0], y)}

    def batch_units(self, batch) -> int:
        return self._xy(batch)[1].numel()

    @torch.no_grad()
    def validation_step(self, batch):
        x, y = self._xy(batch)
        loss = self._loss(self._features(x)[0], y).item()
        return {"loss": loss, "bits_per_token": loss / math.log(2)}

    @torch.no_grad()
    def stream_validation_step(self, batch, state=None):
        """Held-out loss of one window with the state carried in from the previous window (a stream read in order):
        (metrics, state, tokens scored)."""
        x, y = self._xy(batch)
        features, state = self._features(x, state)
        loss = self._loss(features, y).item()
        return {"loss": loss, "bits_per_token": loss / math.log(2)}, state, y.numel()

    def split_for_tbptt(self, batch, k: int):
        x, y = self._xy(batch)
        return [(x[:, s:s + k], y[:, s:s + k]) for s in range(0, x.shape[1], k)]

    def tbptt_step(self, chunk, state):
        x, y = chunk
        features, state = self._features(x, state)
        return {"loss": self._loss(features, y)}, state

    @torch.no_grad()
    def generate(self, prompt: list[int], length: int, temperature: float = 1.0, top_k: int | None = None,
                 top_p: float | None = None, generator: torch.Generator | None = None):
        """Yield ``length`` new token ids; the prompt is read once and the state carried from token to token.

        ``temperature → 0`` is greedy decoding; ``top_k`` keeps the k most likely tokens; ``top_p`` the smallest set
        whose probability reaches p (nucleus sampling).
        """
        if not prompt:
            raise ValueError("the prompt is empty (it needs at least one token)")
        if temperature < 0 or (top_p is not None and not 0 < top_p <= 1) or (top_k is not None and top_k < 1):
            raise ValueError(f"bad sampling settings: temperature={temperature}, top_k={top_k}, top_p={top_p}")
        self.eval()
        logits, state = self(torch.tensor([prompt]))
        last = logits[0, -1]
        for _ in range(length):
            nxt = sample(last, temperature, top_k, top_p, generator)
            yield nxt
            logits, state = self(torch.tensor([[nxt]]), state)
            last = logits[0, -1]


def sample(logits: Tensor, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None,
           generator: torch.Generator | None = None) -> int:
    if temperature == 0:
        return int(logits.argmax())
    logits = logits / temperature
    if top_k is not None and top_k < logits.numel():
        kth = torch.topk(logits, top_k).values[-1]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    probs = torch.softmax(logits, dim=-1)
    if top_p is not None and top_p < 1:
        sorted_p, order = probs.sort(descending=True)
        keep = sorted_p.cumsum(0) - sorted_p < top_p  # the smallest prefix reaching top_p
        mask = torch.zeros_like(probs, dtype=torch.bool)
        mask[order[keep]] = True
        probs = torch.where(mask, probs, torch.zeros_like(probs))
        probs = probs / probs.sum()
    return int(torch.multinomial(probs, 1, generator=generator))
