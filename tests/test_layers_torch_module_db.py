"""torch's own test data for its recurrent modules, run on rnnkit's drop-ins.

PyTorch describes how ``nn.RNN/GRU/LSTM`` and ``nn.RNNCell/GRUCell/LSTMCell`` must behave in ``module_db``
(``torch.testing._internal.common_modules``, what its ``test/test_modules.py`` runs): sample constructor and forward
inputs, and error inputs with the exception type and message pattern each must raise. Given the same inputs, rnnkit's
classes must do what torch's do: the same outputs and gradients from the same weights, the same errors (type and
torch's words), gradients that pass ``gradcheck`` with torch's batched-gradient check and ``gradgradcheck``, and
parameters that follow ``device=``/``dtype=`` and a ``torch.device("meta")`` context.
"""

from __future__ import annotations

import re

import pytest
import torch
import torch.utils._pytree as pytree
from torch.testing._internal.common_modules import ModuleErrorEnum, module_db
from torch.testing._internal.common_utils import gradcheck, gradgradcheck

import rnnkit

# torch's test utilities freeze torch.backends' flags when imported (its own suite changes them only inside `flags()`
# blocks); the rest of this suite sets them plainly (the exporter does), so unfreeze them again
torch.backends.flags_frozen.__globals__["__allow_nonbracketed_mutation_flag"] = True
assert not torch.backends.flags_frozen()

NAMES = ("RNN", "GRU", "LSTM", "RNNCell", "GRUCell", "LSTMCell")
INFOS = {info.module_cls.__name__: info for info in module_db if info.module_cls.__name__ in NAMES}


def samples(name, dtype=torch.float32, requires_grad=False, training=True):
    info = INFOS[name]
    return info.module_inputs_func(info, device="cpu", dtype=dtype, requires_grad=requires_grad, training=training)


def tensors(tree):
    return [t for t in pytree.tree_leaves(tree) if isinstance(t, torch.Tensor)]


def test_module_db_has_every_recurrent_module():
    assert set(INFOS) == set(NAMES)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name", NAMES)
def test_samples_give_torchs_outputs_and_gradients(name, dtype):
    """Every sample (batched or not, bias or not, batch_first, bidirectional, projections, a given state): rnnkit's
    module with torch's weights gives torch's outputs and the same gradients for the inputs and every parameter."""
    for s in samples(name, dtype, requires_grad=True):
        args, kwargs = s.constructor_input.args, s.constructor_input.kwargs
        ref = getattr(torch.nn, name)(*args, **kwargs).to(dtype)
        ours = getattr(rnnkit, name)(*args, **kwargs).to(dtype)
        ours.load_state_dict(ref.state_dict())
        inputs = s.forward_input.args
        copies = pytree.tree_map(lambda t: t.detach().clone().requires_grad_() if isinstance(t, torch.Tensor) else t,
                                 inputs)
        expected, got = tensors(ref(*inputs)), tensors(ours(*copies))
        assert [t.shape for t in got] == [t.shape for t in expected]
        for e, g in zip(expected, got):
            torch.testing.assert_close(g, e)
        weights = [torch.randn_like(t) for t in expected]
        sum((e * w).sum() for e, w in zip(expected, weights)).backward()
        sum((g * w).sum() for g, w in zip(got, weights)).backward()
        for a, b in zip(tensors(inputs), tensors(copies)):
            torch.testing.assert_close(b.grad, a.grad)
        for (k, p), (_, q) in zip(ref.named_parameters(), ours.named_parameters()):
            torch.testing.assert_close(q.grad, p.grad, msg=k)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name", NAMES)
def test_error_inputs_raise_torchs_errors(name, dtype):
    """torch's error inputs (sizes of 0, non-bool flags, floats for sizes, a state of the wrong size/batch/rank, an
    input of another dtype than the weights): the type torch declares, a message matching torch's pattern."""
    info = INFOS[name]
    cases = info.module_error_inputs_func(info, device="cpu", dtype=dtype, requires_grad=False, training=True)
    assert cases
    for case in cases:
        c, f = case.module_error_input.constructor_input, case.module_error_input.forward_input
        with pytest.raises(case.error_type) as raised:
            module = getattr(rnnkit, name)(*c.args, **c.kwargs)
            assert case.error_on == ModuleErrorEnum.FORWARD_ERROR, f"{name}{c.args}{c.kwargs} constructed"
            module(*f.args, **f.kwargs)
        assert re.search(case.error_regex, str(raised.value)), (str(raised.value), case.error_regex)


@pytest.mark.parametrize("check", [gradcheck, gradgradcheck], ids=["gradcheck", "gradgradcheck"])
@pytest.mark.parametrize("name", NAMES)
def test_gradients_pass_torchs_gradcheck(name, check):
    """torch's test_grad/test_gradgrad: finite differences in float64 against the analytical gradients of the inputs
    and parameters together (gradcheck also checks gradients batched with vmap, as torch's tests do)."""
    for s in samples(name, torch.float64, requires_grad=True)[:4]:
        module = getattr(rnnkit, name)(*s.constructor_input.args, **s.constructor_input.kwargs).double()
        inputs, spec = pytree.tree_flatten(s.forward_input.args + tuple(module.parameters()))
        n_args = len(s.forward_input.args)

        def run(*flat):
            return tensors(module(*pytree.tree_unflatten(flat, spec)[:n_args]))

        assert check(run, inputs, nondet_tol=0.0)


@pytest.mark.parametrize("name", NAMES)
def test_parameters_follow_factory_kwargs_and_the_meta_device(name):
    for s in samples(name):
        args, kwargs = s.constructor_input.args, s.constructor_input.kwargs
        module = getattr(rnnkit, name)(*args, **kwargs, dtype=torch.float64)
        assert all(p.dtype == torch.float64 for p in module.parameters())
        with torch.device("meta"):
            meta = getattr(rnnkit, name)(*args, **kwargs)
        real = getattr(torch.nn, name)(*args, **kwargs)
        assert [(k, p.shape, p.is_meta) for k, p in meta.named_parameters()] == \
               [(k, p.shape, True) for k, p in real.named_parameters()]
