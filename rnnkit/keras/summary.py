"""``model.summary()``: Keras's table — each layer's (and operation's) name and type, output shape (batch axis first:
None unless the Input fixed it; None on an axis of any size; ? for a model not built from Inputs) and parameter
count, then the trainable, non-trainable and total counts."""

from __future__ import annotations

from rnnkit.keras.layers.input_layer import InputLayer


def print_summary(model, print_fn=print) -> None:
    from rnnkit.keras.model import Model  # (model.py imports this module)

    shapes: dict[int, str] = {}
    for node in model.__dict__.get("nodes", ()):
        if id(node.layer) not in shapes:
            outs = [str(t.shape) for t in node.outputs]
            shapes[id(node.layer)] = outs[0] if len(outs) == 1 else f"[{', '.join(outs)}]"
    for layer in model.layers:
        if isinstance(layer, InputLayer):
            shapes[id(layer)] = str(layer.batch_shape)

    def kind(layer) -> str:
        plain_model = type(layer) is Model and "graph_inputs" in layer.__dict__
        return "Functional" if plain_model else getattr(layer, "class_name", type(layer).__name__)
    rows = [(f"{layer.name} ({kind(layer)})", shapes.get(id(layer), "?"), layer.count_params())
            for layer in model.operations]
    width = max([len(r[0]) for r in rows] + [20])
    shape_width = max([len(r[1]) for r in rows] + [12])
    print_fn(f'Model: "{model.name}"')
    print_fn(f"{'Layer (type)':<{width}}  {'Output Shape':<{shape_width}}  {'Param #':>10}")
    print_fn("=" * (width + shape_width + 14))
    for name, shape, n in rows:
        print_fn(f"{name:<{width}}  {shape:<{shape_width}}  {n:>10,}")
    print_fn("=" * (width + shape_width + 14))
    print_fn(f"Trainable params: {sum(w.numel() for w in model.trainable_weights):,}")
    print_fn(f"Non-trainable params: {sum(w.numel() for w in model.non_trainable_weights):,}")
    print_fn(f"Total params: {model.count_params():,}")
