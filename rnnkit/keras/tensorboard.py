"""Keras's ``TensorBoard`` callback, written with torch's ``SummaryWriter`` (Keras 3's needs TensorFlow's
``tf.summary`` even on the PyTorch backend). The files and tags are Keras's, so ``tensorboard --logdir logs`` shows a
run of rnnkit.keras as it shows one of Keras:

    log_dir/train/       epoch_<metric> at step = epoch (0-based), epoch_learning_rate, epoch_steps_per_second;
                         batch_<metric> at step = the batch's number in the fit (from 1) every ``update_freq``
                         batches; <weight path>/histogram (and /image) every ``histogram_freq`` epochs; the model's
                         JSON under the tag "keras" (TensorBoard's graph plugin; ``write_graph``)
    log_dir/validation/  epoch_<metric> (the val_ prefix dropped), evaluation_<metric>_vs_iterations at step = the
                         optimizer's iterations (after fit's validation and ``evaluate``)
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from rnnkit.keras.callbacks import Callback


def _summary_writer():
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as e:  # the tensorboard package is missing
        raise ImportError("keras.callbacks.TensorBoard needs the tensorboard package (pip install tensorboard)") from e
    return SummaryWriter


def weight_paths(layer, prefix: str = "") -> list[tuple[str, torch.Tensor]]:
    """(Keras's ``weight.path``, weight) of a layer and the layers in it: "lstm/lstm_cell/kernel", "dense/bias"."""
    path = f"{prefix}{layer.name}"
    own = [(f"{path}/{name}", getattr(layer, name)) for name in layer._weight_names]
    return own + [p for sub in layer._sublayers() for p in weight_paths(sub, f"{path}/")]


def weight_image(w: np.ndarray) -> np.ndarray | None:
    """A weight as Keras's TensorBoard shows it, (images, height, width, 1): a bias as one column, a kernel as one
    image with its longer side down, a 3-D kernel as one image per output channel; None for other shapes."""
    w = np.squeeze(w)
    if w.ndim == 1:
        return w.reshape(1, w.shape[0], 1, 1)
    if w.ndim == 2:
        w = w.T if w.shape[0] > w.shape[1] else w
        return w.reshape(1, w.shape[0], w.shape[1], 1)
    if w.ndim == 3:
        w = np.transpose(w, (2, 0, 1))  # channels last → one image per channel
        return w.reshape(*w.shape, 1)
    return None


def _keras_model_summary(tag: str, json_text: str):
    """The Summary proto Keras's ``keras_model_summary`` writes: the model's JSON as a string tensor for TensorBoard's
    graph plugin ("graph_keras_model")."""
    from tensorboard.compat.proto.summary_pb2 import Summary, SummaryMetadata
    from tensorboard.compat.proto.tensor_pb2 import TensorProto
    from tensorboard.compat.proto.types_pb2 import DT_STRING

    metadata = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="graph_keras_model", content=b"1"))
    tensor = TensorProto(dtype=DT_STRING, string_val=[json_text.encode()])
    return Summary(value=[Summary.Value(tag=tag, metadata=metadata, tensor=tensor)])


class TensorBoard(Callback):
    """Keras's ``TensorBoard(log_dir="logs", histogram_freq=0, write_graph=True, write_images=False,
    write_steps_per_second=False, update_freq="epoch", profile_batch=0, embeddings_freq=0, embeddings_metadata=None)``
    — the event files Keras writes (module docstring). ``update_freq``: "epoch", "batch" or every n batches;
    ``embeddings_freq``: the Embedding layers in ``projector_config.pbtxt`` and the weights saved every n epochs
    (Keras's ``train/keras_embedding.ckpt-<epoch>.weights.h5``). Profiling is Keras's TensorFlow/JAX feature:
    ``profile_batch`` other than 0 is refused, as Keras refuses it on the PyTorch backend."""

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=True, write_images=False,
                 write_steps_per_second=False, update_freq="epoch", profile_batch=0, embeddings_freq=0,
                 embeddings_metadata=None):
        if profile_batch:
            raise ValueError("Profiling is not available in rnnkit.keras (Keras profiles with TensorFlow or JAX). "
                             f"Received: profile_batch={profile_batch} (must be 0)")
        if not (update_freq in ("epoch", "batch") or (isinstance(update_freq, int) and update_freq > 0)):
            raise ValueError(f"update_freq: expected 'epoch', 'batch' or a positive number of batches, got "
                             f"{update_freq!r}")
        self.log_dir = str(log_dir)
        self.histogram_freq, self.write_graph, self.write_images = histogram_freq, write_graph, write_images
        self.write_steps_per_second = write_steps_per_second
        self.update_freq = 1 if update_freq == "batch" else update_freq
        self.embeddings_freq, self.embeddings_metadata = embeddings_freq, embeddings_metadata
        self._writers: dict = {}
        self._global_train_batch = 0
        self._epoch_start = (0.0, 0)

    # --- writers: created when first written to (no empty run folders) ---------------------------------------
    def _writer(self, run: str):
        if run not in self._writers:
            self._writers[run] = _summary_writer()(str(Path(self.log_dir) / run))
        return self._writers[run]

    def _close_writers(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    def set_model(self, model):
        self.model = model
        self._close_writers()
        from rnnkit.keras.sequential import Sequential
        from rnnkit.keras.summary import is_functional

        graph = isinstance(model, Sequential) or is_functional(model)
        if self.write_graph and graph:  # Keras writes it for Sequential and functional models, not subclassed ones
            self._writer("train")._get_file_writer().add_summary(_keras_model_summary("keras", model.to_json()), 0)
        if self.embeddings_freq:
            self._configure_embeddings()

    def _configure_embeddings(self) -> None:
        from google.protobuf import text_format
        from tensorboard.plugins import projector

        from rnnkit.keras.layers import Embedding

        config = projector.ProjectorConfig()
        metadata = dict(self.embeddings_metadata) if isinstance(self.embeddings_metadata, dict) else None
        for layer in self.model.layers:
            if isinstance(layer, Embedding):
                embedding = config.embeddings.add()
                embedding.tensor_name = "layer_with_weights-0/embeddings/.ATTRIBUTES/VARIABLE_VALUE"  # Keras's name
                if isinstance(self.embeddings_metadata, str):
                    embedding.metadata_path = self.embeddings_metadata
                elif metadata and layer.name in metadata:
                    embedding.metadata_path = metadata.pop(layer.name)
        if metadata:
            raise ValueError("Unrecognized `Embedding` layer names passed to `keras.callbacks.TensorBoard` "
                             f"`embeddings_metadata` argument: {metadata.keys()}")
        Path(self.log_dir).mkdir(parents=True, exist_ok=True)
        (Path(self.log_dir) / "projector_config.pbtxt").write_text(text_format.MessageToString(config))

    # --- fit ----------------------------------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self._global_train_batch = 0

    def on_train_end(self, logs=None):
        self._close_writers()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = (time.perf_counter(), self.model.optimizer.iterations)

    def on_train_batch_begin(self, batch, logs=None):
        self._global_train_batch += 1
        self._batch_start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        step = self._global_train_batch
        if self.update_freq == "epoch" or step % self.update_freq:
            return
        writer = self._writer("train")
        if self.write_steps_per_second:
            writer.add_scalar("batch_steps_per_second", 1.0 / max(time.perf_counter() - self._batch_start, 1e-9),
                              step)
        for name, value in (logs or {}).items():
            if np.ndim(value) == 0:
                writer.add_scalar(f"batch_{name}", float(value), step)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        train = {k: v for k, v in logs.items() if not k.startswith("val_")}
        val = {k[len("val_"):]: v for k, v in logs.items() if k.startswith("val_")}
        if logs:
            train["learning_rate"] = float(self.model.optimizer.learning_rate)
            if self.write_steps_per_second:
                start, iterations = self._epoch_start
                train["steps_per_second"] = (self.model.optimizer.iterations - iterations) / max(
                    time.perf_counter() - start, 1e-9)
        for run, values in (("train", train), ("validation", val)):
            for name, value in values.items():
                if np.ndim(value) == 0:  # per-class arrays (F1Score's) are not scalars: Keras's tf.summary refuses them
                    self._writer(run).add_scalar(f"epoch_{name}", float(value), epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._log_weights(epoch)
        if self.embeddings_freq and epoch % self.embeddings_freq == 0:
            self.model.save_weights(str(Path(self.log_dir) / "train" / f"keras_embedding.ckpt-{epoch}.weights.h5"))
        for writer in self._writers.values():
            writer.flush()

    def _log_weights(self, epoch: int) -> None:
        from rnnkit.keras.sequential import Sequential

        writer = self._writer("train")
        prefix = f"{self.model.name}/" if isinstance(self.model, Sequential) else ""  # Keras's paths: "sequential/…"
        for layer in self.model.layers:
            for path, w in weight_paths(layer, prefix):
                values = w.detach().cpu().float().numpy()
                writer.add_histogram(f"{path}/histogram", values, epoch)
                image = weight_image(values) if self.write_images else None
                if image is not None:
                    writer.add_images(f"{path}/image", image, epoch, dataformats="NHWC")

    # --- evaluation (fit's validation and evaluate) ---------------------------------------------------------------
    def on_test_end(self, logs=None):
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None:
            return
        writer = self._writer("validation")
        for name, value in (logs or {}).items():
            if np.ndim(value) == 0:
                writer.add_scalar(f"evaluation_{name}_vs_iterations", float(value), optimizer.iterations)
        writer.flush()
