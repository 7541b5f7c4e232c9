"""Shared test helpers: run two modules on the same data and compare outputs and gradients."""

from __future__ import annotations

import torch
from torch.nn.utils.rnn import PackedSequence


def as_tuple(state):
    return tuple(state) if isinstance(state, (tuple, list)) else (state,)


def flat_output(y):
    return y.data if isinstance(y, PackedSequence) else y


def loss_of(y, h_n, gen_seed=1):
    """A loss that weights every output and final-state entry differently, so every gradient path is checked."""
    g = torch.Generator().manual_seed(gen_seed)
    total = 0.0
    for t in (flat_output(y),) + as_tuple(h_n):
        w = torch.randn(t.shape, generator=g, dtype=t.dtype)
        total = total + (t * w).sum()
    return total


def run_with_grads(module, inputs: list, call):
    """Zero grads, run ``call(module, *inputs)``, backprop ``loss_of`` and return (outputs, grads by name)."""
    module.zero_grad()
    inputs = [i.detach().clone().requires_grad_(True) if isinstance(i, torch.Tensor) and i.is_floating_point() else i
              for i in inputs]
    y, h = call(module, *inputs)
    loss_of(y, h).backward()
    grads = {n: p.grad.clone() for n, p in module.named_parameters()}
    for k, i in enumerate(inputs):
        if isinstance(i, torch.Tensor) and i.requires_grad:
            grads[f"input{k}"] = i.grad.clone()
    return (flat_output(y),) + as_tuple(h), grads


def assert_close_all(a, b, atol, rtol=0.0, what=""):
    assert len(a) == len(b), what
    for i, (x, y) in enumerate(zip(a, b)):
        assert x.shape == y.shape, f"{what}[{i}]: shape {tuple(x.shape)} vs {tuple(y.shape)}"
        torch.testing.assert_close(x, y, atol=atol, rtol=rtol, msg=lambda m: f"{what}[{i}]: {m}")


def assert_grads_close(ga: dict, gb: dict, atol, rtol=0.0):
    assert ga.keys() == gb.keys(), (sorted(ga), sorted(gb))
    for k in ga:
        torch.testing.assert_close(ga[k], gb[k], atol=atol, rtol=rtol, msg=lambda m: f"grad of {k}: {m}")


def whole_then_steps(run, monkeypatch, kernel_module, pieces: int):
    """``run()`` on the compiled whole-sequence loops — checked to run twice (forward and backward), each cut into
    ``pieces`` row ranges — and again on the compiled steps (``kernel_module.native_sequence`` says none): both
    results, for the caller to compare."""
    found, real = [], kernel_module.native_sequence
    with monkeypatch.context() as m:
        m.setattr(kernel_module, "native_sequence", lambda *a, **k: found.append(real(*a, **k)) or found[-1])
        whole = run()
    assert len(found) == 2 and all(f is not None and f.pieces == pieces for f in found)
    with monkeypatch.context() as m:
        m.setattr(kernel_module, "native_sequence", lambda *a, **k: None)
        steps = run()
    return whole, steps


def compiled_or_torch(which: str, monkeypatch, *kernel_modules) -> str:
    """Run on ``which`` path of a hand-written kernel: "sequence" — the compiled whole-sequence loops of
    ``rnnkit.recurrence.native`` (rows split across threads), "steps" — its compiled steps with Python between them
    (the module's ``native_sequence`` says none; what runs under autocast's lower-precision products), both skipped
    where the library is not built, or "torch" — the torch-operation path (its ``native_function`` says none). Every
    module that holds the kernel's names is patched."""
    from rnnkit.recurrence import native

    if which in ("sequence", "steps"):
        if "in use" not in native.status():
            import pytest

            pytest.skip(f"the compiled steps are not available here: {native.status()}")
        if which == "steps":
            for module in kernel_modules:
                if hasattr(module, "native_sequence"):
                    monkeypatch.setattr(module, "native_sequence", lambda *a, **k: None)
    else:
        for module in kernel_modules:
            for name in ("native_function", "native_sequence"):
                if hasattr(module, name):
                    monkeypatch.setattr(module, name, lambda *a, **k: None)
    return which


def plain_linear(a, b, h):
    """``h_t = a_t ⊙ h_{t-1} + b_t`` written out step by step: the reference for the linear recurrence's kernels."""
    out = []
    for t in range(a.shape[0]):
        h = a[t] * h + b[t]
        out.append(h)
    return torch.stack(out)


def on_one_thread(fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` with torch on one thread (then the thread count as it was): what a member trained side
    by side in its own worker process runs on, so a serial run this way is its bit-for-bit reference."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return fn(*args, **kwargs)
    finally:
        torch.set_num_threads(threads)


def assert_keras_files_move_both_ways(keras_model, rnnkit_model, x, folder, atol=1e-5, want=None) -> None:
    """Each library's ``.keras`` file, loaded by the other, predicts what the model that wrote it predicts (or, given,
    ``want``: one expected prediction for both)."""
    import keras
    import numpy as np

    import rnnkit.keras as rk

    rnnkit_model.save(folder / "ours.keras")
    np.testing.assert_allclose(keras.models.load_model(folder / "ours.keras").predict(x, verbose=0),
                               rnnkit_model.predict(x, verbose=0) if want is None else want, atol=atol)
    keras_model.save(folder / "theirs.keras")
    np.testing.assert_allclose(rk.models.load_model(folder / "theirs.keras").predict(x, verbose=0),
                               keras_model.predict(x, verbose=0) if want is None else want, atol=atol)


def predicts_and_trains_as_keras(build, x, y, rng, rtol: float = 1e-5, batch_size=None, atol: float = 1e-6):
    """``build(lib)`` for real Keras and for rnnkit.keras, started from the same (perturbed) weights: the same
    predictions, and the same epoch losses and weights after two epochs of ``fit`` on (x, y) (batches of
    ``batch_size``, Keras's 32 by default). Returns (theirs, ours)."""
    import keras
    import numpy as np

    import rnnkit.keras as rk

    theirs, ours = build(keras), build(rk)
    assert [tuple(w.shape) for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]
    weights = [w + rng.normal(size=w.shape).astype("float32") * 0.1 if np.issubdtype(w.dtype, np.floating) else w
               for w in theirs.get_weights()]  # (a count, as Normalization's, stays a whole number)
    theirs.set_weights(weights)
    ours.set_weights(weights)
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), rtol=1e-5, atol=atol)
    kw = dict(epochs=2, verbose=0, shuffle=False, batch_size=batch_size)
    want = theirs.fit(x, y, **kw).history["loss"]
    np.testing.assert_allclose(ours.fit(x, y, **kw).history["loss"], want, rtol=rtol)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=max(atol, 1e-6))
    return theirs, ours
