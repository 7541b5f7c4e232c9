"""Search over a model's outputs, shared by the tasks: greedy and batched beam search for autoregressive decoders
(below), and CTC's greedy collapse and prefix beam search with language-model fusion (``rnnkit.decoding.ctc``).

A model searched here offers (``rnnkit.models.seq2seq.Seq2Seq`` does)::

    start(src, lengths) -> (memory, state)                  encode a batch once
    step(tokens (N,), state, memory) -> (log p (N, V), state, attention (N, S) or None)
    reorder_state(state, index), reorder_memory(memory, index)   keep/repeat rows of the batch
    bos, eos, pad                                            the special token ids

Both searches decode every sentence of a batch together and return, per sentence, ``Hypothesis`` objects: tokens
(without ``<bos>``/``<eos>``), total log-probability, the length-normalised score they were ranked by, and the attention
weights of each output token over the source (rows = tokens, columns = the valid source positions).
"""

from rnnkit.decoding.beam import LENGTH_PENALTIES, beam_search, length_penalty
from rnnkit.decoding.ctc import CTCHypothesis, ctc_greedy, ctc_prefix_beam_search
from rnnkit.decoding.greedy import greedy_search
from rnnkit.decoding.hypothesis import Hypothesis, max_lengths

__all__ = ["Hypothesis", "greedy_search", "beam_search", "length_penalty", "LENGTH_PENALTIES", "max_lengths",
           "ctc_greedy", "ctc_prefix_beam_search", "CTCHypothesis"]
