"""On a CUDA GPU, rnnkit computes what it computes on the CPU: every cell × backend (outputs, final states and all
gradients against the same layer on the CPU in float64), torch.nn's cuDNN modules where the layer runs them, mixed
precision, the parallel scan at 4096 steps, the regularisers, the trainer (``train.device``) with exact resume, and
every task trained on the GPU, then used on the CPU.

These tests need a GPU, so they are skipped where torch sees none (as on CI); run them on one with
``pytest tests/test_cuda.py``. The rest of the suite runs there too, its trainers kept on the CPU (``conftest.py``).
"""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

import rnnkit
from rnnkit.layers import CELL_NAMES, make_layer
from rnnkit.train import Config, Trainer
from rnnkit.train.distributed import resolve_device

if not torch.cuda.is_available():
    pytest.skip("needs a CUDA GPU (torch sees none)", allow_module_level=True)

CUDA = torch.device("cuda")
I, H, B, T = 5, 6, 4, 9
LENGTHS = [9, 3, 7, 1]


def _cases():
    """Every cell name with every backend its layer accepts."""
    out = []
    for cell in CELL_NAMES:
        for backend in ("auto", "fused", "loop", "scan"):
            try:
                make_layer(cell, I, H, backend=backend)
            except ValueError:
                continue
            out.append((cell, backend))
    return out


def _layer(cell, backend, **kw):
    """Two layers, bidirectional where the cell has a reverse direction (the Gated-Feedback RNN has none)."""
    bi = {} if cell.startswith("feedback") else {"bidirectional": True}
    return make_layer(cell, I, H, num_layers=2, backend=backend, **bi, **kw)


@pytest.fixture(autouse=True)
def _no_tf32():
    """Plain float32 products (cuDNN and cuBLAS may otherwise round inputs to TF32's 10-bit mantissa)."""
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def _run(layer, x, lengths):
    out, state = layer(x, lengths=lengths)
    states = state if isinstance(state, tuple) else (state,)
    loss = (out * torch.linspace(-1, 1, out.shape[-1], dtype=out.dtype, device=out.device)).sum() + \
        sum((s * s).sum() for s in states)
    grads = torch.autograd.grad(loss, [x, *layer.parameters()])
    return [out, *states, *grads]


@pytest.mark.parametrize("cell,backend", _cases())
@pytest.mark.parametrize("lengths_on", ["cpu", "cuda"])
def test_every_cell_and_backend_on_the_gpu_matches_the_cpu(cell, backend, lengths_on):
    """Two stacked (bidirectional) layers, ragged lengths: outputs, final states and gradients (input and every
    parameter) agree with the CPU in float64 — whichever kernel each device picks (cuDNN, the hand-written BPTT, the
    scan). Lengths may live on either device (torch.nn wants them on the CPU; rnnkit takes both)."""
    torch.manual_seed(0)
    cpu = _layer(cell, backend).double()
    gpu = copy.deepcopy(cpu).to(CUDA)
    x = torch.randn(B, T, I, dtype=torch.float64)
    lengths = torch.tensor(LENGTHS)
    want = _run(cpu, x.clone().requires_grad_(), lengths)
    got = _run(gpu, x.to(CUDA).requires_grad_(), lengths.to(lengths_on))
    assert all(g.device == CUDA or g.device.type == CUDA.type for g in got)
    for w, g in zip(want, got):
        torch.testing.assert_close(g.cpu(), w, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "layernorm-lstm", "layernorm-gru", "feedback", "mingru",
                                  "indrnn"])
def test_float32_on_the_gpu_is_float32_close_to_float64(cell):
    torch.manual_seed(1)
    ref = make_layer(cell, I, 32, num_layers=2).double()
    gpu = copy.deepcopy(ref).float().to(CUDA)
    x = torch.randn(B, 20, I, dtype=torch.float64)
    want = _run(ref, x.clone().requires_grad_(), None)
    got = _run(gpu, x.float().to(CUDA).requires_grad_(), None)
    for w, g in zip(want, got):
        torch.testing.assert_close(g.double().cpu(), w, rtol=1e-2, atol=1e-3)  # a device bug is off by O(1)


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_the_standard_layers_equal_torch_nn_on_the_gpu(kind):
    """rnnkit.LSTM/GRU/RNN with torch.nn's weights give torch.nn's (cuDNN's) outputs and gradients on the GPU."""
    torch.manual_seed(2)
    ref = getattr(nn, kind)(I, H, num_layers=2, bidirectional=True, batch_first=True).to(CUDA)
    for backend in ("auto", "loop"):
        ours = getattr(rnnkit, kind)(I, H, num_layers=2, bidirectional=True, batch_first=True, backend=backend)
        ours.load_state_dict(ref.state_dict())
        ours.to(CUDA)
        x = torch.randn(B, T, I, device=CUDA)
        y_ref, s_ref = ref(x)
        y, s = ours(x)
        torch.testing.assert_close(y, y_ref, rtol=1e-4, atol=2e-5)  # float32: cuDNN's sums in another order
        s_ref, s = (s_ref if isinstance(s_ref, tuple) else (s_ref,)), (s if isinstance(s, tuple) else (s,))
        for a, b in zip(s, s_ref):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=2e-5)
        g_ref = torch.autograd.grad(y_ref.square().sum(), list(ref.parameters()))
        g = torch.autograd.grad(ours(x)[0].square().sum(), list(ours.parameters()))
        for a, b in zip(g, g_ref):
            torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-4)  # float32 sums over all steps


def _layout(layer):
    """(one buffer for all weights?, each weight's offset in it, the buffer's size) — compared with torch.nn's own."""
    ws = layer._flat_weights
    one = len({w.untyped_storage().data_ptr() for w in ws}) == 1
    return one, [w.storage_offset() for w in ws], ws[0].untyped_storage().nbytes()


@pytest.mark.parametrize("kind,kw", [("LSTM", {}), ("LSTM", {"proj_size": 3}), ("GRU", {}), ("RNN", {"bias": False}),
                                     ("RNN", {"nonlinearity": "relu"})])
def test_flatten_parameters_puts_the_weights_in_one_chunk_as_torch_nn_does(kind, kw, recwarn):
    """As torch.nn: moving a layer to the GPU (or building it there) puts its weights into one cuDNN buffer — the
    same Parameter objects, now views —, so forward does not warn that cuDNN copies them ("not part of single
    contiguous chunk"); loading weights, an optimizer step and ``.half()`` keep it so, and results equal torch.nn's."""
    torch.manual_seed(3)
    ref = getattr(nn, kind)(I, H, num_layers=2, bidirectional=True, batch_first=True, **kw).to(CUDA)
    ours = getattr(rnnkit, kind)(I, H, num_layers=2, bidirectional=True, batch_first=True, **kw)
    params = list(ours.parameters())
    ours.to(CUDA)
    want = _layout(ref)
    assert want[0] and [id(p) for p in ours.parameters()] == [id(p) for p in params] and _layout(ours) == want
    built_there = getattr(rnnkit, kind)(I, H, num_layers=2, bidirectional=True, device=CUDA, **kw)
    assert _layout(built_there) == want
    ours.load_state_dict(ref.state_dict())
    assert _layout(ours) == want
    x = torch.randn(B, T, I, device=CUDA)
    torch.testing.assert_close(ours(x)[0], ref(x)[0], rtol=1e-4, atol=2e-5)
    opt = torch.optim.Adam(ours.parameters(), lr=1e-2)
    ours(x)[0].square().sum().backward()
    opt.step()
    assert _layout(ours) == want
    ref.load_state_dict(ours.state_dict())
    torch.testing.assert_close(ours(x)[0], ref(x)[0], rtol=1e-4, atol=2e-5)
    assert not [w for w in recwarn if "contiguous chunk" in str(w.message)]
    ours.half()
    assert _layout(ours)[:2] == want[:2]


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_a_layer_in_eval_mode_has_gradients_on_cudnn(kind):
    """torch.nn raises "cudnn RNN backward can only be called in training mode"; rnnkit's layers in eval mode give
    the CPU's input and weight gradients (saliency, attacks, a frozen encoder), with no dropout between layers."""
    torch.manual_seed(4)
    cpu = getattr(rnnkit, kind)(I, H, num_layers=2, dropout=0.5).double().eval()
    gpu = copy.deepcopy(cpu).to(CUDA)
    x = torch.randn(T, B, I, dtype=torch.float64)
    want = _run(cpu, x.clone().requires_grad_(), None)
    got = _run(gpu, x.to(CUDA).requires_grad_(), None)
    for a, b in zip(got, want):
        torch.testing.assert_close(a.cpu(), b, rtol=1e-7, atol=1e-9)


def test_flatten_parameters_leaves_layers_without_a_cudnn_kernel_alone():
    """GRU(reset_after=False) and the new cells have no cuDNN kernel: their weights stay separate tensors."""
    for layer in (rnnkit.GRU(I, H, reset_after=False), rnnkit.LayerNormLSTM(I, H), rnnkit.IndRNN(I, H)):
        ptrs = {p.untyped_storage().data_ptr() for p in layer.to(CUDA).parameters()}
        assert len(ptrs) == len(list(layer.parameters()))


def test_a_flattened_layer_saves_and_loads_through_safetensors(tmp_path):
    """Views of one buffer are written as separate tensors (safetensors refuses shared memory) and load back."""
    from rnnkit.train.checkpoint import load_model_files, save_model

    layer = rnnkit.LSTM(I, H, num_layers=2).to(CUDA)
    save_model(tmp_path, layer, {"kind": "test"})
    again = rnnkit.LSTM(I, H, num_layers=2)
    again.load_state_dict(load_model_files(tmp_path)[0])
    for a, b in zip(again.parameters(), layer.parameters()):
        assert torch.equal(a, b.cpu())


@pytest.mark.parametrize("kind", ["MinGRU", "MinLSTM"])
@pytest.mark.parametrize("backend", ["scan", "auto"])
@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-10), (torch.float32, 1e-5)])
def test_the_parallel_scan_equals_the_sequential_recurrence_at_4096_steps_on_the_gpu(kind, backend, dtype, tol):
    """Both parallel paths (``scan``: log space; ``auto`` on a GPU: linear space, hand-written backward) give the
    step-by-step recurrence's outputs, final states and gradients at 4096 steps, with a shorter sequence padded."""
    torch.manual_seed(3)
    scan = getattr(rnnkit, kind)(I, 16, backend=backend, batch_first=True).to(CUDA, dtype)
    loop = copy.deepcopy(scan)
    loop.backend = "loop"
    x = torch.randn(2, 4096, I, device=CUDA, dtype=dtype)
    lengths = torch.tensor([4096, 1777])
    results = []
    for layer in (scan, loop):
        y, h = layer(x, lengths=lengths)
        results.append((y, h, *torch.autograd.grad(y.sum() + h.square().sum(), list(layer.parameters()))))
    for i, (a, b) in enumerate(zip(*results)):
        sums = 1.0 if i < 2 else 10.0  # the weight gradients sum over 5,873 steps
        torch.testing.assert_close(a, b, rtol=tol * sums, atol=tol * sums * max(1.0, b.abs().max().item()))


@pytest.mark.parametrize("cell", ["lstm", "gru", "layernorm-lstm", "layernorm-gru", "feedback", "minlstm"])
def test_bf16_autocast_on_the_gpu_stays_within_bfloat16_rounding_of_float32(cell):
    """A few steps (over long runs the layer-normalised LSTM amplifies any rounding, bfloat16's or of its weights
    alone), with ``backward()`` called inside the autocast block as users do."""
    torch.manual_seed(4)
    layer = make_layer(cell, 16, 64, num_layers=2).to(CUDA)
    x = torch.randn(8, 6, 16, device=CUDA)
    want = layer(x)[0]
    with torch.autocast("cuda", dtype=torch.bfloat16):
        got = layer(x)[0]
        got.float().square().mean().backward()
    assert torch.isfinite(got).all()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in layer.parameters())
    assert (got.float() - want).abs().max() < 0.1


@pytest.mark.parametrize("reg", [{"variational_dropout": 0.3}, {"weight_drop": 0.3}, {"zoneout": 0.3},
                                 {"recurrent_dropout": 0.3}])
def test_regularisers_on_the_gpu(reg):
    """Train mode: masks drawn on the GPU, gradients finite, and one seed gives every backend the same run; eval
    mode: exactly the unregularised layer on the CPU."""
    torch.manual_seed(5)
    layers = {be: rnnkit.LSTM(I, H, num_layers=2, batch_first=True, backend=be, **reg) for be in ("auto", "loop")}
    layers["loop"].load_state_dict(layers["auto"].state_dict())
    plain = rnnkit.LSTM(I, H, num_layers=2, batch_first=True)
    plain.load_state_dict(layers["auto"].state_dict())
    x = torch.randn(B, T, I)
    outs = {}
    for be, layer in layers.items():
        layer.to(CUDA).train()
        torch.manual_seed(7)
        y = layer(x.to(CUDA))[0]
        y.square().sum().backward()
        assert all(torch.isfinite(p.grad).all() for p in layer.parameters())
        outs[be] = y.detach()
        layer.eval()
        torch.testing.assert_close(layer(x.to(CUDA))[0].cpu(), plain(x)[0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(outs["auto"], outs["loop"], rtol=1e-4, atol=2e-5)  # float32, the same masks


def _adding(n, T, seed):
    g = torch.Generator().manual_seed(seed)
    v = torch.rand(n, T, generator=g)
    m = torch.zeros(n, T)
    for i in range(n):
        a, b = torch.randperm(T, generator=g)[:2]
        m[i, a] = m[i, b] = 1
    return torch.utils.data.TensorDataset(torch.stack([v, m], -1), (v * m).sum(1, keepdim=True))


class _Regressor(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = rnnkit.LSTM(2, 16, batch_first=True, variational_dropout=0.2)
        self.head = nn.Linear(16, 1)

    def forward(self, x):
        return self.head(self.rnn(x)[0][:, -1])

    def training_step(self, batch):
        x, y = batch
        return {"loss": nn.functional.mse_loss(self(x), y)}

    @torch.no_grad()
    def validation_step(self, batch):
        return {"loss": self.training_step(batch)["loss"].item()}


def _trainer(out, steps):
    cfg = Config()
    cfg.data.batch_size = 16
    cfg.train.max_steps, cfg.train.checkpoint_every, cfg.train.progress = steps, 2, False
    cfg.train.device = "cuda"
    torch.manual_seed(0)
    return Trainer(_Regressor(), _adding(128, 12, 0), _adding(32, 12, 1), config=cfg, out_dir=out)


def test_the_trainer_trains_on_the_gpu_and_resumes_exactly(tmp_path):
    """``train.device="cuda"``: the model and batches live on the GPU; a run stopped after 3 steps and resumed for 3
    more ends with the weights of one 6-step run (dropout masks come from the GPU's generator, which the checkpoint
    carries)."""
    whole = _trainer(tmp_path / "whole", 6)
    whole.fit()
    assert next(whole.raw_model.parameters()).device.type == "cuda"
    part = _trainer(tmp_path / "part", 3)
    part.fit()
    resumed = _trainer(tmp_path / "part", 6)
    resumed.fit(resume=True)
    for a, b in zip(whole.raw_model.state_dict().values(), resumed.raw_model.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6)


def test_auto_picks_the_gpu_and_a_missing_index_is_refused_by_name():
    assert resolve_device("auto").type == "cuda"
    with pytest.raises(ValueError, match="cuda:99"):
        resolve_device("cuda:99")


# --- every task trains on the GPU; its run folder is then used on the CPU ---------------------------------------------
FIX = __import__("pathlib").Path(__file__).parent / "fixtures"


def test_the_language_model_trains_on_the_gpu_resumes_bit_for_bit_and_generates_on_the_cpu(tmp_path):
    from rnnkit.tasks.lm import LMOptions, LMPredictor, evaluate_language_model, train_language_model

    common = dict(data=str(FIX / "tiny_corpus.txt"), hidden_size=16, embedding_dim=8, streams=2, bptt=10,
                  checkpoint_every=3, eval_every=3, dropout=0.1, scheduler="none", device="cuda", progress=False)
    whole = train_language_model(LMOptions(max_steps=6, **common), tmp_path / "whole")
    train_language_model(LMOptions(max_steps=3, **common), tmp_path / "parts")
    train_language_model(LMOptions(max_steps=6, **common), tmp_path / "parts", resume=True)
    assert (tmp_path / "whole" / "model.safetensors").read_bytes() == \
        (tmp_path / "parts" / "model.safetensors").read_bytes()
    assert evaluate_language_model(tmp_path / "whole")["val_bits_per_token"] == pytest.approx(
        whole["val_bits_per_token"], rel=1e-4)
    p = LMPredictor(tmp_path / "whole")
    assert next(p.model.parameters()).device.type == "cpu"
    assert len(p.predict(["the "], length=5)[0]) > 0


def test_the_classifier_trains_on_the_gpu_and_predicts_on_the_cpu(tmp_path):
    from rnnkit.tasks.classify import ClassifierPredictor, ClassifyOptions, train_classifier

    results = train_classifier(ClassifyOptions(data=str(FIX / "tiny_sentiment.csv"), min_freq=1, hidden_size=8,
                                               embedding_dim=8, batch_size=16, val_fraction=0.2, cell="gru", epochs=2,
                                               device="cuda", progress=False), tmp_path / "run")
    assert 0 <= results["validation_accuracy"] <= 1
    labels = {label for label, _ in ClassifierPredictor(tmp_path / "run").predict(["a fine film", "dull"])}
    assert labels


def test_the_translator_trains_on_the_gpu_scoring_bleu_there_and_translates_on_the_cpu(tmp_path):
    import random

    from rnnkit.tasks.translate import TranslateOptions, train_translator, translate
    from tests.test_translate import sentence_pair

    rng = random.Random(0)
    rows = [sentence_pair(rng) for _ in range(200)]
    (tmp_path / "pairs.tsv").write_text("en\tes\n" + "".join(f"{a}\t{b}\n" for a, b in rows), encoding="utf-8")
    results = train_translator(TranslateOptions(data=str(tmp_path / "pairs.tsv"), src_col="en", tgt_col="es",
                                                tokenizer="word", min_freq=1, embedding_dim=16, hidden_size=16,
                                                batch_size=32, max_steps=6, bleu_sentences=5, device="cuda",
                                                progress=False), tmp_path / "run")
    assert 0 <= results["val_bleu"] <= 100
    assert isinstance(translate(tmp_path / "run", "one dog"), str)


def test_the_forecaster_trains_on_the_gpu_validating_there_and_forecasts_on_the_cpu(tmp_path):
    from rnnkit.tasks.forecast import ForecastOptions, forecast, train_forecaster
    from tests.test_forecast import write_panel

    data = write_panel(tmp_path / "p.csv", n_series=4, length=60)
    results = train_forecaster(ForecastOptions(data=str(data), hidden_size=16, batch_size=32, max_steps=6,
                                               checkpoint_every=0, device="cuda", progress=False), tmp_path / "run")
    assert all(v == v for k, v in results.items() if isinstance(v, float))  # no NaN
    table = forecast(tmp_path / "run")
    assert len(table) > 0


def test_speech_recognition_trains_on_the_gpu_scoring_cer_there(tmp_path):
    import json

    import numpy as np
    import soundfile

    from rnnkit.tasks.speech import ASROptions, train_asr

    rng = np.random.default_rng(0)
    rows = []
    for i, text in enumerate(["yes", "no", "up", "go left"] * 3):
        soundfile.write(tmp_path / f"{i}.wav", rng.normal(0, 0.1, 8000 + 800 * i).astype(np.float32), 16000)
        rows.append({"audio": f"{i}.wav", "text": text})
    (tmp_path / "m.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    m = str(tmp_path / "m.jsonl")
    results = train_asr(ASROptions(data=m, validation=m, n_mels=20, hidden_size=16, batch_size=4, max_steps=4,
                                   epochs=100, device="cuda", progress=False), tmp_path / "run")
    assert 0 <= results["val_cer"]


def test_the_keras_front_end_fits_on_the_gpu_as_keras_torch_backend_does(tmp_path, monkeypatch):
    """rnnkit.keras where torch sees a GPU: ``fit`` trains there (as Keras's torch backend), the weights end there, and
    the loss curve is the CPU's (same weights, same data, no shuffling); predict/evaluate take NumPy and return NumPy
    equal to the CPU model's; a layer called on arrays, a stateful LSTM, masking, callbacks and saving work."""
    import numpy as np

    import rnnkit.keras as rk
    from rnnkit.train import distributed

    rng = np.random.default_rng(0)
    ids = rng.integers(1, 9, size=(96, 10))
    ids[::2, 7:] = 0  # padding the Embedding masks
    y = (ids[:, 0] > 4).astype("int64")

    def model():
        tin = rk.Input((10,), dtype="int64")
        h = rk.layers.Bidirectional(rk.layers.LSTM(8))(rk.layers.Embedding(9, 4, mask_zero=True)(tin))
        out = rk.layers.Dense(2, activation="softmax")(rk.layers.Dense(8, activation="relu")(h))
        m = rk.Model(tin, out)
        m.compile(optimizer=rk.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return m

    cpu, gpu = model(), model()
    gpu.set_weights(cpu.get_weights())
    with monkeypatch.context() as m:
        m.setattr(distributed, "auto_device", lambda: torch.device("cpu"))
        h_cpu = cpu.fit(ids, y, epochs=3, batch_size=32, shuffle=False, verbose=0)
    ckpt = rk.callbacks.ModelCheckpoint(str(tmp_path / "best.keras"), monitor="loss", save_best_only=True)
    h_gpu = gpu.fit(ids, y, epochs=3, batch_size=32, shuffle=False, verbose=0, callbacks=[ckpt])
    assert all(w.device.type == "cuda" for w in gpu.weights) and all(w.device.type == "cpu" for w in cpu.weights)
    np.testing.assert_allclose(h_gpu.history["loss"], h_cpu.history["loss"], rtol=1e-4)
    p_gpu, p_cpu = gpu.predict(ids), cpu.predict(ids)
    assert isinstance(p_gpu, np.ndarray)
    np.testing.assert_allclose(p_gpu, p_cpu, atol=1e-4)
    np.testing.assert_allclose(gpu.evaluate(ids, y), cpu.evaluate(ids, y), rtol=1e-4)
    np.testing.assert_allclose(rk.models.load_model(tmp_path / "best.keras").predict(ids), p_gpu, atol=1e-5)
    gpu.save(tmp_path / "m.keras")
    np.testing.assert_allclose(rk.models.load_model(tmp_path / "m.keras").predict(ids), p_gpu, atol=1e-5)
    assert torch.is_tensor(gpu.layers[-1](np.ones((2, 8), "float32")))  # arrays go where the weights are
    assert gpu(ids[:2]).device.type == "cuda"

    X = rng.standard_normal((8, 5, 3)).astype("float32")
    stateful = rk.Sequential([rk.layers.GRU(4, stateful=True, batch_size=2, input_shape=(5, 3), dropout=0.2),
                              rk.layers.Dense(1)])
    stateful.compile(optimizer="adam", loss="mse")
    stateful.fit(X, X[:, 0, :1], batch_size=2, epochs=1, shuffle=False, verbose=0)
    stateful.layers[0].reset_states([np.zeros((2, 4), "float32")])
    assert stateful.predict(X[:2], batch_size=2).shape == (2, 1)
