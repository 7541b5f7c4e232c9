import json
import os
import shutil

import pytest
import torch

from rnnkit.train import distributed


def pytest_configure(config):
    """Under pytest-xdist (``make test`` runs ``-n 2``), the workers share the CPU: each gives torch its share of the
    cores instead of every core (oversubscribed OpenMP threads spin and slow both workers)."""
    workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if workers:
        torch.set_num_threads(max(1, len(os.sched_getaffinity(0)) // int(workers)))


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    yield


@pytest.fixture(autouse=True)
def _train_on_the_cpu(request, monkeypatch):
    """The suite's expectations are CPU computations (references built on the CPU, bytes of CPU runs), so a trainer's
    ``device="auto"`` means the CPU here on any machine; tests/test_cuda.py is where the GPU is used, by name."""
    if request.module.__name__.rpartition(".")[2] != "test_cuda":
        monkeypatch.setattr(distributed, "auto_device", lambda: torch.device("cpu"))
    yield


@pytest.fixture(scope="session")
def build_once(tmp_path_factory):
    """``build_once(name, build)``: a folder built once per test run and shared by pytest-xdist's workers (the
    ``FileLock`` recipe of pytest-xdist's documentation) — a module fixture that trains a model would otherwise train
    it on every worker that runs one of the module's tests. The first worker to ask calls ``build(folder)`` under the
    lock; every worker gets ``(folder, what build returned)``, read back as JSON."""
    from filelock import FileLock

    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the run's folder above the workers' own (without xdist, the run's own folder)

    def build_folder(name: str, build):
        folder, done = base / name, base / f"{name}.json"
        with FileLock(str(base / f"{name}.lock")):
            if not done.is_file():
                shutil.rmtree(folder, ignore_errors=True)  # what a failed build left
                folder.mkdir()
                done.write_text(json.dumps(build(folder), default=str))
        return folder, json.loads(done.read_text())

    return build_folder
