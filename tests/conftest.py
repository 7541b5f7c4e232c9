import os

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
