"""TorchScript by tracing (``torch.jit.trace`` → ``torch.jit.save``/``load``), as deployments on TorchServe or C++
LibTorch do it: the drop-in layers trace to torch's own recurrent ops, so a saved trace runs any sequence length and
gives what torch.nn's layers give with the same weights."""

import io

import pytest
import torch

import rnnkit.layers as rl

# TorchScript is deprecated upstream (still what TorchServe and LibTorch load); the trace's shape checks are constants
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::torch.jit.TracerWarning")


@pytest.mark.parametrize("name", ["RNN", "GRU", "LSTM"])
def test_a_saved_trace_runs_other_lengths_like_torch_nn(name):
    torch.manual_seed(0)
    ours = getattr(rl, name)(4, 8, num_layers=2, batch_first=True, bidirectional=True)
    theirs = getattr(torch.nn, name)(4, 8, num_layers=2, batch_first=True, bidirectional=True)
    theirs.load_state_dict(ours.state_dict())
    buf = io.BytesIO()
    torch.jit.save(torch.jit.trace(ours, (torch.randn(3, 5, 4),)), buf)  # the hand kernels' Functions cannot be saved
    buf.seek(0)
    loaded = torch.jit.load(buf)
    for shape in ((3, 5, 4), (2, 11, 4), (1, 1, 4)):
        x = torch.randn(*shape)
        got, want = loaded(x), theirs(x)
        torch.testing.assert_close(got[0], want[0])
        for g, w in zip(got[1] if name == "LSTM" else (got[1],), want[1] if name == "LSTM" else (want[1],)):
            torch.testing.assert_close(g, w)
