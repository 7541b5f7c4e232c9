"""``Sequential`` and the functional ``Model(inputs, outputs)``, with compile / fit / evaluate / predict / save.

``fit`` runs on rnnkit's training engine (``rnnkit.train.Trainer``): the compiled model becomes a module whose
``training_step`` computes Keras's loss and metrics; epochs, batches, shuffling, validation and Keras callbacks map onto
the trainer. ``validation_split`` takes the *last* fraction of the data, before shuffling, as Keras does.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.utils.data import TensorDataset

from rnnkit.keras import losses as L
from rnnkit.keras import optimizers
from rnnkit.keras.backend import unique_name
from rnnkit.keras.callbacks import History, KerasCallbacks
from rnnkit.keras.layers.base import KerasTensor, Layer, _flatten_tensors, as_tensors, weights_device


def _to_tensor(a, name="x") -> torch.Tensor:
    if isinstance(a, torch.Tensor):
        t = a
    else:
        arr = np.asarray(a)
        if arr.dtype.kind not in "fiub":
            raise TypeError(f"{name}: expected numeric data, got dtype {arr.dtype}")
        t = torch.from_numpy(np.ascontiguousarray(arr))
    if t.is_floating_point():
        t = t.float()
    elif t.dtype != torch.bool:
        t = t.long()
    return t


def _as_list(v):
    return list(v) if isinstance(v, (list, tuple)) else [v]


def _model_inputs(model, inputs):
    """NumPy in, as Keras takes it: each array becomes a tensor of its ``Input``'s dtype (integer ids for an integer
    ``Input``, float32 otherwise); a Sequential model converts as its first layer would."""
    if isinstance(inputs, KerasTensor) or (isinstance(inputs, (list, tuple)) and inputs
                                           and isinstance(inputs[0], KerasTensor)):
        return inputs
    graph_inputs, dev = getattr(model, "graph_inputs", None), weights_device(model)
    if graph_inputs and isinstance(inputs, (list, tuple)) and len(inputs) == len(graph_inputs):
        return type(inputs)(as_tensors(x, ids=not t.dtype.is_floating_point, device=dev)
                            for x, t in zip(inputs, graph_inputs))
    if graph_inputs and len(graph_inputs) == 1:
        return as_tensors(inputs, ids=not graph_inputs[0].dtype.is_floating_point, device=dev)
    layers = getattr(model, "layers", None) or [None]
    return as_tensors(inputs, ids=bool(getattr(layers[0], "reads_ids", False)), device=dev)


class Model(nn.Module):
    """The functional API: ``Model(inputs=Input(...), outputs=layer(...)(...))``."""

    def __init__(self, inputs=None, outputs=None, name: str | None = None) -> None:
        super().__init__()
        self.name = name or unique_name("functional" if inputs is not None else "model")
        self.compiled = False
        self.stop_training = False
        self.optimizer = None
        if inputs is not None:
            self._init_graph(_as_list(inputs), outputs)

    # --- the graph -------------------------------------------------------------------------------------------------
    def _init_graph(self, inputs: list[KerasTensor], outputs) -> None:
        self.graph_inputs = inputs
        self.multi_output = isinstance(outputs, (list, tuple))
        self.graph_outputs = _as_list(outputs)
        order: list = []
        seen: set[int] = set()

        def visit(t: KerasTensor):
            node = t.node
            if node is None or id(node) in seen:
                return
            for parent in _as_list(node.inputs) + [v for k in node.kwargs.values() for v in _as_list(k)
                                                   if isinstance(v, KerasTensor)]:
                visit(parent)
            seen.add(id(node))
            order.append(node)

        for t in self.graph_outputs:
            visit(t)
        self.nodes = order
        unique = []
        for n in order:
            if all(n.layer is not u for u in unique):
                unique.append(n.layer)
        self.model_layers = nn.ModuleList(unique)

    @property
    def layers(self) -> list[Layer]:
        return list(self.model_layers)

    def call(self, inputs, training=False):
        xs = _as_list(inputs)
        if len(xs) != len(self.graph_inputs):
            raise ValueError(f"model {self.name!r} takes {len(self.graph_inputs)} input(s), got {len(xs)}")
        env: dict[int, tuple] = {}
        for kt, x in zip(self.graph_inputs, xs):
            if tuple(x.shape[1:]) != kt.shape:
                raise ValueError(f"model {self.name!r}: input of shape {tuple(x.shape)} does not fit Input shape "
                                 f"(None, {', '.join(map(str, kt.shape))})")
            env[id(kt)] = (x, None)
        for node in self.nodes:
            ins = node.inputs
            if isinstance(ins, (list, tuple)):
                args = [env[id(t)][0] for t in ins]
                mask = None
            else:
                args, mask = env[id(ins)]
            if any(isinstance(v, KerasTensor) or (isinstance(v, (list, tuple)) and v and isinstance(v[0], KerasTensor))
                   for v in node.kwargs.values()):
                mask = None  # as Keras 3: a layer called with tensor keyword arguments (initial_state) gets no mask
            kwargs = {k: ([env[id(t)][0] for t in v] if isinstance(v, (list, tuple)) and v and
                          isinstance(v[0], KerasTensor) else env[id(v)][0] if isinstance(v, KerasTensor) else v)
                      for k, v in node.kwargs.items()}
            out = node.layer(args, mask=mask, training=training, **kwargs)
            out_mask = node.layer.compute_mask(args, mask)
            outs = _flatten_tensors(out)
            masks = out_mask if isinstance(out_mask, list) else [out_mask] * len(outs)
            for kt in node.outputs:
                env[id(kt)] = (outs[kt.index], masks[kt.index] if kt.index < len(masks) else None)
        results = [env[id(t)][0] for t in self.graph_outputs]
        return results if self.multi_output else results[0]

    def forward(self, inputs, training=False):
        return self.call(inputs, training=training)

    def __call__(self, inputs, training=False):
        return self.call(_model_inputs(self, inputs), training=training)

    # --- weights ------------------------------------------------------------------------------------------------
    @property
    def weights(self):
        return [w for layer in self.layers for w in layer.weights]

    def get_weights(self):
        return [w for layer in self.layers for w in layer.get_weights()]

    def set_weights(self, values):
        values = list(values)
        for layer in self.layers:
            n = len(layer.weights)
            layer.set_weights(values[:n])
            values = values[n:]
        if values:
            raise ValueError(f"set_weights: {len(values)} array(s) left over")

    def count_params(self) -> int:
        return sum(w.numel() for w in self.weights)

    @property
    def losses(self) -> list[torch.Tensor]:
        """Every layer's ``losses`` (regularization penalties, ``add_loss``): ``fit``/``evaluate`` add their sum."""
        return [loss for layer in self.layers for loss in layer.losses]

    @property
    def trainable_weights(self):
        return [w for layer in self.layers for w in layer.trainable_weights]

    @property
    def non_trainable_weights(self):
        return [w for layer in self.layers for w in layer.non_trainable_weights]

    # Keras 3's names for the same lists (custom training loops read ``trainable_variables``)
    variables = weights
    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights

    def apply_constraints(self) -> None:
        for layer in self.layers:
            layer.apply_constraints()

    def summary(self, print_fn=print) -> None:
        rows = [(f"{layer.name} ({type(layer).__name__})", layer.count_params()) for layer in self.layers]
        width = max([len(r[0]) for r in rows] + [20])
        print_fn(f'Model: "{self.name}"')
        print_fn(f"{'Layer (type)':<{width}}  {'Param #':>10}")
        print_fn("=" * (width + 12))
        for name, n in rows:
            print_fn(f"{name:<{width}}  {n:>10,}")
        print_fn("=" * (width + 12))
        print_fn(f"Total params: {self.count_params():,}")

    # --- compile / fit / evaluate / predict -------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, **kwargs) -> None:
        if loss is None:
            raise ValueError("compile() needs a loss")
        self.optim_config = optimizers.get(optimizer)
        self.loss_names = _as_list(loss)
        self.loss_fns = [L.get_loss(x) for x in self.loss_names]
        first = self.loss_names[0] if isinstance(self.loss_names[0], str) else None
        self.metric_fns = [L.get_metric(m, first) for m in (metrics or [])]
        self.compiled = True

    def _split_batch(self, batch):
        n_in = len(self.graph_inputs) if hasattr(self, "graph_inputs") else 1
        xs, ys = list(batch[:n_in]), list(batch[n_in:])
        return (xs if n_in > 1 else xs[0]), ys

    def _loss_and_metrics(self, batch, training):
        x, ys = self._split_batch(batch)
        preds = _as_list(self.call(x, training=training))
        if len(ys) != len(preds):
            raise ValueError(f"the model has {len(preds)} output(s) but {len(ys)} target array(s) were given")
        fns = self.loss_fns if len(self.loss_fns) == len(preds) else self.loss_fns * len(preds)
        loss = sum(fn(y, p) for fn, y, p in zip(fns, ys, preds))
        extra = self.losses
        if extra:  # regularizers and add_loss, as Keras's compute_loss
            loss = loss + torch.stack([torch.as_tensor(v, dtype=loss.dtype).sum() for v in extra]).sum()
        out = {"loss": loss}
        with torch.no_grad():
            for name, fn in self.metric_fns:
                out[name] = float(fn(ys[0], preds[0].detach()))
        return out

    def training_step(self, batch):
        return self._loss_and_metrics(batch, training=True)

    @torch.no_grad()
    def validation_step(self, batch):
        out = self._loss_and_metrics(batch, training=False)
        out["loss"] = float(out["loss"])
        return out

    def _dataset(self, x, y):
        xs = [_to_tensor(a, "x") for a in _as_list(x)]
        ys = [_to_tensor(a, "y") for a in _as_list(y)] if y is not None else []
        n = xs[0].shape[0]
        for t in xs + ys:
            if t.shape[0] != n:
                raise ValueError(f"all inputs and targets need the same number of samples; got {[a.shape[0] for a in xs + ys]}")
        return xs, ys

    def _ensure_built(self, xs):
        if not hasattr(self, "graph_inputs"):
            self.build_from(xs[0])

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, initial_epoch=0, seed: int = 0):
        if not self.compiled:
            raise RuntimeError("call compile() before fit()")
        from rnnkit.train import Config, Trainer

        xs, ys = self._dataset(x, y)
        self._ensure_built(xs)
        if validation_data is not None:
            vx, vy = validation_data[0], validation_data[1]
            vxs, vys = self._dataset(vx, vy)
            val = TensorDataset(*vxs, *vys)
        elif validation_split:
            if not 0 < validation_split < 1:
                raise ValueError(f"validation_split must be in (0, 1), got {validation_split}")
            n = xs[0].shape[0]
            cut = int(n * (1 - validation_split))
            val = TensorDataset(*[t[cut:] for t in xs + ys])
            xs, ys = [t[:cut] for t in xs], [t[:cut] for t in ys]
        else:
            val = None
        train = TensorDataset(*xs, *ys)
        cfg = Config()
        cfg.optim = self.optim_config
        cfg.data.batch_size, cfg.data.shuffle = batch_size or 32, bool(shuffle)
        cfg.train.epochs, cfg.train.seed = epochs, seed
        cfg.train.progress = verbose not in (0, False)
        cfg.train.checkpoint_every = 0  # device: auto — the GPU when torch sees one, as Keras's torch backend
        history = History()
        adapter = KerasCallbacks(self, [history, *(callbacks or [])])
        trainer = Trainer(self, train, val, config=cfg, callbacks=[adapter])
        if not cfg.train.progress:
            trainer.log = lambda message: None
        trainer.epoch = initial_epoch
        if getattr(self, "_trainer_state", None) is not None:  # keep the optimizer state across fit() calls
            trainer.optimizer.load_state_dict(self._trainer_state)
        if any(layer._constraints for top in self.layers for layer in top._all_layers()):
            trainer.optimizer.register_step_post_hook(lambda *_: self.apply_constraints())
        trainer.fit()
        self._trainer_state = trainer.optimizer.state_dict()
        self.history = history
        return history

    @torch.no_grad()
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", return_dict=False):
        if not self.compiled:
            raise RuntimeError("call compile() before evaluate()")
        xs, ys = self._dataset(x, y)
        self._ensure_built(xs)
        self.eval()
        n, bs = xs[0].shape[0], batch_size or 32
        totals: dict[str, float] = {}
        dev = weights_device(self)
        for s in range(0, n, bs):
            out = self.validation_step([t[s:s + bs].to(dev) if dev is not None else t[s:s + bs] for t in xs + ys])
            m = min(bs, n - s)
            for k, v in out.items():
                totals[k] = totals.get(k, 0.0) + float(v) * m
        result = {k: v / n for k, v in totals.items()}
        if return_dict:
            return result
        return result["loss"] if len(result) == 1 else list(result.values())

    @torch.no_grad()
    def predict(self, x, batch_size=None, verbose="auto"):
        xs, _ = self._dataset(x, None)
        self._ensure_built(xs)
        self.eval()
        n, bs = xs[0].shape[0], batch_size or 32
        chunks = []
        dev = weights_device(self)
        for s in range(0, n, bs):
            batch = [t[s:s + bs].to(dev) if dev is not None else t[s:s + bs] for t in xs]
            chunks.append(_as_list(self.call(batch if len(batch) > 1 else batch[0], training=False)))
        outs = [torch.cat([c[i] for c in chunks]).cpu().numpy() for i in range(len(chunks[0]))]
        return outs if len(outs) > 1 else outs[0]

    # --- saving ----------------------------------------------------------------------------------------------------
    def save(self, filepath) -> None:
        from rnnkit.keras.saving import save_model

        save_model(self, filepath)

    def save_weights(self, filepath) -> None:
        from rnnkit.keras.saving import save_weights

        save_weights(self, filepath)

    def load_weights(self, filepath) -> None:
        from rnnkit.keras.saving import load_weights

        load_weights(self, filepath)


class Sequential(Model):
    """``Sequential([layers])`` or ``.add(layer)``; the first layer may carry ``input_shape=`` or be an ``Input``."""

    def __init__(self, layers=None, name: str | None = None) -> None:
        super().__init__(name=name or unique_name("sequential"))
        self._pending: list[Layer] = []
        self._input: KerasTensor | None = None
        for layer in layers or []:
            self.add(layer)

    def add(self, layer) -> None:
        if isinstance(layer, KerasTensor):
            if self._pending:
                raise ValueError("an Input must come first in a Sequential model")
            self._input = layer
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add expects a rnnkit.keras layer, got {type(layer).__name__}")
        self._pending.append(layer)
        if hasattr(self, "graph_inputs"):
            del self.graph_inputs
        if self._input is None and len(self._pending) == 1 and layer.input_shape_arg is not None:
            from rnnkit.keras.layers.base import Input

            self._input = Input(layer.input_shape_arg, batch_size=layer.batch_size_arg)
        if self._input is not None:
            self._build_graph()

    def _build_graph(self):
        t = self._input
        for layer in self._pending:
            t = layer(t)
            if isinstance(t, list):
                raise ValueError(f"layer {layer.name!r} returns several tensors; Sequential needs one per layer "
                                 "(use the functional Model)")
        self._init_graph([self._input], t)

    def build_from(self, x: torch.Tensor) -> None:
        from rnnkit.keras.layers.base import Input

        dtype = "float32" if x.is_floating_point() else "int64"
        self._input = Input(tuple(x.shape[1:]), batch_size=x.shape[0], dtype=dtype)  # Keras builds on the data's shape
        self._build_graph()

    @property
    def layers(self):
        return list(self._pending)

    def call(self, inputs, training=False):
        if not hasattr(self, "graph_inputs"):
            self.build_from(inputs)
        return super().call(inputs, training=training)


def load_model(filepath, custom_objects: dict | None = None):
    """A ``.keras`` archive written by real Keras (or by ``save``), or an rnnkit.keras model folder; a user's own
    layers and cells by ``custom_objects={"Name": cls}`` or registered with ``register_keras_serializable``."""
    from rnnkit.keras.saving import load_model as _load

    return _load(filepath, custom_objects)
