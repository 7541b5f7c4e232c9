import pytest
import torch

from rnnkit.train import distributed


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
