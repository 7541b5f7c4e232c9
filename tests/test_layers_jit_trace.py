"""TorchScript by tracing (``torch.jit.trace`` → ``torch.jit.save``/``load``), as deployments on TorchServe or C++
LibTorch do it: the drop-in layers trace to torch's own recurrent ops, so a saved trace runs any sequence length and
gives what torch.nn's layers give with the same weights. ``torch.jit.script`` compiles a model's RNN/LSTM/GRU as
their torch.nn twins holding the same parameters; the layers it cannot compile say so and name what can."""

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


class Wrapper(torch.nn.Module):
    def __init__(self, rnn):
        super().__init__()
        self.rnn = rnn
        width = getattr(rnn, "proj_size", 0) or rnn.hidden_size
        self.out = torch.nn.Linear(width * (2 if rnn.bidirectional else 1), 2)

    def forward(self, x):
        y, _ = self.rnn(x)
        return self.out(y[:, -1])


@pytest.mark.parametrize("name, kwargs", [("RNN", {"nonlinearity": "relu"}), ("GRU", {"bias": False}),
                                          ("LSTM", {"num_layers": 2, "bidirectional": True}),
                                          ("LSTM", {"proj_size": 3})])
def test_a_scripted_model_computes_torch_nns_outputs_and_trains_the_same_parameters(name, kwargs):
    torch.manual_seed(0)
    ours = getattr(rl, name)(4, 8, batch_first=True, **kwargs)
    reference = Wrapper(getattr(torch.nn, name)(4, 8, batch_first=True, **kwargs))
    model = Wrapper(ours)
    reference.load_state_dict(model.state_dict())
    scripted = torch.jit.script(model)
    buf = io.BytesIO()
    torch.jit.save(scripted, buf)
    buf.seek(0)
    loaded = torch.jit.load(buf)
    x = torch.randn(3, 6, 4)
    torch.testing.assert_close(scripted(x), reference(x))
    torch.testing.assert_close(loaded(x), reference(x))
    scripted(x).sum().backward()  # the script holds the layer's own Parameter objects
    reference(x).sum().backward()
    torch.testing.assert_close(ours.weight_hh_l0.grad, reference.rnn.weight_hh_l0.grad)


@pytest.mark.parametrize("make, why", [
    (lambda: rl.LayerNormLSTM(4, 8), "no torch.nn twin"), (lambda: rl.MinGRU(4, 8), "autograd Functions"),
    (lambda: rl.GRU(4, 8, reset_after=False), "reset_after=False"),
    (lambda: rl.LSTM(4, 8, recurrent_dropout=0.2), "recurrent_dropout"),
])
def test_what_torchscript_cannot_compile_is_refused_naming_the_ways_that_work(make, why):
    with pytest.raises(TypeError, match=why) as err:
        torch.jit.script(make())
    assert "torch.jit.trace" in str(err.value)
