"""Encoder–decoder (sequence-to-sequence) RNN with attention, for translation (Sutskever et al. 2014; Luong et al. 2015).

Encoder: source embeddings → any rnnkit recurrent layer (``encoder_cell``; bidirectional: ``hidden_size / 2`` units per
direction, so that its outputs ``h̄_s`` have ``hidden_size`` units like the decoder's), read with the true lengths.

Bridge: the encoder's final outputs (forward direction at the last valid step, backward direction at the first) give
the decoder's initial state, per layer and per state tensor: ``s_0 = tanh(W_b [h→_S; h←_1] + b_b)``.

Decoder (``decoder_cell`` LSTM or GRU, ``decoder_layers`` stacked), at target step t with ``y_{t-1}`` the previous
target token (teacher forcing in training: the reference's)::

    h_t = RNN([E y_{t-1}; h̃_{t-1}], h_{t-1})          (h̃_{t-1} only with input feeding)
    c_t, a_t = Attention(h_t, h̄)                      (rnnkit.models.attention: dot / general / additive)
    h̃_t = tanh(W_c [c_t; h_t])                        (attention "none": h̃_t = h_t — the plain encoder–decoder)
    p(y_t | y_<t, x) = softmax(W_s h̃_t + b_s)         (tie_embeddings: W_s = E W_p, E the target embedding matrix;
                                                      W_p (embedding_dim × H) only where embedding_dim ≠ H)

``share_embeddings`` (a joint vocabulary, ``src_vocab == tgt_vocab``): one embedding matrix for both languages — with
``tie_embeddings`` the three-way tying of Press & Wolf (2017), which lets names and numbers spelled alike on both sides
share their pieces.

Without input feeding the decoder reads the whole target in one call of the recurrent layer (its fast kernels) and
attends at every step at once; with it (Luong's, which lets the decoder know what it attended to before) it runs step
by step. The loss is cross-entropy over the target tokens with ``label_smoothing`` (Szegedy et al. 2016), padding
ignored.

For search (``rnnkit.decoding``) the model offers ``start(src, lengths) -> (memory, state)``, ``step(tokens, state,
memory) -> (log p, state, attention weights)`` and ``reorder_state``/``reorder_memory`` (pick rows of a batch).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.layers import make_layer
from rnnkit.models.attention import ATTENTIONS, Attention
from rnnkit.models.vocab_loss import linear_cross_entropy

PAD, BOS, EOS = 0, 2, 3  # rnnkit.data.tokenize's specials
DECODER_CELLS = ("lstm", "gru")


class Memory(NamedTuple):
    outputs: Tensor  # h̄ (B, S, H), zero on padding
    keys: Tensor | None  # the attention's source half (B, S, H)
    mask: Tensor  # (B, S) True on valid source positions


class DecoderState(NamedTuple):
    rnn: tuple[Tensor, ...]  # the decoder layer's state: (h, c) for an LSTM, (h,) for a GRU; each (L, B, H)
    feed: Tensor | None  # h̃_{t-1} (B, H) with input feeding


class Seq2Seq(nn.Module):
    bos, eos, pad = BOS, EOS, PAD

    def __init__(self, src_vocab: int, tgt_vocab: int, embedding_dim: int = 256, hidden_size: int = 256,
                 encoder_cell: str = "lstm", decoder_cell: str = "lstm", encoder_layers: int = 1,
                 decoder_layers: int = 1, bidirectional: bool = True, attention: str = "general",
                 input_feeding: bool = False, dropout: float = 0.2, tie_embeddings: bool = False,
                 label_smoothing: float = 0.1, backend: str = "auto", share_embeddings: bool = False) -> None:
        super().__init__()
        if attention not in ATTENTIONS:
            raise ValueError(f"unknown attention {attention!r}; expected one of {', '.join(ATTENTIONS)}")
        if decoder_cell not in DECODER_CELLS:
            raise ValueError(f"the decoder cell must be one of {', '.join(DECODER_CELLS)}, got {decoder_cell!r}")
        if bidirectional and encoder_cell.startswith("feedback"):
            raise ValueError(f"the {encoder_cell!r} encoder cannot be bidirectional; pass bidirectional=False "
                             "(--bidirectional false)")
        if bidirectional and hidden_size % 2:
            raise ValueError(f"a bidirectional encoder gives hidden_size / 2 units to each direction: hidden_size must "
                             f"be even, got {hidden_size}")
        if share_embeddings and src_vocab != tgt_vocab:
            raise ValueError(f"share_embeddings needs one joint vocabulary (src_vocab == tgt_vocab), got {src_vocab} "
                             f"and {tgt_vocab}")
        if not 0 <= label_smoothing < 1 or not 0 <= dropout < 1:
            raise ValueError(f"label_smoothing and dropout must be in [0, 1), got {label_smoothing} and {dropout}")
        self.config = {"class": "Seq2Seq", "src_vocab": src_vocab, "tgt_vocab": tgt_vocab,
                       "embedding_dim": embedding_dim, "hidden_size": hidden_size, "encoder_cell": encoder_cell,
                       "decoder_cell": decoder_cell, "encoder_layers": encoder_layers,
                       "decoder_layers": decoder_layers, "bidirectional": bidirectional, "attention": attention,
                       "input_feeding": input_feeding, "dropout": dropout, "tie_embeddings": tie_embeddings,
                       "label_smoothing": label_smoothing, "backend": backend, "share_embeddings": share_embeddings}
        E, H = embedding_dim, hidden_size
        self.hidden_size, self.bidirectional, self.input_feeding = H, bidirectional, input_feeding
        self.label_smoothing = label_smoothing
        self.drop = nn.Dropout(dropout)
        self.src_embedding = nn.Embedding(src_vocab, E, padding_idx=PAD)
        self.tgt_embedding = self.src_embedding if share_embeddings else nn.Embedding(tgt_vocab, E, padding_idx=PAD)
        enc_kwargs = {"bidirectional": True} if bidirectional else {}
        self.encoder = make_layer(encoder_cell, E, H // 2 if bidirectional else H, encoder_layers, batch_first=True,
                                  dropout=dropout if encoder_layers > 1 else 0.0, backend=backend, **enc_kwargs)
        self.n_states = 2 if decoder_cell == "lstm" else 1
        self.decoder_layers = decoder_layers
        self.bridge = nn.Linear(H, self.n_states * decoder_layers * H)
        self.decoder = make_layer(decoder_cell, E + (H if input_feeding else 0), H, decoder_layers, batch_first=True,
                                  dropout=dropout if decoder_layers > 1 else 0.0, backend=backend)
        self.attention = Attention(attention, H) if attention != "none" else None
        self.W_c = nn.Linear(2 * H, H, bias=False) if self.attention is not None else None
        self.out_proj = nn.Linear(H, E, bias=False) if tie_embeddings and E != H else None  # W_p
        self.out = nn.Linear(E if tie_embeddings else H, tgt_vocab)
        if tie_embeddings:
            self.out.weight = self.tgt_embedding.weight
        self.unit_name = "tgt_tok"  # the progress bar's throughput unit

    # --- encoder ---------------------------------------------------------------------------------------------------
    def start(self, src: Tensor, lengths: Tensor) -> tuple[Memory, DecoderState]:
        """Encode the source ids (B, S) with their lengths; the memory to attend to and the decoder's first state."""
        lengths = lengths.to(src.device)
        y, _ = self.encoder(self.drop(self.src_embedding(src)), lengths=lengths)
        B, S, _ = y.shape
        mask = torch.arange(S, device=src.device)[None, :] < lengths[:, None]
        y = y * mask[..., None]
        last = y[torch.arange(B, device=y.device), (lengths - 1).clamp(min=0)]
        summary = torch.cat([last[:, :self.hidden_size // 2], y[:, 0, self.hidden_size // 2:]], -1) \
            if self.bidirectional else last
        init = torch.tanh(self.bridge(summary)).view(B, self.n_states, self.decoder_layers, self.hidden_size)
        rnn = tuple(init[:, k].transpose(0, 1).contiguous() for k in range(self.n_states))
        feed = y.new_zeros(B, self.hidden_size) if self.input_feeding else None
        keys = self.attention.keys(y) if self.attention is not None else None
        return Memory(y, keys, mask), DecoderState(rnn, feed)

    # --- decoder ---------------------------------------------------------------------------------------------------
    def _attend(self, h: Tensor, memory: Memory) -> tuple[Tensor, Tensor | None]:
        if self.attention is None:
            return h, None
        c, weights = self.attention(h, memory.outputs, memory.keys, memory.mask)
        return torch.tanh(self.W_c(torch.cat([c, h], -1))), weights

    def _rnn(self, x: Tensor, rnn: tuple[Tensor, ...]) -> tuple[Tensor, tuple[Tensor, ...]]:
        h, new = self.decoder(x, rnn if self.n_states == 2 else rnn[0])
        return h, tuple(new) if self.n_states == 2 else (new,)

    def decode(self, tgt_in: Tensor, memory: Memory, state: DecoderState
               ) -> tuple[Tensor, Tensor | None, DecoderState]:
        """Target ids (B, T) (teacher forcing: ``<bos> y_1 … y_{T-1}``) → logits (B, T, V), attention (B, T, S), state."""
        features, weights, state = self._decode(tgt_in, memory, state)
        return self.out(features), weights, state

    def _decode(self, tgt_in: Tensor, memory: Memory, state: DecoderState
                ) -> tuple[Tensor, Tensor | None, DecoderState]:
        """``decode`` up to the output layer's input: the features (B, T, D) that ``self.out`` turns into logits."""
        emb = self.drop(self.tgt_embedding(tgt_in))
        if not self.input_feeding:
            h, rnn = self._rnn(emb, state.rnn)
            out, weights = self._attend(h, memory)
            return self._features(out), weights, DecoderState(rnn, None)
        rnn, feed, outs, ws = state.rnn, state.feed, [], []
        for t in range(tgt_in.shape[1]):
            h, rnn = self._rnn(torch.cat([emb[:, t:t + 1], feed[:, None]], -1), rnn)
            out, w = self._attend(h, memory)
            feed = out[:, 0]
            outs.append(out)
            ws.append(w)
        weights = torch.cat(ws, 1) if self.attention is not None else None
        return self._features(torch.cat(outs, 1)), weights, DecoderState(rnn, feed)

    def _features(self, out: Tensor) -> Tensor:
        """h̃ → the output layer's input: dropout, then W_p where the tied embeddings need it."""
        out = self.drop(out)
        return out if self.out_proj is None else self.out_proj(out)

    def forward(self, src: Tensor, src_lengths: Tensor, tgt_in: Tensor) -> Tensor:
        memory, state = self.start(src, src_lengths)
        return self.decode(tgt_in, memory, state)[0]

    def step(self, tokens: Tensor, state: DecoderState, memory: Memory) -> tuple[Tensor, DecoderState, Tensor | None]:
        """One decoding step for search: previous tokens (N,) → log-probabilities (N, V), new state, weights (N, S)."""
        logits, weights, state = self.decode(tokens[:, None], memory, state)
        return F.log_softmax(logits[:, 0].float(), -1), state, (weights[:, 0] if weights is not None else None)

    @staticmethod
    def reorder_state(state: DecoderState, index: Tensor) -> DecoderState:
        return DecoderState(tuple(s.index_select(1, index) for s in state.rnn),
                            state.feed.index_select(0, index) if state.feed is not None else None)

    @staticmethod
    def reorder_memory(memory: Memory, index: Tensor) -> Memory:
        return Memory(*(m.index_select(0, index) if m is not None else None for m in memory))

    # --- training --------------------------------------------------------------------------------------------------
    def _loss(self, batch, smoothing: float):
        src, src_lengths, tgt_in, tgt_out = batch
        features = self._decode(tgt_in, *self.start(src, src_lengths))[0]
        # = F.cross_entropy(self.out(features), …) without the (B·T, V) logits and their gradient (vocab_loss.py);
        # correct: target tokens whose reference scores the maximum (= argmax but for exact ties)
        loss, correct = linear_cross_entropy(features.reshape(-1, features.shape[-1]), self.out.weight, self.out.bias,
                                             tgt_out.reshape(-1), ignore_index=PAD, label_smoothing=smoothing)
        return loss, correct / (tgt_out != PAD).sum().clamp(min=1)

    def training_step(self, batch):
        loss, accuracy = self._loss(batch, self.label_smoothing)
        return {"loss": loss, "token_accuracy": accuracy.item()}

    @torch.no_grad()
    def validation_step(self, batch):
        loss, accuracy = self._loss(batch, 0.0)  # the held-out loss is the true cross-entropy per target token
        return {"loss": loss.item(), "token_accuracy": accuracy.item()}

    @staticmethod
    def batch_units(batch) -> int:
        return int((batch[3] != PAD).sum())


__all__ = ["Seq2Seq", "Memory", "DecoderState", "DECODER_CELLS"]
