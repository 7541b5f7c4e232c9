"""What a translation run exports: the encoder and one decoder step, the two graphs any search (greedy, beam) calls.

``encode``: (src, lengths) → memory, mask[, keys], h[, c][, feed] — source token ids (B, S) padded with ``<pad>`` and
their lengths to the encoder's outputs h̄ (B, S, H) (zero on padding), the valid-position mask (B, S), the attention's
precomputed keys (with attention), and the decoder's first state (from the bridge; feed: h̃_0 with input feeding).

``step``: (token, memory, mask[, keys], h0[, c0][, feed0]) → log_probs, h[, c][, feed][, attention] — the previous
target token (B,) (``<bos>`` first) and the state to log p(y_t | y_<t, x) over the target vocabulary (B, V), the new
state and the attention weights over the source (B, S). A caller runs ``encode`` once, then ``step`` per output token,
feeding the state back — as ``rnnkit.decoding``'s greedy and beam searches call ``Seq2Seq.start`` and ``Seq2Seq.step``
(they also never emit ``<pad>``/``<bos>`` and stop at ``<eos>`` or a · |x| + b tokens; ids in the manifest). Both
tokenizer files travel with the graphs (``Translator.export_files``: the manifest's ``files``).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnkit.models.seq2seq import DecoderState, Memory, Seq2Seq
from rnnkit.tasks.graphs import GraphSpec, random_lengths


def _state_names(model: Seq2Seq, suffix: str) -> list[str]:
    """The decoder state's names: h[, c] (LSTM)[, feed] (input feeding), each with ``suffix``."""
    return [n + suffix for n in ["h", "c"][:model.n_states] + (["feed"] if model.input_feeding else [])]


class _Encode(nn.Module):
    def __init__(self, model: Seq2Seq) -> None:
        super().__init__()
        self.model = model

    def forward(self, src: Tensor, lengths: Tensor):
        memory, state = self.model.start(src, lengths)
        keys = () if memory.keys is None else (memory.keys,)
        feed = () if state.feed is None else (state.feed,)
        return (memory.outputs, memory.mask, *keys, *state.rnn, *feed)


class _Step(nn.Module):
    def __init__(self, model: Seq2Seq) -> None:
        super().__init__()
        self.model = model
        self.has_keys = model.attention is not None

    def forward(self, token: Tensor, outputs: Tensor, mask: Tensor, *rest: Tensor):
        m = self.model
        keys, rest = (rest[0], rest[1:]) if self.has_keys else (None, rest)
        rnn, feed = tuple(rest[:m.n_states]), (rest[m.n_states] if m.input_feeding else None)
        log_probs, state, weights = m.step(token, DecoderState(rnn, feed), Memory(outputs, keys, mask))
        feed_out = () if state.feed is None else (state.feed,)
        attention = () if weights is None else (weights,)
        return (log_probs, *state.rnn, *feed_out, *attention)


def translator_graphs(model: Seq2Seq) -> list[GraphSpec]:
    model = model.eval()
    src_vocab, tgt_vocab = model.config["src_vocab"], model.config["tgt_vocab"]
    keys = ["keys"] if model.attention is not None else []
    state_in, state_out = _state_names(model, "0"), _state_names(model, "")

    def source(batch, steps, g):
        lengths = random_lengths(batch, steps, g)
        src = torch.randint(4, src_vocab, (batch, steps), generator=g)
        return torch.where(torch.arange(steps)[None, :] < lengths[:, None], src, torch.zeros_like(src)), lengths

    def step_inputs(batch, steps, g):
        with torch.no_grad():
            encoded = _Encode(model)(*source(batch, steps, g))
        return (torch.randint(4, tgt_vocab, (batch,), generator=g), *encoded)

    seq = {0: "batch", 1: "time"}
    state_dyn = {n: ({0: "batch"} if n.startswith("feed") else {1: "batch"}) for n in state_in}
    notes = {"bos": model.bos, "eos": model.eos, "pad": model.pad,
             "search": "never emit pad or bos; stop at eos or at a·|x| + b tokens (the run's max_len_a, max_len_b)"}
    return [
        GraphSpec("encode", _Encode(model), ["src", "lengths"], ["memory", "mask", *keys, *state_out],
                  {"src": seq, "lengths": {0: "batch"}}, source,
                  "the source sentence once: the memory to attend to and the decoder's first state", notes),
        GraphSpec("step", _Step(model), ["token", "memory", "mask", *keys, *state_in],
                  ["log_probs", *state_out, *(["attention"] if keys else [])],
                  {"token": {0: "batch"}, "memory": seq, "mask": seq, **{k: seq for k in keys}, **state_dyn},
                  step_inputs, "one output token: feed the chosen token and the state back", notes)]


__all__ = ["translator_graphs"]
