"""``rnnkit export RUN --format onnx --out DIR``: a run's models as ONNX graphs whose recurrent state is explicit.

onnxruntime keeps no state between calls (onnxruntime#11085), so every graph takes the state as inputs and returns the new
state as outputs (``h0, c0 → h, c``); a caller streams by feeding it back. Which graphs a run has is its task's business
(``predictor.graphs()``: a language model's one-token ``step`` and whole-text ``sequence``, a classifier's ``classify``,
a config run's ``sequence``); this module only turns them into files, checks them and describes them:

* **Exporter**: ``torch.onnx.export(..., dynamo=True)`` — torch's default, the ``torch.export``-based exporter — for every
  graph. The recurrent layers are exported on rnnkit's ``scan`` backend (the cells' own step under torch's scan
  operator; every layer switches to it while exported), which becomes an ONNX ``Scan`` with a dynamic number of steps
  for every cell, FeedbackRNN included. The legacy TorchScript exporter is not used: it cannot export a scan, and
  torch's fused kernels export only for some cells (with the dynamo exporter a tanh ``nn.RNN``'s graph was even fixed
  to the traced length).
* **Variable lengths** go through masks (the state is carried unchanged through padding; the backward direction of a
  bidirectional layer reads each sequence reversed within its length) — not ``PackedSequence``, which does not export
  (pytorch#62240).
* **Checked** before the files are kept: each graph runs in onnxruntime on fresh random inputs of several batch sizes and
  lengths, against the PyTorch model itself (its usual backend); the largest difference is in the manifest and must be
  below ``atol`` (1e-4).
* ``manifest.json``: task, graphs (file, inputs and outputs with dtypes and shapes — ``batch``/``time`` where they may
  vary), opset, exporter, torch and onnx versions, the check's errors, and the files that travel with the graphs
  (``tokenizer.json``; the labels).
"""

from __future__ import annotations

import inspect
import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import torch

from rnnkit.diagnostics.report import prepare_out_dir
from rnnkit.tasks import registry
from rnnkit.tasks.graphs import as_tuple
from rnnkit.train.checkpoint import atomic_write_text

MANIFEST = "manifest.json"
FORMAT = "rnnkit-onnx-1"
CHECK_SHAPES = ((3, 7), (1, 1), (6, 19))  # (batch, time) the graphs are checked at, besides the traced (2, 5)


class ExportError(RuntimeError):
    """The exported graph does not compute what the model computes (or could not be exported)."""


def _dynamic_shapes(spec) -> tuple:
    dims = {}

    def dim(label):
        if label not in dims:
            dims[label] = torch.export.Dim(label, min=1, max=1 << 20)
        return dims[label]

    specs = [{axis: dim(label) for axis, label in spec.dynamic.get(name, {}).items()} or None for name in spec.inputs]
    params = inspect.signature(spec.module.forward).parameters.values()
    fixed = sum(p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for p in params)
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params):  # forward(ids, *state): the rest is one tuple
        return (*specs[:fixed], tuple(specs[fixed:]))
    return tuple(specs)


def _describe(names, tensors, dynamic) -> list[dict]:
    out = []
    for name, t in zip(names, tensors):
        axes = dynamic.get(name, {})
        shape = [axes.get(i, int(n)) for i, n in enumerate(t.shape)]
        out.append({"name": name, "dtype": str(t.dtype).replace("torch.", ""), "shape": shape})
    return out


def _declared(values) -> list[dict]:
    """Name, dtype and shape of ONNX graph inputs/outputs as the saved graph declares them (a free axis by its name)."""
    from onnx.helper import tensor_dtype_to_np_dtype

    out = []
    for v in values:
        t = v.type.tensor_type
        out.append({"name": v.name, "dtype": tensor_dtype_to_np_dtype(t.elem_type).name,
                    "shape": [d.dim_param or int(d.dim_value) for d in t.shape.dim]})
    return out


def check_graph(path: Path, spec, reference: torch.nn.Module, shapes=CHECK_SHAPES, seed: int = 0) -> float:
    """The largest |onnxruntime − torch| over every output, on random inputs of each (batch, time) in ``shapes``."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only: its notes on unused initializers are not the user's business
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    g = torch.Generator().manual_seed(seed)
    worst = 0.0
    for batch, steps in shapes:
        inputs = spec.sample(batch, steps, g)
        with torch.no_grad():
            expected = as_tuple(reference(*inputs))
        got = session.run(spec.outputs, {n: t.numpy() for n, t in zip(spec.inputs, inputs)})
        for name, e, o in zip(spec.outputs, expected, got):
            if tuple(o.shape) != tuple(e.shape):
                raise ExportError(f"{path.name}: output {name!r} has shape {o.shape} in onnxruntime but "
                                  f"{tuple(e.shape)} in torch (batch {batch}, time {steps})")
            diff = np.abs(o.astype(np.float64) - e.numpy().astype(np.float64))  # as numbers: masks are bool
            worst = max(worst, float(diff.max()) if o.size else 0.0)
    return worst


def export_run(run_dir: str | Path, out_dir: str | Path, *, atol: float = 1e-4, force: bool = False,
               progress=None) -> dict:
    """Export every graph of the run's task to ``out_dir``; return the manifest (also written as manifest.json)."""
    import onnx

    run_dir, out = Path(run_dir), Path(out_dir)
    task = registry.task_of(run_dir)
    predictor = registry.load(run_dir)
    out = prepare_out_dir(out, force)
    say = progress or (lambda *_: None)
    manifest = {"format": FORMAT, "task": task.name, "run": str(run_dir), "torch": torch.__version__,
                "onnx": onnx.__version__, "exporter": "torch.onnx.export(dynamo=True), recurrent layers on the scan "
                                                      "backend", "graphs": {}, "files": {}}
    for spec in predictor.graphs():
        say(f"exporting graph {spec.name!r} ({spec.description}) ...")
        module = spec.module.eval()  # while exported, every rnnkit recurrent layer runs on the scan backend
        example = spec.sample(2, 5, torch.Generator().manual_seed(1))
        path = out / f"{spec.name}.onnx"
        try:
            with warnings.catch_warnings(), torch.no_grad():  # no gradients: torch's scan operator then traces
                warnings.simplefilter("ignore")                  # no backward graph (the export took ~1.7 × longer)
                program = torch.onnx.export(module, example, dynamo=True, input_names=spec.inputs,
                                            output_names=spec.outputs, dynamic_shapes=_dynamic_shapes(spec),
                                            verbose=False)
            program.save(str(path))
        except Exception as e:  # noqa: BLE001 - the exporter raises many kinds; the message says which graph
            raise ExportError(f"exporting graph {spec.name!r} of {run_dir} failed: {type(e).__name__}: {e}") from e
        reference = module
        error = check_graph(path, spec, reference)
        if not error <= atol:
            path.unlink(missing_ok=True)
            raise ExportError(f"graph {spec.name!r}: onnxruntime differs from torch by {error:.3g} (> {atol:g})")
        graph = onnx.load(str(path), load_external_data=False)
        manifest["opset"] = next(o.version for o in graph.opset_import if o.domain in ("", "ai.onnx"))
        manifest["graphs"][spec.name] = {
            "file": path.name, "description": spec.description,
            "inputs": _describe(spec.inputs, example, spec.dynamic),
            "outputs": _declared(graph.graph.output),
            "max_abs_error_vs_torch": error, **spec.notes}
        say(f"  {path.name}: checked against torch, max |difference| {error:.2e}")
    for name in ("tokenizer.json", *getattr(predictor, "export_files", list)()):
        if name and (run_dir / name).is_file():
            shutil.copyfile(run_dir / name, out / name)
            manifest["files"][name.split(".")[0]] = name
    atomic_write_text(out / MANIFEST, json.dumps(manifest, indent=2))
    return manifest


def load_manifest(folder: str | Path) -> dict:
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"{folder} holds no {MANIFEST}: export a run first (rnnkit export RUN --out DIR)")
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT:
        raise ValueError(f"{path}: not an rnnkit ONNX export (format {manifest.get('format')!r})")
    return manifest
