"""Keras's ``model.export(filepath, format=...)`` for rnnkit.keras models, on torch's exporters:

* ``"onnx"``: ``torch.onnx.export(dynamo=True)`` — the batch axis and every axis an ``Input`` leaves free (``None``:
  the time axis of a sequence model) stay dynamic; recurrent layers are traced as torch's scan operator, so the graph
  runs any length; the ONNX inputs are named after the model's Inputs.
* ``"torch"``: a ``torch.export`` program (``torch.export.save``; ``torch.export.load(path).module()`` runs it), with
  the same dynamic axes.

``"tf_saved_model"``, ``"openvino"`` and ``"litert"`` need TensorFlow or OpenVINO, which rnnkit does not use."""

from __future__ import annotations

import torch

FORMATS = ("tf_saved_model", "onnx", "openvino", "litert", "torch")


def _sample_and_axes(model, input_signature):
    """A sample input per graph input (batch 2, a free axis 5 long) and its dynamic axes, for the exporters."""
    inputs = model.__dict__.get("graph_inputs")
    if not inputs:
        raise ValueError("export needs a built model: call it on data (or give it an Input) first")
    shapes = [tuple(s) for s in (input_signature or [])] or [(None, *t.feature_shape) for t in inputs]
    samples, axes = [], []
    for i, (shape, kt) in enumerate(zip(shapes, inputs)):
        dims = [2 if i_ == 0 else 5 if d is None else d for i_, d in enumerate(shape)]
        dtype = kt.dtype if isinstance(kt.dtype, torch.dtype) else torch.float32
        samples.append(torch.zeros(dims, dtype=dtype))
        axes.append({a: torch.export.Dim("batch" if a == 0 else f"input{i}_axis{a}")
                     for a, d in enumerate(shape) if a == 0 or d is None})
    return samples, axes, [t.name for t in inputs]


def export(model, filepath, format="tf_saved_model", verbose=None, input_signature=None, **kwargs):  # noqa: A002
    if format not in FORMATS:
        raise ValueError(f"Unrecognized format={format}. Supported formats are: {list(FORMATS)}.")
    if format not in ("onnx", "torch"):
        raise ValueError(f"export format {format!r} needs TensorFlow or OpenVINO, which rnnkit does not use; "
                         "rnnkit.keras exports format='onnx' and format='torch'")
    samples, axes, names = _sample_and_axes(model, input_signature)
    model.eval()
    dynamic = tuple(axes) if len(axes) > 1 else (axes[0],)
    with torch.no_grad():
        if format == "onnx":
            torch.onnx.export(model, tuple(samples) if len(samples) > 1 else (samples[0],), str(filepath),
                              dynamo=True, input_names=names, dynamic_shapes=dynamic, verbose=bool(verbose),
                              **kwargs)
        else:
            program = torch.export.export(model, (samples,) if len(samples) > 1 else (samples[0],),
                                          dynamic_shapes=(tuple(axes),) if len(axes) > 1 else (axes[0],))
            torch.export.save(program, str(filepath))
