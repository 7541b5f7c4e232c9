"""Checkpoints: kill -9 and resume gives bitwise the weights of an uninterrupted run; bad checkpoints are refused and
nothing is overwritten; torchrun on 2 processes trains the same model as 1 process with the same global batch."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file, save_file

from rnnkit.train import CheckpointError, load_checkpoint

BIN = Path(sys.executable).parent
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}

CONFIG = {
    "model": {"cell": "lstm", "hidden_size": 16, "num_layers": 2, "dropout": 0.2},
    "data": {"name": "adding", "seq_len": 20, "train_size": 1600, "val_size": 200, "batch_size": 32},
    "optim": {"name": "adam", "lr": 0.005},
    "train": {"epochs": 6, "clip_norm": 1.0, "checkpoint_every": 5, "progress": False, "seed": 3},
}


def write_config(tmp_path: Path, cfg=CONFIG, name="run.yaml") -> Path:
    p = tmp_path / name
    p.write_text(yaml.safe_dump(cfg))
    return p


def rnnkit_train(*args, check=True):
    r = subprocess.run([str(BIN / "rnnkit"), "train", *map(str, args)], env=ENV, capture_output=True, text=True,
                       timeout=600)
    if check:
        assert r.returncode == 0, r.stdout + r.stderr
    return r


def weights(run: Path) -> dict[str, torch.Tensor]:
    return load_file(str(run / "model.safetensors"))


def test_kill_9_and_resume_is_bitwise_identical(tmp_path):
    cfg = write_config(tmp_path)
    rnnkit_train(cfg, "--out", tmp_path / "straight")
    killed = tmp_path / "killed"
    proc = subprocess.Popen([str(BIN / "rnnkit"), "train", str(cfg), "--out", str(killed)], env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    last = killed / "checkpoints" / "last.safetensors"
    deadline = time.time() + 120
    while not last.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    time.sleep(random.Random().uniform(0.05, 0.6))  # a random point, possibly mid-write of a checkpoint
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed; make it longer"
    assert not (killed / "model.safetensors").exists()
    _, state = load_checkpoint(last)
    assert 0 < state["step"] < 300
    rnnkit_train(cfg, "--out", killed, "--resume")
    a, b = weights(tmp_path / "straight"), weights(killed)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert (killed / "metrics.csv").read_text() .count("\n") == 7  # header + 6 epochs, none lost or doubled


def test_resume_refuses_bad_checkpoints_and_overwrites_nothing(tmp_path):
    small = {**CONFIG, "train": {**CONFIG["train"], "epochs": 1}}
    cfg = write_config(tmp_path, small)
    run = tmp_path / "run"
    rnnkit_train(cfg, "--out", run)
    last = run / "checkpoints" / "last.safetensors"
    good = last.read_bytes()
    model_bytes = (run / "model.safetensors").read_bytes()

    # a new run into a folder that holds one
    r = rnnkit_train(cfg, "--out", run, check=False)
    assert r.returncode == 2 and "already holds a run" in r.stderr
    # truncated
    last.write_bytes(good[: len(good) // 2])
    r = rnnkit_train(cfg, "--out", run, "--resume", check=False)
    assert r.returncode == 2 and "truncated or corrupted" in r.stderr
    assert last.read_bytes() == good[: len(good) // 2]
    # one flipped byte in the tensor data
    bad = bytearray(good)
    bad[-10] ^= 0xFF
    last.write_bytes(bytes(bad))
    r = rnnkit_train(cfg, "--out", run, "--resume", check=False)
    assert r.returncode == 2 and "corrupted: its tensors do not match the recorded SHA-256" in r.stderr
    # a foreign safetensors file
    save_file({"w": torch.zeros(2)}, str(last))
    with pytest.raises(CheckpointError, match="is not an rnnkit checkpoint"):
        load_checkpoint(last)
    # a different configuration
    last.write_bytes(good)
    other = write_config(tmp_path, {**small, "model": {**small["model"], "hidden_size": 32}}, "other.yaml")
    r = rnnkit_train(other, "--out", run, "--resume", check=False)
    assert r.returncode == 2 and "model.hidden_size: checkpoint 16 vs now 32" in r.stderr
    assert last.read_bytes() == good and (run / "model.safetensors").read_bytes() == model_bytes


def test_torchrun_two_processes_match_one(tmp_path):
    cfg = {**CONFIG, "model": {**CONFIG["model"], "dropout": 0.0},
           "train": {**CONFIG["train"], "epochs": 1, "max_steps": 25}}
    path = write_config(tmp_path, cfg)
    rnnkit_train(path, "--out", tmp_path / "one")
    r = subprocess.run([str(BIN / "torchrun"), "--standalone", "--nproc_per_node=2", "-m", "rnnkit.cli", "train",
                        str(path), "--out", str(tmp_path / "two")], env=ENV, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    a, b = weights(tmp_path / "one"), weights(tmp_path / "two")
    for k in a:
        torch.testing.assert_close(a[k], b[k], atol=1e-6, rtol=0, msg=k)
    assert not (tmp_path / "two" / "checkpoints" / ".last.safetensors.tmp").exists()
    shutil.rmtree(tmp_path / "two")
