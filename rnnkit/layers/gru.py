"""``rnnkit.GRU``: a drop-in for ``torch.nn.GRU``, plus the ``reset_after=False`` form of Cho et al. (2014)."""

from __future__ import annotations

from rnnkit.cells.gru import gru_step, gru_step_reset_before, split_reset_before
from rnnkit.layers.stacked import StackedRNNBase, check_no_projection
from rnnkit.recurrence.bptt import gru_sequence


class GRU(StackedRNNBase):
    """Multi-layer GRU; see ``rnnkit.cells.gru`` for the equations of both ``reset_after`` forms.

    ``reset_after=True`` (default) is ``torch.nn.GRU`` exactly and can use the fused kernel (``backend="auto"`` does on
    GPUs; on CPU it runs rnnkit's hand-written BPTT, faster than torch's CPU GRU); ``reset_after=False`` always runs
    on the loop backend (no fused kernel computes it).
    """

    num_gates = 3
    cpu_prefers_loop = True
    fold_bias_hh = False  # b_hn sits inside r ⊙ (...), so b_hh cannot join the input projection

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, device=None, dtype=None,
                 *, reset_after: bool = True, backend: str = "auto", proj_size: int = 0, **regularizers) -> None:
        check_no_projection(proj_size)
        self.reset_after = bool(reset_after)
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype, backend=backend, **regularizers)

    def extra_repr(self) -> str:
        return super().extra_repr() + ("" if self.reset_after else ", reset_after=False")

    def _fused_mode(self):
        return "GRU" if self.reset_after else None

    def _loop_params(self, suffix):
        W_hh, b_hh = getattr(self, "weight_hh" + suffix), getattr(self, "bias_hh" + suffix, None)
        if self.reset_after:
            return {"weight_hh": W_hh, "bias_hh": b_hh}
        return split_reset_before(W_hh, b_hh)  # split once per forward, outside the loop

    def _bind(self, params, mm):
        if self.reset_after:
            return gru_step(params["weight_hh"], params["bias_hh"], mm)
        return gru_step_reset_before(**params, mm=mm)

    def _sequence(self, x, weight_ih, bias, state, params, mask):
        if not self.reset_after:
            return None
        return gru_sequence(x, weight_ih, bias, state[0], params["weight_hh"], params["bias_hh"], mask)
