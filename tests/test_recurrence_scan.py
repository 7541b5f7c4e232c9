"""The scan backend computes what the loop computes — outputs, final states and every gradient, for every cell, with
lengths, two layers and both directions — and torch.export captures it with a dynamic length."""

from __future__ import annotations

import pytest
import torch

from rnnkit.layers import CELL_NAMES, make_layer
from tests.helpers import assert_close_all, assert_grads_close, run_with_grads


@pytest.fixture(autouse=True)
def fresh_dynamo():
    """Each export starts from torch's cleared compile caches: an earlier export in the same process (tests/
    test_export.py's) left graphs specialized to its batch size, which made these exports specialize B = 2."""
    torch._dynamo.reset()
    yield


@pytest.mark.parametrize("cell", CELL_NAMES)
def test_scan_equals_the_loop_with_lengths_layers_and_directions(cell):
    kw = {} if cell.startswith("feedback") else {"bidirectional": True}
    loop = make_layer(cell, 3, 5, 2, backend="loop", **kw).double()
    scan = make_layer(cell, 3, 5, 2, backend="scan", **kw).double()
    scan.load_state_dict(loop.state_dict())
    x = torch.randn(4, 7, 3, dtype=torch.float64)
    lengths = torch.tensor([7, 3, 5, 1])

    def call(m, x):
        return m(x, lengths=lengths)

    out_a, grads_a = run_with_grads(loop, [x], call)
    out_b, grads_b = run_with_grads(scan, [x], call)
    assert_close_all(out_a, out_b, atol=1e-12, what=cell)
    assert_grads_close(grads_a, grads_b, atol=1e-11)


@pytest.mark.parametrize("cell", ["gru", "lstm", "rnn"])
def test_scan_takes_weights_that_are_views_of_one_buffer(cell):
    """cuDNN's flattened weights (``flatten_parameters`` on a GPU) are views of one buffer, and torch's scan refuses
    captured tensors that alias: made so here by hand on the CPU, the scan still computes what the loop computes."""
    torch.manual_seed(1)
    loop = make_layer(cell, 3, 5, 2, backend="loop", bidirectional=True).double()
    scan = make_layer(cell, 3, 5, 2, backend="scan", bidirectional=True).double()
    scan.load_state_dict(loop.state_dict())
    flat = torch.cat([p.detach().reshape(-1) for p in scan._flat_weights])
    with torch.no_grad():
        offset = 0
        for p in scan._flat_weights:
            p.set_(flat.untyped_storage(), offset, p.shape)
            offset += p.numel()
    assert len({p.untyped_storage().data_ptr() for p in scan.parameters()}) == 1
    x = torch.randn(4, 7, 3, dtype=torch.float64)

    def call(m, x):
        return m(x, lengths=torch.tensor([7, 3, 5, 1]))

    out_a, grads_a = run_with_grads(loop, [x], call)
    out_b, grads_b = run_with_grads(scan, [x], call)
    assert_close_all(out_a, out_b, atol=1e-12, what=cell)
    assert_grads_close(grads_a, grads_b, atol=1e-11)


def test_scan_exports_with_a_dynamic_length():
    layer = make_layer("gru", 3, 4, backend="scan").eval()
    B, T = torch.export.Dim("B", min=1, max=64), torch.export.Dim("T", min=1, max=1000)

    class Wrap(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = layer

        def forward(self, x, lengths):
            return self.layer(x, lengths=lengths)[0]

    program = torch.export.export(Wrap(), (torch.randn(2, 5, 3), torch.tensor([5, 2])),
                                  dynamic_shapes=({0: B, 1: T}, {0: B}))
    x, lengths = torch.randn(3, 11, 3), torch.tensor([11, 4, 1])
    torch.testing.assert_close(program.module()(x, lengths), layer(x, lengths=lengths)[0])


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm", "feedback"])
def test_layers_on_their_default_backend_export_through_the_scan(cell):
    """torch.export of a layer as users make it (backend auto: rnnkit's in-place BPTT for RNN/GRU, torch's kernel for the
    LSTM, the loop for FeedbackRNN) works: while exporting, every layer runs on the scan backend."""
    kw = {} if cell == "feedback" else {"bidirectional": True}
    layer = make_layer(cell, 3, 4, 2, **kw).eval()
    program = torch.export.export(layer, (torch.randn(2, 5, 3),), dynamic_shapes=({0: torch.export.Dim("B", min=1),
                                                                                   1: torch.export.Dim("T", min=1)},))
    x = torch.randn(3, 9, 3)
    out, state = program.module()(x)
    ref_out, ref_state = layer(x)
    torch.testing.assert_close(out, ref_out, atol=1e-5, rtol=0)
    torch.testing.assert_close(state, ref_state, atol=1e-5, rtol=0)
