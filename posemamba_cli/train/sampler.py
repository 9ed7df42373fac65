"""A resumable, distributed-aware shuffling sampler: the order depends only on (seed, epoch)."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import Sampler


class EpochSampler(Sampler[int]):
    """Shuffle with a generator seeded `seed + epoch`; rank r of w takes every w-th index from r.

    With w processes and per-process batch b, the k-th batches of all ranks together hold the same clips
    as the k-th batch of size w*b of one process. The list is padded by wrapping to a multiple of w.
    `skip_batches(k, b)` drops the first k batches of this rank (resuming inside an epoch).
    """

    def __init__(self, n: int, seed: int = 0, shuffle: bool = True, world: int = 1, rank: int = 0) -> None:
        self.n, self.seed, self.shuffle, self.world, self.rank = n, seed, shuffle, world, rank
        self.epoch = 0
        self.skip = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        self.skip = 0

    def skip_batches(self, batches: int, batch_size: int) -> None:
        self.skip = batches * batch_size

    def _indices(self) -> list[int]:
        if self.shuffle:
            g = torch.Generator().manual_seed(self.seed + self.epoch)
            order = torch.randperm(self.n, generator=g).tolist()
        else:
            order = list(range(self.n))
        total = -(-self.n // self.world) * self.world
        order += order[: total - len(order)]
        return order[self.rank :: self.world]

    def __iter__(self) -> Iterator[int]:
        return iter(self._indices()[self.skip :])

    def __len__(self) -> int:
        return max(0, -(-self.n // self.world) - self.skip)
