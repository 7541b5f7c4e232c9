"""Shipping a trained run: ONNX graphs with explicit recurrent state (``rnnkit.export.onnx``)."""

from rnnkit.export.onnx import ExportError, export_run, load_manifest

__all__ = ["export_run", "load_manifest", "ExportError"]
