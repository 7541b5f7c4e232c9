"""Checkpoints and saved models: safetensors for tensors, JSON for everything else, written atomically, verified on load.

A *checkpoint* (resumable training state) is one ``.safetensors`` file: the model's and optimizer's tensors and the RNG
state, with the JSON state (config, epoch, batch, step, optimizer hyper-parameters, scheduler, callbacks' state) in the
file's metadata, and a SHA-256 of every tensor's bytes. One file makes the write atomic (temp file, fsync, rename): a
``kill -9`` leaves the previous checkpoint whole. Loading refuses, with a message naming the file, anything that is not
an rnnkit checkpoint, is truncated, or whose tensors do not hash to the recorded digest. Nothing is unpickled.

A *saved model* is ``model.safetensors`` + ``config.json`` (enough to rebuild the model without the training code).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

CHECKPOINT_FORMAT = "rnnkit-checkpoint-1"
MODEL_FORMAT = "rnnkit-model-1"


class CheckpointError(ValueError):
    """A checkpoint or saved model that cannot be used (corrupted, truncated, foreign, mismatched)."""


def tensors_digest(tensors: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def atomic_write(path: Path, write) -> None:
    """Call ``write(tmp_path)``, fsync, then rename over ``path``: readers see the old file or the new, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a saved file gets the usual permissions
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


def _clean(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().contiguous().clone() for k, v in tensors.items()}


def canonical_header(path: Path) -> None:
    """Rewrite a safetensors file's JSON header with its keys in sorted order, in place and at the same length.

    The safetensors writer keeps the metadata in a hash map, so two saves of the same tensors and metadata can list the
    metadata keys in different orders: files that differ byte for byte. Sorted keys make equal content equal bytes
    (``sha256sum`` then confirms a bit-identical run). The tensor data and its offsets do not move.
    """
    with open(path, "r+b") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n).decode("utf-8"))
        text = json.dumps(header, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        if len(text) > n:  # pragma: no cover - same content, compact both ways: never longer
            raise CheckpointError(f"{path}: cannot rewrite the safetensors header in place")
        f.seek(8)
        f.write(text + b" " * (n - len(text)))


def _write_safetensors(tensors: dict[str, torch.Tensor], path: Path, meta: dict[str, str]) -> None:
    save_file(tensors, str(path), metadata=meta)
    canonical_header(path)


def save_checkpoint(path: Path, tensors: dict[str, torch.Tensor], state: dict[str, Any]) -> None:
    tensors = _clean(tensors)
    meta = {"format": CHECKPOINT_FORMAT, "state": json.dumps(state), "sha256": tensors_digest(tensors)}
    atomic_write(Path(path), lambda p: _write_safetensors(tensors, p, meta))


def _read(path: Path, expected_format: str, what: str) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{what} {path} does not exist")
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise CheckpointError(f"{what} {path} is not a readable safetensors file (truncated or corrupted?): {e}") from None
    if meta.get("format") != expected_format:
        raise CheckpointError(f"{path} is not an rnnkit {what} (format {meta.get('format')!r}, "
                              f"expected {expected_format!r})")
    if tensors_digest(tensors) != meta.get("sha256"):
        raise CheckpointError(f"{what} {path} is corrupted: its tensors do not match the recorded SHA-256")
    return tensors, meta


def load_checkpoint(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    tensors, meta = _read(path, CHECKPOINT_FORMAT, "checkpoint")
    try:
        state = json.loads(meta["state"])
    except (KeyError, json.JSONDecodeError) as e:
        raise CheckpointError(f"checkpoint {path} has an unreadable state record: {e}") from None
    return tensors, state


def save_model(out_dir: Path, model: torch.nn.Module, config: dict[str, Any]) -> None:
    """``out_dir/model.safetensors`` + ``out_dir/config.json`` (the config records the weights' digest)."""
    out_dir = Path(out_dir)
    tensors = _clean(model.state_dict())
    digest = tensors_digest(tensors)
    meta = {"format": MODEL_FORMAT, "sha256": digest}
    atomic_write(out_dir / "model.safetensors", lambda p: _write_safetensors(tensors, p, meta))
    atomic_write_text(out_dir / "config.json", json.dumps({**config, "weights_sha256": digest}, indent=2))


def load_model_files(run_dir: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    run_dir = Path(run_dir)
    cfg_path = run_dir / "config.json"
    if not cfg_path.is_file():
        raise CheckpointError(f"{run_dir} holds no config.json: is it an rnnkit run folder?")
    try:
        config = json.loads(cfg_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{cfg_path}:{e.lineno}: invalid JSON: {e.msg}") from None
    tensors, meta = _read(run_dir / "model.safetensors", MODEL_FORMAT, "saved model")
    if config.get("weights_sha256") not in (None, meta["sha256"]):
        raise CheckpointError(f"{run_dir}: model.safetensors does not belong to config.json (digests differ)")
    return tensors, config
