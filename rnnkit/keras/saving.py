"""Saving and loading: rnnkit's own format and Keras 3's files.

* ``model.save("dir")`` writes rnnkit's format: ``dir/config.json`` (the architecture, in Keras's config schema) and
  ``dir/model.safetensors`` (weights keyed by Keras's variable paths, e.g. ``layers/lstm/cell/vars/0``).
* ``model.save("m.keras")`` writes a Keras 3 archive (``config.json``, ``metadata.json``, ``model.weights.h5``) that real
  Keras loads with ``keras.models.load_model``; ``save_weights("m.weights.h5")`` writes Keras's weights file.
* ``load_model("m.keras")`` rebuilds a model saved by real Keras (Sequential or functional, from the layers rnnkit.keras
  has) and loads its weights; an unsupported layer is named in the error. ``load_weights("m.weights.h5")`` fills an
  existing model.

Layouts need no conversion: rnnkit.keras keeps Keras's own (kernel (in, units), gate orders i,f,c,o and z,r,h, GRU bias
(2, 3u) with reset_after). rnnkit's layers read them in torch's layout only inside the call (see ``cells.py``). Where
each weight sits in Keras's files, and the ``.weights.h5`` files themselves: ``weight_files.py``.
"""

from __future__ import annotations

import datetime
import io
import json
import warnings
import zipfile
from pathlib import Path

import torch

from rnnkit.keras import layers as L
from rnnkit.keras import metrics as M
from rnnkit.keras import optimizer_state, optimizers
from rnnkit.keras.compile_utils import metric_leaves
from rnnkit.keras.keras_objects import deserialize_keras_object, serialize_keras_object  # noqa: F401 (Keras's names)
from rnnkit.keras.layers.base import Input, KerasTensor, Layer, as_list, flatten
from rnnkit.keras.layers.serialize import (  # noqa: F401 (Keras's saving namespace)
    CustomObjectScope,
    custom_object_scope,
    deserialize_layer,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
    serialize_layer,
)
from rnnkit.keras.layers.symbolic import STRING
from rnnkit.keras.losses import deserialize_loss, serialize_loss
from rnnkit.keras.ops.operation import OPERATIONS, Operation, decode_argument, encode_argument
from rnnkit.keras.ops.operation import from_config as operation_from_config
from rnnkit.keras.weight_files import (  # noqa: F401 (load_weights, save_weights: their home is here too)
    load_weights,
    lookup_arrays,
    lookup_assets,
    model_weights,
    read_h5_into,
    read_lookup_arrays,
    read_optimizer_variables,
    restore_lookups,
    save_weights,
    write_h5,
)

__all__ = ["save_model", "load_model", "save_weights", "load_weights", "register_keras_serializable",
           "get_custom_objects", "custom_object_scope", "CustomObjectScope", "get_registered_name",
           "get_registered_object", "serialize_keras_object", "deserialize_keras_object"]

KERAS_VERSION = "3.15.1"


# --- configs (Keras's schema) --------------------------------------------------------------------------------------
def _wrap(class_name: str, config: dict, build_shape=None) -> dict:
    d = {"module": "keras.layers", "class_name": class_name, "config": config, "registered_name": None}
    if build_shape is not None:
        d["build_config"] = {"input_shape": list(build_shape)}
    return d


def layer_config(layer: Layer) -> dict:
    """A layer's entry in Keras's model config: its serialized form plus the shape it was built for."""
    if isinstance(layer, Operation):
        return layer.serialize()
    d = serialize_layer(layer) if isinstance(layer, Layer) else model_config(layer)
    shape = getattr(layer, "build_input_shape", None)
    if callable(getattr(layer, "build_config", None)):  # a layer built from several shapes (MultiHeadAttention)
        d["build_config"] = layer.build_config()
    elif shape is not None:
        d["build_config"] = {"input_shape": list(shape)}
    return d


def compile_config(model) -> dict | None:
    """Keras's ``compile_config`` of a compiled model (optimizer, loss, metrics), or None when it has none a file can
    hold (not compiled, or a loss/metric that is the user's own function)."""
    args = getattr(model, "compile_args", None)
    if not getattr(model, "compiled", False) or args is None:
        return None
    loss = args["loss"]
    if isinstance(loss, dict):
        loss = {k: serialize_loss(v) for k, v in loss.items()}
        leaves = list(loss.values())
    else:
        leaves = [serialize_loss(x) for x in as_list(loss)]
        loss = leaves if isinstance(loss, (list, tuple)) else leaves[0]
    metrics = {key: M.map_metrics(args[key], M.serialize) for key in ("metrics", "weighted_metrics")}
    if any(x is None for x in leaves) or any(m is None for key in metrics for m in metric_leaves(metrics[key])):
        return None
    return {"optimizer": optimizers.serialize(args["optimizer"]), "loss": loss, "loss_weights": args["loss_weights"],
            "metrics": metrics["metrics"], "weighted_metrics": metrics["weighted_metrics"], "run_eagerly": False,
            "steps_per_execution": 1, "jit_compile": False}


def compile_from_config(model, config: dict, source: str) -> None:
    """Compile a loaded model as it was saved (Keras's ``load_model(compile=True)``); what rnnkit cannot rebuild is
    named in a warning and the model left uncompiled."""
    if config.get("loss") is None:  # Keras records a compile_config without a loss for a model it compiled itself
        return
    try:
        loss = config["loss"]
        if isinstance(loss, dict) and "class_name" not in loss:  # by output name
            loss = {k: deserialize_loss(v) for k, v in loss.items()}
        else:
            loss = [deserialize_loss(x) for x in loss] if isinstance(loss, list) else deserialize_loss(loss)
        model.compile(optimizer=optimizers.get(config["optimizer"]), loss=loss,
                      metrics=M.map_metrics(config.get("metrics"), M.deserialize),
                      weighted_metrics=M.map_metrics(config.get("weighted_metrics"), M.deserialize),
                      loss_weights=config.get("loss_weights"))
    except (ValueError, TypeError, KeyError) as e:
        warnings.warn(f"{source}: the model was saved compiled, but rnnkit.keras cannot compile it the same way "
                      f"({e}); call compile() before fit()", stacklevel=3)



def model_config(model) -> dict:
    from rnnkit.keras.models import Sequential

    if isinstance(model, Sequential):
        inp = model.graph_inputs[0]
        layers = [_wrap("InputLayer", {"batch_shape": list(inp.shape), "dtype": _dtype_name(inp.dtype),
                                       "sparse": False, "name": inp.name or "input_layer"})]
        layers += [layer_config(layer) for layer in model.layers]
        return {"module": "keras", "class_name": "Sequential", "registered_name": None,
                "config": {"name": model.name, "trainable": True, "layers": layers},
                "build_config": {"input_shape": list(inp.shape)}}
    return _functional_config(model)


def _dtype_name(dt) -> str:
    if dt == STRING:
        return "string"
    return "float32" if dt.is_floating_point else "int64"


def _tensor_ref(t: KerasTensor, numbers: dict[int, int]) -> dict:
    """A tensor as Keras writes it: the layer that made it, which of that layer's calls in this model (``numbers``:
    id(node) → 0, 1, … in call order) and which of the call's outputs."""
    history = [t.name, 0, 0] if t.node is None else [t.node.layer.name, numbers[id(t.node)], t.index]
    return {"class_name": "__keras_tensor__", "config": {"shape": [None, *t.feature_shape], "dtype": _dtype_name(t.dtype),
                                                          "keras_history": history}}


def _functional_config(model) -> dict:
    """Each layer once, in ``model.layers`` order (Keras's), its calls in this model as its inbound nodes — a layer
    called on two inputs (shared weights) has two."""
    calls: dict[int, list] = {}
    for node in sorted(model.nodes, key=lambda n: n.serial):
        calls.setdefault(id(node.layer), []).append(node)
    numbers = {id(n): i for nodes in calls.values() for i, n in enumerate(nodes)}

    def node_data(node) -> dict:
        def ref(v):
            if isinstance(v, (list, tuple)):
                return [ref(t) for t in v]
            return _tensor_ref(v, numbers) if isinstance(v, KerasTensor) else encode_argument(v)
        # a layer called on a list (a merge) has that list as its one argument
        return {"args": [ref(node.inputs), *[ref(a) for a in node.args]],
                "kwargs": {k: ref(v) for k, v in node.kwargs.items()}}

    layers = []
    for layer in model.operations:
        if isinstance(layer, L.InputLayer):
            t = layer.output
            layers.append({**_wrap("InputLayer", {"batch_shape": list(t.shape), "dtype": _dtype_name(t.dtype),
                                                  "sparse": False, "name": t.name}), "name": t.name, "inbound_nodes": []})
            continue
        entry = layer_config(layer)
        entry["name"] = layer.name
        entry["inbound_nodes"] = [node_data(n) for n in calls[id(layer)]]
        layers.append(entry)
    ins = [[t.name, 0, 0] for t in model.graph_inputs]
    outs = [_tensor_ref(t, numbers)["config"]["keras_history"] for t in model.graph_outputs]
    return {"module": "keras.src.models.functional", "class_name": "Functional", "registered_name": "Functional",
            "config": {"name": model.name, "trainable": True, "layers": layers,
                       "input_layers": ins if len(ins) > 1 else ins[0],
                       "output_layers": outs if model.multi_output else outs[0]}}


IGNORED_KEYS = {"time_major", "synchronized", "lora_alpha", "sparse"}  # written by some Keras versions, no effect here


def layer_from_config(d: dict, custom_objects: dict | None = None) -> Layer:
    if d.get("class_name") in ("Functional", "Sequential", "Model"):  # a model used as a layer
        return model_from_config(d, custom_objects)
    d = {**d, "config": {k: v for k, v in d.get("config", {}).items() if k not in IGNORED_KEYS}}
    layer = deserialize_layer(d, custom_objects)
    if "build_config" in d and d["build_config"].get("input_shape"):
        layer.build_input_shape = tuple(d["build_config"]["input_shape"])
    return layer


def _input_from(cfg: dict) -> KerasTensor:
    shape = cfg.get("batch_shape") or [None, *cfg.get("shape", [])]
    dtype = str(cfg.get("dtype", "float32"))
    return Input(tuple(shape[1:]), batch_size=shape[0],
                 dtype="string" if dtype == "string" else "float32" if "float" in dtype else "int64",
                 name=cfg.get("name"))


def model_from_config(d: dict, custom_objects: dict | None = None):
    from rnnkit.keras.models import Model, Sequential

    cls, cfg = d.get("class_name"), d.get("config", {})
    if cls == "Sequential":
        layers = cfg["layers"]
        model = Sequential(name=cfg.get("name"))
        start = 0
        if layers and layers[0]["class_name"] == "InputLayer":
            model.add(_input_from(layers[0]["config"]))
            start = 1
        elif "build_input_shape" in cfg:
            model.add(Input(tuple(cfg["build_input_shape"][1:])))
        for ld in layers[start:]:
            model.add(layer_from_config(ld, custom_objects))
        return model
    if cls in ("Functional", "Model"):
        tensors: dict[tuple, KerasTensor] = {}
        pending: dict[str, tuple[Layer, list]] = {}  # layer name → (layer, its calls not yet made)
        for ld in cfg["layers"]:
            if ld["class_name"] == "InputLayer":
                tensors[(ld["name"], 0, 0)] = _input_from(ld["config"])
            elif str(ld.get("module", "")).startswith("keras.src.ops"):
                # x[:, -1], x + y, ops.mean(x, axis=1), …; Keras's own mask operations too, which no layer reads
                # (and which may share a layer's name: the layer wins)
                if ld["class_name"] in OPERATIONS and ld["name"] not in pending:
                    pending[ld["name"]] = (operation_from_config(ld), list(ld.get("inbound_nodes", [])))
            else:
                pending[ld["name"]] = (layer_from_config(ld, custom_objects), list(ld.get("inbound_nodes", [])))
        made = {name: 0 for name in pending}
        ops = {ld["name"]: ld["class_name"] for ld in cfg["layers"]
               if str(ld.get("module", "")).startswith("keras.src.ops") and ld["class_name"] not in OPERATIONS}

        def resolve(a, owner: str):
            if isinstance(a, dict) and a.get("class_name") == "__keras_tensor__":
                key = tuple(a["config"]["keras_history"])
                if key[0] in ops or key[0] not in pending and key not in tensors:
                    raise ValueError(f"layer {owner!r} reads the output of {key[0]!r}, an operation rnnkit.keras "
                                     f"does not support ({ops.get(key[0], 'unknown')})")
                if key not in tensors:
                    raise LookupError(key)  # made by a call not yet replayed
                return tensors[key]
            if isinstance(a, list):
                return [resolve(x, owner) for x in a]
            return decode_argument(a)

        # Keras's replay: walk the layers in order, each making the calls it can, until every call is made (a shared
        # layer's second call may read a layer listed after it)
        while any(nodes for _, nodes in pending.values()):
            progress = False
            for name, (layer, nodes) in pending.items():
                while nodes:
                    try:
                        args = [resolve(a, name) for a in nodes[0].get("args", [])]
                        kwargs = {k: resolve(v, name) for k, v in nodes[0].get("kwargs", {}).items()
                                  if k not in ("training", "mask") and v is not None}
                    except LookupError:
                        break
                    out = layer(*args, **kwargs)  # a merge's one argument is its list of inputs
                    for j, o in enumerate(flatten(out)):  # numbered flat, as Keras numbers a call's outputs
                        tensors[(name, made[name], j)] = o
                    made[name] += 1
                    nodes.pop(0)
                    progress = True
            if not progress:
                stuck = sorted(name for name, (_, nodes) in pending.items() if nodes)
                raise ValueError(f"the model's graph has calls that read tensors no call makes (layers {stuck})")

        def refs(x):
            return [x] if x and isinstance(x[0], str) else x
        ins = [tensors[tuple(r)] for r in refs(cfg["input_layers"])]
        outs_ref = cfg["output_layers"]
        multi = not (outs_ref and isinstance(outs_ref[0], str))
        outs = [tensors[tuple(r)] for r in refs(outs_ref)]
        return Model(ins if len(ins) > 1 else ins[0], outs if multi else outs[0], name=cfg.get("name"))
    raise ValueError(f"unsupported model class {cls!r} (rnnkit.keras loads Sequential and functional models)")


# --- files ---------------------------------------------------------------------------------------------------------
def save_model(model, filepath) -> None:
    path = Path(filepath)
    if not hasattr(model, "graph_inputs"):
        raise ValueError("the model is not built yet: call it on data (or give its first layer input_shape) first")
    config = model_config(model)
    if compile_config(model) is not None:
        config["compile_config"] = compile_config(model)
    if path.suffix == ".keras":
        buf = io.BytesIO()
        write_h5(model, buf, optimizer_state.keras_variables(model) if "compile_config" in config else ())
        meta = {"keras_version": KERAS_VERSION, "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")}
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("metadata.json", json.dumps(meta))
            z.writestr("config.json", json.dumps(config))
            z.writestr("model.weights.h5", buf.getvalue())
            for name, text in lookup_assets(model).items():  # a lookup layer's vocabulary, as Keras keeps it
                z.writestr(name, text)
        return
    from safetensors.torch import save_file

    from rnnkit.train.checkpoint import atomic_write, atomic_write_text

    path.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in model_weights(model).items()}
    tensors.update({k: torch.from_numpy(v).contiguous() for k, v in lookup_arrays(model).items()})
    for name, text in lookup_assets(model).items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path / name, text)
    if "compile_config" in config:
        tensors.update({f"optimizer/vars/{i}": torch.as_tensor(a).contiguous()
                        for i, a in enumerate(optimizer_state.keras_variables(model))})
    atomic_write(path / "model.safetensors", lambda p: save_file(tensors, str(p), metadata={"format": "rnnkit-keras-1"}))
    atomic_write_text(path / "config.json", json.dumps(config, indent=1))


def load_model(filepath, custom_objects: dict | None = None, compile: bool = True):
    """The model of a ``.keras`` archive or an rnnkit.keras folder, its weights, and — with ``compile`` and a
    ``compile_config`` in the file — compiled as it was saved, its optimizer's state too (the next ``fit`` goes on
    where the saved model's training stopped, as Keras's)."""
    model = _load_model(Path(filepath), custom_objects)
    if compile and "compile_config" in model.saved_config:
        compile_from_config(model, model.saved_config["compile_config"], str(filepath))
        if getattr(model, "compiled", False) and model.saved_optimizer:
            optimizer_state.restore(model, model.saved_optimizer, str(filepath))
    del model.saved_config, model.saved_optimizer
    return model


def _load_model(path: Path, custom_objects: dict | None):
    if path.suffix == ".keras":
        try:
            z = zipfile.ZipFile(path)
            config = json.loads(z.read("config.json"))
            weights = z.read("model.weights.h5")
        except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, FileNotFoundError) as e:
            raise ValueError(f"{path} is not a readable .keras archive: {e}") from None
        model = model_from_config(config, custom_objects)
        read_h5_into(model, io.BytesIO(weights), str(path))
        names = set(z.namelist())
        restore_lookups(model, lambda n: z.read(n).decode("utf-8") if n in names else None,
                        read_lookup_arrays(io.BytesIO(weights)), str(path))
        model.saved_config, model.saved_optimizer = config, read_optimizer_variables(io.BytesIO(weights))
        return model
    if not (path / "config.json").is_file():
        raise ValueError(f"{path} is neither a .keras file nor an rnnkit.keras model folder (no config.json)")
    from safetensors.torch import load_file

    config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    model = model_from_config(config, custom_objects)
    model.saved_config = config
    tensors = load_file(str(path / "model.safetensors"))
    model.saved_optimizer = [tensors[f"optimizer/vars/{i}"].numpy() for i in range(len(tensors))
                             if f"optimizer/vars/{i}" in tensors]
    params = model_weights(model)
    missing = sorted(set(params) - set(tensors))
    if missing:
        raise ValueError(f"{path}/model.safetensors lacks {missing}")
    with torch.no_grad():
        for k, p in params.items():
            p.copy_(tensors[k])

    def asset(name: str) -> str | None:
        return (path / name).read_text(encoding="utf-8") if (path / name).is_file() else None
    restore_lookups(model, asset, {k: v.numpy() for k, v in tensors.items() if k.endswith("/vars/idf_weights")},
                    str(path))
    return model


def __getattr__(name: str):  # a Keras name rnnkit.keras does not provide: say why (not_provided.py)
    from rnnkit.keras.not_provided import missing

    raise missing("saving", name)
