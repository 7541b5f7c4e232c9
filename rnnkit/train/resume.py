"""What a training run's checkpoint holds and how a run resumes from it (the ``Trainer``'s checkpoint half).

A checkpoint is one safetensors file plus JSON metadata (``rnnkit.train.checkpoint``): the model's tensors, the
optimizer's per-parameter tensors (scalars go to the JSON), torch's and Python's RNG states, the recurrent state carried
between TBPTT chunks, the position in the data, the scheduler, the callbacks' states and the history. Resuming refuses a
checkpoint written by a different configuration (the sections below must match) and changes nothing when it refuses.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import torch

from rnnkit.train.checkpoint import CheckpointError, load_checkpoint, save_checkpoint

# sections of the config that must be identical to resume a run (the rest — epochs, logging — may change)
RESUME_MUST_MATCH = ("model", "data", "optim", "scheduler")
RESUME_TRAIN_KEYS = ("seed", "tbptt", "clip_norm", "clip_value")


_ABSENT = object()


def _differs(saved: dict, key: str, value: Any, defaults: dict) -> bool:
    """Whether ``saved[key]`` differs from ``value``; a key the checkpoint lacks matches the setting's default."""
    return saved[key] != value if key in saved else value != defaults.get(key, _ABSENT)


class ResumableRun:
    """Checkpoint save/restore for ``Trainer`` (which provides the attributes used here)."""

    def _checkpoint_payload(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        tensors = {f"model.{k}": v for k, v in self.raw_model.state_dict().items()}
        opt = self.optimizer.state_dict()
        scalars = {}
        for idx, st in opt["state"].items():
            for key, v in st.items():
                if torch.is_tensor(v):
                    tensors[f"optim.{idx}.{key}"] = v
                else:
                    scalars[f"{idx}.{key}"] = v
        tensors["rng.torch"] = torch.get_rng_state()
        if self.dist.device.type == "cuda":  # dropout masks drawn on the GPU come from its own generator
            tensors["rng.cuda"] = torch.cuda.get_rng_state(self.dist.device)
        carried = self._carried if isinstance(self._carried, tuple) else (self._carried,) if self._carried is not None else ()
        for i, c in enumerate(carried):
            tensors[f"carry.{i}"] = c
        py_state = random.getstate()
        state = {
            "config": self.config.to_dict(), "model_config": self.model_config,
            "epoch": self.epoch, "batch": self.batch, "step": self.step, "acc": self._acc,
            "train_seconds": self.train_seconds, "batch_seconds": self._batch_seconds,
            "history": self.history, "best": self.best, "nonfinite_in_row": self.nonfinite_in_row,
            "guard": self.guard.state_dict(), "resume_check": self.resume_check, "stop_reason": self._stop_reason,
            "optim": {"param_groups": opt["param_groups"], "scalars": scalars},
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "callbacks": [cb.state_dict() for cb in self.callbacks],
            "python_random": [py_state[0], list(py_state[1]), py_state[2]],
        }
        return tensors, state

    def save_checkpoint(self, name: str = "last") -> None:
        if self.checkpoint_dir is None or not self.dist.is_main:
            return
        tensors, state = self._checkpoint_payload()
        save_checkpoint(self.checkpoint_dir / f"{name}.safetensors", tensors, state)

    def _check_resumable(self, state: dict[str, Any], path: Path) -> None:
        saved, now = state.get("config", {}), self.config.to_dict()
        # a setting added to rnnkit after the checkpoint was written is absent from it: equal if it is at its default
        # now (the behaviour the run had); the same for the task options (``resume_check.defaults``)
        default = json.loads(json.dumps(type(self.config)().to_dict()))
        diffs = [f"{s}.{k}: checkpoint {saved.get(s, {}).get(k)!r} vs now {v!r}"
                 for s in RESUME_MUST_MATCH for k, v in now[s].items()
                 if _differs(saved.get(s, {}), k, json.loads(json.dumps(v)), default[s])]
        diffs += [f"train.{k}: checkpoint {saved.get('train', {}).get(k)!r} vs now {now['train'][k]!r}"
                  for k in RESUME_TRAIN_KEYS if saved.get("train", {}).get(k) != now["train"][k]]
        option_defaults = json.loads(json.dumps(getattr(self.resume_check, "defaults", {}), default=str))
        for what, saved_d, now_d, defaults in (("model config ", state.get("model_config"), self.model_config, {}),
                                               ("", state.get("resume_check"), self.resume_check, option_defaults)):
            saved_d, now_d = saved_d or {}, json.loads(json.dumps(now_d or {}))  # as JSON stores it (tuples → lists)
            diffs += [f"{what}{k}: checkpoint {saved_d.get(k)!r} vs now {now_d.get(k)!r}"
                      for k in sorted(set(saved_d) | set(now_d))
                      if (k not in now_d and saved_d[k] != defaults.get(k, _ABSENT))
                      or (k in now_d and _differs(saved_d, k, now_d[k], defaults))]
        if diffs:
            raise CheckpointError(f"checkpoint {path} was written by a different configuration; refusing to resume "
                                  "(nothing was changed):\n  " + "\n  ".join(diffs))

    def _restore(self, path: Path) -> None:
        tensors, state = load_checkpoint(path)
        self._check_resumable(state, path)
        model_sd = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
        try:
            self.raw_model.load_state_dict(model_sd)
        except RuntimeError as e:
            raise CheckpointError(f"checkpoint {path} does not fit this model: {e}") from None
        opt_state: dict[int, dict[str, Any]] = {}
        for k, v in tensors.items():
            if k.startswith("optim."):
                _, idx, key = k.split(".", 2)
                opt_state.setdefault(int(idx), {})[key] = v
        for k, v in state["optim"]["scalars"].items():
            idx, key = k.split(".", 1)
            opt_state.setdefault(int(idx), {})[key] = v
        self.optimizer.load_state_dict({"state": opt_state, "param_groups": state["optim"]["param_groups"]})
        if self.scheduler is not None and state["scheduler"] is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        for cb, cb_state in zip(self.callbacks, state["callbacks"]):
            cb.load_state_dict(cb_state)
        torch.set_rng_state(tensors["rng.torch"])
        if "rng.cuda" in tensors and self.dist.device.type == "cuda":
            torch.cuda.set_rng_state(tensors["rng.cuda"], self.dist.device)
        n_carried = len([k for k in tensors if k.startswith("carry.")])
        carried = [tensors[f"carry.{i}"].to(self.dist.device) for i in range(n_carried)]
        self._carried = None if not carried else (tuple(carried) if len(carried) > 1 else carried[0])
        v, internal, gauss = state["python_random"]
        random.setstate((v, tuple(internal), gauss))
        self.epoch, self.batch, self.step = state["epoch"], state["batch"], state["step"]
        self._acc, self.history, self.best = state["acc"], state["history"], state["best"]
        self.nonfinite_in_row = state["nonfinite_in_row"]
        self.guard.load_state_dict(state.get("guard", {}))
        self._stop_reason = state.get("stop_reason")  # a run that stopped early stays stopped
        self.train_seconds = float(state.get("train_seconds", 0.0))
        self._batch_seconds = float(state.get("batch_seconds", 0.0))
        self.log(f"resumed from {path}: epoch {self.epoch + 1}, batch {self.batch}, step {self.step}")
