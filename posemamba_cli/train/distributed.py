"""torch.distributed set-up for runs launched with torchrun (gloo on CPU, nccl on CUDA)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist

from posemamba_cli import settings
from posemamba_cli.device import resolve_device


@dataclass
class DistInfo:
    """This process's place in the run; world 1 means a plain single-process run."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world > 1


def setup(device: str | None = None) -> DistInfo:
    """Join the process group when torchrun's variables are set; choose this process's device."""
    launch = settings.launch_info()
    world, rank, local_rank = launch.world, launch.rank, launch.local_rank
    if world > 1 and device not in (None, "auto") and str(device).startswith("cuda"):
        device = "cuda"  # under torchrun each process takes its own GPU
    dev = resolve_device(device, local_rank=local_rank if world > 1 else None)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo", timeout=timedelta(minutes=30))
    return DistInfo(rank=rank, world=world, local_rank=local_rank, device=dev)


def all_mean(value: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """Mean of a tensor over all processes (itself when single-process)."""
    if not info.enabled:
        return value
    out = value.detach().clone()
    dist.all_reduce(out)
    return out / info.world


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def cleanup(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()
