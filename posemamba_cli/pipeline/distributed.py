"""Many videos over several processes, GPUs or machines with torch.distributed (`torchrun ... infer folder/`).

Every rank plans the same videos in the same order (`videos.plan_outputs`) and takes every `world_size`-th
one from its rank (round robin), runs them, and sends its results to rank 0, which prints the one summary.
Each result folder is staged and renamed into place only when complete, with its manifest written last,
so a restarted run (the same command) passes over finished videos and redoes only the rest.
Gloo carries the few messages on a CPU, NCCL between GPUs; each rank uses the GPU of its local rank.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from posemamba_cli.errors import PoseMambaError
from posemamba_cli.settings import World


def world_from_env() -> World:
    """RANK / WORLD_SIZE / LOCAL_RANK as torchrun sets them (absent: one process)."""
    from posemamba_cli import settings

    try:
        launch = settings.launch_info()
    except ValueError as exc:
        raise PoseMambaError(f"RANK / WORLD_SIZE / LOCAL_RANK must be integers: {exc}") from None
    return launch


def rank_device(device: str, world: World) -> str:
    """Under torchrun each rank takes the GPU of its local rank ("cuda" -> "cuda:LOCAL_RANK")."""
    return f"cuda:{world.local_rank}" if world.distributed and device == "cuda" else device


def start(world: World, device: str) -> bool:
    """Join the process group (gloo on CPUs, NCCL on GPUs); True when this call created it."""
    import torch.distributed as dist

    if not world.distributed or dist.is_initialized():
        return False
    # ultralytics (the tracker, YOLO) runs a barrier when first imported inside a process group: a rank with
    # no video would never import it and the others would wait forever; import it on every rank before
    from posemamba_cli.people.offline import import_ultralytics

    import_ultralytics()
    backend = "nccl" if device.startswith("cuda") else "gloo"
    if device.startswith("cuda"):
        import torch

        torch.cuda.set_device(torch.device(device))
    dist.init_process_group(backend=backend)
    return True


def stop(created: bool) -> None:
    """Leave the process group if `start` created it."""
    import torch.distributed as dist

    if created and dist.is_initialized():
        dist.destroy_process_group()


def shard(items: Sequence[Any], world: World) -> list[Any]:
    """This rank's share: items rank, rank + world_size, ... (every item lands on exactly one rank)."""
    return list(items[world.rank :: world.world_size])


def gather_to_main(items: list[Any], world: World) -> list[Any]:
    """Every rank's `items` concatenated on rank 0 (in rank order); other ranks get their own back."""
    if not world.distributed:
        return items
    import torch.distributed as dist

    gathered: list[list[Any] | None] | None = [None] * world.world_size if world.is_main else None
    dist.gather_object(items, gathered, dst=0)
    if not world.is_main:
        return items
    return [item for part in gathered or [] for item in (part or [])]
