"""What ``compile`` was given — losses, loss weights, metrics — resolved per model output, and a batch's loss and logs
computed from it, as Keras 3 does:

    loss = Σ_i λ_i · ℓ_i(y_i, ŷ_i; w) + the layers' penalties        (ℓ_i: output i's loss, λ_i its loss weight)

* ``loss``: one for every output, a list (one per output, in order) or a dict by output name (the names of the
  layers that make the outputs); an output left out of a dict has no loss;
* ``loss_weights``: a list or a dict, 1 where not given;
* ``metrics`` / ``weighted_metrics``: a list for a one-output model; a list of lists or a dict by output name for
  several. Logs: ``loss``, and for several outputs ``<output>_loss`` (ℓ_i, unweighted) and ``<output>_<metric>``.
  ``evaluate``'s list: ``loss``, the outputs' losses in output order, the metrics by output name sorted (as
  Keras). A weighted metric is Σ w·m / Σ w over all samples — both sums kept per sample and divided at the end
  (``finish``); it is named ``weighted_<metric>`` when the same metric is also unweighted, as Keras names it.
"""

from __future__ import annotations

import torch

from rnnkit.keras import losses as L
from rnnkit.keras import metrics as M
from rnnkit.keras.layers.base import as_list

WEIGHT_SUM = "_weight_sum"  # + output index: the per-sample mean of its weights, beside the weighted metrics' sums



def _per_output(spec, names: list[str], what: str, default=None) -> list:
    """``spec`` (one value, a list or a dict by output name) as one entry per output."""
    if isinstance(spec, dict):
        unknown = sorted(set(spec) - set(names))
        if unknown:
            raise ValueError(f"compile: {what} names output(s) {unknown} the model does not have (its outputs: "
                             f"{names})")
        return [spec.get(n, default) for n in names]
    if isinstance(spec, (list, tuple)):
        if len(spec) != len(names):
            raise ValueError(f"compile: {what} has {len(spec)} entries for a model with {len(names)} output(s) "
                             f"{names}")
        return list(spec)
    return [spec] * len(names)


def metric_leaves(spec) -> list:
    """The metrics of a compile argument: a list, a list of lists, or a dict by output of either."""
    if isinstance(spec, dict):
        return [m for v in spec.values() for m in metric_leaves(v)]
    if isinstance(spec, (list, tuple)):
        return [m for v in spec for m in metric_leaves(v)]
    return [] if spec is None else [spec]


def reduce_loss(fn, y, p, w) -> torch.Tensor:
    if isinstance(fn, L.Loss):
        return fn(y, p, sample_weight=w)
    value = fn(y, p)  # Keras's function forms and a user's fn(y_true, y_pred): per-sample losses, reduced here
    return L.reduce(value, w) if torch.as_tensor(value).dim() > 0 else value


class CompileSpec:
    def __init__(self, loss, loss_weights=None, metrics=None, weighted_metrics=None) -> None:
        for leaf in (loss.values() if isinstance(loss, dict) else as_list(loss)):
            if leaf is not None:
                L.get_loss(leaf)  # an unknown loss name is refused at compile, as Keras does
        for leaf in metric_leaves(metrics) + metric_leaves(weighted_metrics):
            M.get(leaf, None)  # and an unknown metric
        self.loss, self.loss_weights, self.metrics, self.weighted_metrics = loss, loss_weights, metrics, weighted_metrics
        self.names: list[str] | None = None

    def resolve(self, names: list[str]) -> None:
        """Per-output losses, weights and metrics for outputs ``names`` (done once, when the outputs are known)."""
        if self.names == names:
            return
        losses = _per_output(self.loss, names, "loss")
        self.loss_fns = [None if x is None else L.get_loss(x) for x in losses]
        self.lambdas = [1.0 if x is None else float(x) for x in _per_output(self.loss_weights, names, "loss_weights")]
        kinds = [L.loss_kind(x) for x in losses]
        self.finishers: dict[str, object] = {}
        self.metric_fns = self._metrics(self.metrics, names, kinds, "metrics")
        plain = {name for name, _, _ in self.metric_fns}
        weighted = self._metrics(self.weighted_metrics, names, kinds, "weighted_metrics")
        self.weighted_fns = []
        for name, i, fn in weighted:
            if name in plain:
                self.finishers[self._weighted_name(name, names)] = self.finishers[name]
                name = self._weighted_name(name, names)
            self.weighted_fns.append((name, i, fn))
        self.names = names

    @staticmethod
    def _weighted_name(name: str, names: list[str]) -> str:
        for out in names:
            if len(names) > 1 and name.startswith(out + "_"):
                return f"{out}_weighted_{name[len(out) + 1:]}"
        return f"weighted_{name}"

    def _metrics(self, spec, names: list[str], kinds: list, what: str) -> list[tuple[str, int, object]]:
        if not spec:
            return []
        if len(names) == 1:
            per_output = _per_output(spec, names, what, default=[]) if isinstance(spec, dict) else [spec]
        elif isinstance(spec, dict) or (isinstance(spec, (list, tuple)) and all(
                isinstance(m, (list, tuple)) or m is None for m in spec)):
            per_output = _per_output(spec, names, what, default=[])
        else:
            raise ValueError(f"compile: for a model with several outputs {names}, give {what} as a dict by output "
                             "name or a list of lists (one per output), as Keras requires")
        out, taken = [], set()
        for i in sorted(range(len(names)), key=lambda i: names[i]):  # Keras lists them by output name, sorted
            for m in as_list(per_output[i] or []):
                name, fn, finish = M.get(m, kinds[i])
                name = name if len(names) == 1 else f"{names[i]}_{name}"
                base, k = name, 0
                while name in taken:  # a repeated name gets _1, _2, as Keras names them
                    k += 1
                    name = f"{base}_{k}"
                taken.add(name)
                self.finishers[name] = finish
                out.append((name, i, fn))
        return out

    def compute(self, ys: list, preds: list, w: torch.Tensor, extra: list, metrics: bool = True) -> dict:
        """``{"loss": tensor, ...}`` for a batch: the total to train on, per-output losses and (``metrics``) the
        metrics as floats."""
        active = [i for i, fn in enumerate(self.loss_fns) if fn is not None]
        if not active:
            raise ValueError("compile() was given no loss: pass compile(loss=...), or compute the loss in the model's "
                             "own train_step")
        watched = self.metric_fns + self.weighted_fns if metrics else []
        if len(ys) != len(preds) and len(ys) == len(active) and all(i in active for _, i, _ in watched):
            # Keras: targets for the outputs that have a loss only (loss=[fn, None] and one y)
            ys = [ys[active.index(i)] if i in active else None for i in range(len(preds))]
        if len(ys) != len(preds):
            raise ValueError(f"the model has {len(preds)} output(s) but {len(ys)} target array(s) were given")
        ws = [w[:, i] if w.dim() == 2 else w for i in range(len(preds))]  # sample weights per output, or shared
        parts = [(i, reduce_loss(self.loss_fns[i], ys[i], preds[i], ws[i])) for i in active]
        loss = sum(self.lambdas[i] * part for i, part in parts)
        if extra:  # regularizers and add_loss, as Keras's compute_loss
            loss = loss + torch.stack([torch.as_tensor(v, dtype=loss.dtype).sum() for v in extra]).sum()
        out = {"loss": loss}
        if len(self.names) > 1 and len(active) == len(preds):  # Keras logs each output's loss when all have one
            out.update({f"{self.names[i]}_loss": float(part.detach()) for i, part in parts})
        if not metrics:
            return out
        with torch.no_grad():
            for name, i, fn in self.metric_fns:  # unweighted, as Keras's metrics
                if isinstance(fn, M.Parts):  # counts (Precision, AUC): each part's mean, divided at the end
                    out.update(_parts(name, fn(ys[i], preds[i].detach()).mean(0)))
                    continue
                out[name] = float(torch.as_tensor(fn(ys[i], preds[i].detach())).float().mean())
            for i in sorted({i for _, i, _ in self.weighted_fns}):
                out[f"{WEIGHT_SUM}{i}"] = float(ws[i].sum()) / len(w)
            for name, i, fn in self.weighted_fns:
                if isinstance(fn, M.Parts):
                    out.update(_parts(name, (fn(ys[i], preds[i].detach()) * ws[i].reshape(-1, 1)).sum(0) / len(w)))
                    continue
                values = torch.as_tensor(fn(ys[i], preds[i].detach())).float().reshape(len(w), -1).mean(1)
                out[name] = float((values * ws[i]).sum()) / len(w)
        return out

    def finish(self, logs: dict, prefix: str = "", samples: int | None = None) -> dict:
        """The epoch's (or evaluation's) logs with each weighted metric's two sums divided; ``samples``: how many
        samples the logs' means are over (a count such as TruePositives is its mean times that number)."""
        totals = {k: logs.pop(k) for k in [k for k in logs if k.startswith(prefix + WEIGHT_SUM)]}
        for name, i, _ in getattr(self, "weighted_fns", ()):
            total = totals.get(f"{prefix}{WEIGHT_SUM}{i}")
            if prefix + name in logs:
                logs[prefix + name] = logs[prefix + name] / total if total else float("nan")
        for name, finish in getattr(self, "finishers", {}).items():  # e.g. RMSE: the root of the epoch's mean
            if prefix + name in logs:
                logs[prefix + name] = finish(logs[prefix + name])
            elif f"{prefix}{name}{PART}0" in logs:  # Precision, AUC: from the epoch's mean counts
                keys = [k for k in logs if k.startswith(f"{prefix}{name}{PART}")]
                means = [logs.pop(k) for k in keys]
                if getattr(getattr(finish, "__self__", None), "needs_samples", False):
                    if samples is None:
                        raise RuntimeError(f"{name}: the number of samples behind the logs is needed")
                    logs[prefix + name] = finish(means, samples)
                else:
                    logs[prefix + name] = finish(means)
        return logs


PART = "#"  # a confusion metric's counts are logged as name#0, name#1, … until the epoch's end


def _parts(name: str, means: torch.Tensor) -> dict[str, float]:
    return {f"{name}{PART}{j}": v for j, v in enumerate(means.tolist())}


__all__ = ["CompileSpec", "reduce_loss", "metric_leaves", "WEIGHT_SUM"]
