"""torch.distributed set-up for runs launched with torchrun (gloo on CPU, nccl on CUDA)."""

from __future__ import annotations

from datetime import timedelta

import torch
import torch.distributed as dist

from posemamba_cli import settings
from posemamba_cli.device import resolve_device
from posemamba_cli.settings import World


def setup(device: str | None = None) -> tuple[World, torch.device]:
    """Join the process group when torchrun's variables are set; (this process's place, its device)."""
    world = settings.launch_info()
    if world.distributed and device not in (None, "auto") and str(device).startswith("cuda"):
        device = "cuda"  # under torchrun each process takes its own GPU
    dev = resolve_device(device, local_rank=world.local_rank if world.distributed else None)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    if world.distributed and not dist.is_initialized():
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo", timeout=timedelta(minutes=30))
    return world, dev


def all_mean(value: torch.Tensor, world: World) -> torch.Tensor:
    """Mean of a tensor over all processes (itself when single-process)."""
    if not world.distributed:
        return value
    out = value.detach().clone()
    dist.all_reduce(out)
    return out / world.world_size


def barrier(world: World) -> None:
    if world.distributed:
        dist.barrier()


def cleanup(world: World) -> None:
    if world.distributed and dist.is_initialized():
        dist.destroy_process_group()
