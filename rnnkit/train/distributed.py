"""Multi-process training on PyTorch's own distributed engine, started by ``torchrun``.

``torchrun --nproc_per_node=N -m rnnkit.cli train CONFIG --out DIR`` sets RANK/WORLD_SIZE/LOCAL_RANK; the trainer then
joins the process group (gloo on CPU, nccl on GPU), wraps the model in DistributedDataParallel (which averages gradients
across processes), shards every global batch across ranks, and lets only rank 0 write checkpoints and logs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass
class DistContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @classmethod
    def from_env(cls, device: str = "cpu") -> DistContext:
        """The process group torchrun describes, or one process on ``device`` (see ``resolve_device``)."""
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world <= 1:
            return cls(device=resolve_device(device))
        rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
        use_cuda = torch.cuda.is_available()
        if not dist.is_initialized():
            dist.init_process_group(backend="nccl" if use_cuda else "gloo")
        device = torch.device(f"cuda:{local}") if use_cuda else torch.device("cpu")
        if use_cuda:
            torch.cuda.set_device(device)
        return cls(rank, world, local, device)

    def all_true(self, flag: bool) -> bool:
        """True when ``flag`` holds on every rank (so all ranks take the same branch)."""
        if not self.enabled:
            return flag
        t = torch.tensor([1 if flag else 0], device=self.device)
        dist.all_reduce(t, op=dist.ReduceOp.MIN)
        return bool(t.item())

    def max(self, value: float) -> float:
        """The largest ``value`` over all ranks (so all ranks agree on it)."""
        if not self.enabled:
            return value
        t = torch.tensor([value], dtype=torch.float64, device=self.device)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return float(t.item())

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()


def auto_device() -> torch.device:
    """What ``"auto"`` means on this machine: the current CUDA GPU when torch sees one, else the CPU."""
    return torch.device("cuda", torch.cuda.current_device()) if torch.cuda.is_available() else torch.device("cpu")


def resolve_device(name: str, what: str = "train.device") -> torch.device:
    """``"auto"`` → ``auto_device()``; ``"cpu"``, ``"cuda"``, ``"cuda:N"`` as given — refused, naming ``what``, when
    this machine has no such device."""
    if name == "auto":
        return auto_device()
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        raise ValueError(f"{what}: expected auto, cpu, cuda or cuda:N, got {name!r}") from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ValueError(f"{what} is {name!r} but torch sees no CUDA GPU on this machine "
                             f"(torch {torch.__version__}); use cpu or auto")
        index = device.index if device.index is not None else torch.cuda.current_device()
        if index >= count:
            raise ValueError(f"{what} is {name!r} but this machine has {count} CUDA GPU(s) (cuda:0..{count - 1})")
        return torch.device("cuda", index)
    if device.type != "cpu":
        raise ValueError(f"{what}: expected auto, cpu, cuda or cuda:N, got {name!r}")
    return device
