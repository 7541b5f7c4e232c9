"""onnxruntime against torch for exported runs, on CPU: batch-1 streaming steps and batched whole sequences.

Two runs are made (a few steps of training on the test fixtures, at realistic sizes): a character language model (LSTM
512, the austen recipe's size) and a text classifier (embedding 128, bidirectional LSTM 128, max pooling). Each is
exported (``rnnkit.export``), then timed interleaved:

* ``lm step``: one token, batch 1, state fed back — what streaming generation costs per token;
* ``lm sequence``: 32 streams × 128 tokens in one call;
* ``classify``: 32 padded texts of up to 100 tokens.

torch runs the model as rnnkit runs it (``backend="auto"``, no_grad); onnxruntime runs the exported graph (scan backend).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch

from benchmarks.timing import interleaved_medians, machine_line

FIX = Path(__file__).parent.parent / "tests" / "fixtures"


def make_runs(root: Path) -> tuple[Path, Path]:
    from rnnkit.tasks.classify import ClassifyOptions, train_classifier
    from rnnkit.tasks.lm import LMOptions, train_language_model

    lm, cls = root / "lm", root / "cls"
    train_language_model(LMOptions(data=str(FIX / "tiny_corpus.txt"), hidden_size=512, streams=2, bptt=10, max_steps=2,
                                   progress=False), lm)
    train_classifier(ClassifyOptions(data=str(FIX / "tiny_sentiment.csv"), epochs=1, min_freq=1, progress=False), cls)
    return lm, cls


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks export")
    ap.add_argument("--repeats", type=int, default=20)
    args = ap.parse_args(argv)
    import onnxruntime as ort

    from rnnkit.export import export_run
    from rnnkit.tasks import load

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        lm_run, cls_run = make_runs(root)
        export_run(lm_run, root / "lm_onnx")
        export_run(cls_run, root / "cls_onnx")
        lm, cls = load(lm_run), load(cls_run)
        options = ort.SessionOptions()
        options.log_severity_level = 3

        def session(path):
            return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

        step, seq = session(root / "lm_onnx" / "step.onnx"), session(root / "lm_onnx" / "sequence.onnx")
        clf = session(root / "cls_onnx" / "classify.onnx")
        g = torch.Generator().manual_seed(0)
        V, H = lm.model.config["vocab_size"], lm.model.config["hidden_size"]
        state = (torch.zeros(1, 1, H), torch.zeros(1, 1, H))
        token = torch.tensor([[5]])
        ids = torch.randint(4, V, (32, 128), generator=g)
        zeros32 = (torch.zeros(1, 32, H), torch.zeros(1, 32, H))
        cV = cls.model.config["vocab_size"]
        lengths = torch.randint(20, 101, (32,), generator=g)
        lengths[0] = 100
        texts = torch.randint(4, cV, (32, 100), generator=g).masked_fill(torch.arange(100)[None] >= lengths[:, None], 0)
        cases = {
            "lm step (batch 1)": ({"torch": lambda: lm.model(token, state),
                                   "onnxruntime": lambda: step.run(None, {"token": token.numpy(), "h0": state[0].numpy(),
                                                                          "c0": state[1].numpy()})}, 1),
            "lm sequence (32 x 128)": ({"torch": lambda: lm.model(ids, zeros32),
                                        "onnxruntime": lambda: seq.run(None, {"ids": ids.numpy(), "h0": zeros32[0].numpy(),
                                                                              "c0": zeros32[1].numpy()})}, 32 * 128),
            "classify (32 x <=100)": ({"torch": lambda: cls.model(texts, lengths),
                                       "onnxruntime": lambda: clf.run(None, {"ids": texts.numpy(),
                                                                             "lengths": lengths.numpy()})}, 32),
        }
        print(f"# rnnkit export: onnxruntime {ort.__version__} vs torch (no_grad, backend auto) — {machine_line()}")
        print(f"{'case':<26}{'torch ms':>10}{'ORT ms':>10}{'torch/ORT':>11}")
        with torch.no_grad():
            for name, (fns, _) in cases.items():
                t = interleaved_medians(fns, args.repeats, warmup=2)
                print(f"{name:<26}{t['torch'] * 1000:>10.3f}{t['onnxruntime'] * 1000:>10.3f}"
                      f"{t['torch'] / t['onnxruntime']:>11.2f}")
        np.testing.assert_allclose(step.run(None, {"token": token.numpy(), "h0": state[0].numpy(),
                                                   "c0": state[1].numpy()})[0],
                                   lm.model(token, state)[0][:, -1].detach().numpy(), atol=1e-4)


if __name__ == "__main__":
    main()
