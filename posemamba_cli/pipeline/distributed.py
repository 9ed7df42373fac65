"""Many videos over several processes, GPUs or machines with torch.distributed (`torchrun ... infer folder/`).

Every rank lists the same videos in the same order and takes every `world_size`-th one from its rank
(round robin), runs them, and sends its results to rank 0, which prints the one summary. Each output
folder is staged and renamed into place only when complete, so a folder that exists is finished: with
`skip_existing` a restarted run (same command) passes over those and redoes only the rest.
Gloo carries the few messages on a CPU, NCCL between GPUs; each rank uses the GPU of its local rank.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from posemamba_cli.errors import PoseMambaError


@dataclass(frozen=True)
class World:
    """This process's place among the ranks (a single process is rank 0 of 1)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def world_from_env() -> World:
    """RANK / WORLD_SIZE / LOCAL_RANK as torchrun sets them (absent: one process)."""
    try:
        return World(int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)),
                     int(os.environ.get("LOCAL_RANK", 0)))  # fmt: skip
    except ValueError as exc:
        raise PoseMambaError(f"RANK / WORLD_SIZE / LOCAL_RANK must be integers: {exc}") from None


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


def is_finished(folder: Path) -> bool:
    """An output folder only exists once complete (it is staged and renamed in last)."""
    return folder.is_dir() and (folder / "pose3d.npz").is_file()


@dataclass
class ShardOutcome:
    """What the ranks did: results (VideoResult), failures (video, message), skipped finished videos."""

    results: list[Any] = field(default_factory=list)
    failures: list[tuple[Path, str]] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)

    def merge(self, other: ShardOutcome) -> None:
        self.results += other.results
        self.failures += other.failures
        self.skipped += other.skipped


def run_videos(
    videos: Sequence[Path],
    names: Sequence[str],
    output: Path,
    run_one: Callable[[Path, str], Any],
    world: World | None = None,
    skip_existing: bool = False,
    on_error: Callable[[Path, str], None] | None = None,
) -> ShardOutcome:
    """Run this rank's share of `videos` (output folder `output/name`) and gather everything to rank 0.

    `run_one(video, name)` runs one video; a PoseMambaError fails that video only (reported through
    `on_error` and in the outcome). Rank 0 returns the outcome of all ranks, other ranks their own.
    """
    world = world or world_from_env()
    mine = ShardOutcome()
    for video, name in shard(list(zip(videos, names)), world):
        if skip_existing and is_finished(Path(output) / name):
            mine.skipped.append(Path(video))
            continue
        try:
            mine.results.append(run_one(Path(video), name))
        except PoseMambaError as exc:
            mine.failures.append((Path(video), str(exc)))
            if on_error is not None:
                on_error(Path(video), str(exc))
    if not world.distributed:
        return mine
    import torch.distributed as dist

    gathered: list[ShardOutcome | None] = [None] * world.world_size if world.is_main else None  # type: ignore[assignment]
    dist.gather_object(mine, gathered, dst=0)
    if not world.is_main:
        return mine
    everything = ShardOutcome()
    for outcome in gathered:
        assert outcome is not None
        everything.merge(outcome)
    order = {Path(v): i for i, v in enumerate(videos)}
    everything.results.sort(key=lambda r: order.get(Path(r.video), 0))
    return everything
