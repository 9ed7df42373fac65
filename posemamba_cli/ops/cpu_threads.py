"""Split a ctypes kernel call over torch's thread count: ctypes releases the GIL, so pool threads run the
C code side by side, each on its own range of work units. The pool's threads ("cpu-kernel_N") live as long
as the process, as OpenMP's workers do; they hold no state between calls."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import torch

T = TypeVar("T")
_pool: ThreadPoolExecutor | None = None
_pool_size = 0


def split(total: int, parts: int) -> list[tuple[int, int]]:
    """[start, end) ranges cutting range(total) into at most `parts` nearly equal, non-empty pieces."""
    parts = max(1, min(parts, total))
    bounds = [total * i // parts for i in range(parts + 1)]
    return [(bounds[i], bounds[i + 1]) for i in range(parts) if bounds[i + 1] > bounds[i]]


def run_split(fn: Callable[[int, int], T], total: int) -> list[T]:
    """fn(start, end) over `total` units cut into torch.get_num_threads() ranges, run in parallel; the results
    in order."""
    return map_chunks(fn, split(total, max(1, torch.get_num_threads())))


def map_chunks(fn: Callable[..., T], chunks: list[tuple]) -> list[T]:
    """fn(*chunk) for every chunk, in parallel; the results in order. The first chunk runs on the calling
    thread, the others on pool threads."""
    global _pool, _pool_size
    if len(chunks) == 1:
        return [fn(*chunks[0])]
    if _pool is None or _pool_size != len(chunks) - 1:
        if _pool is not None:
            _pool.shutdown()
        _pool = ThreadPoolExecutor(len(chunks) - 1, thread_name_prefix="cpu-kernel")
        _pool_size = len(chunks) - 1
    others = [_pool.submit(fn, *c) for c in chunks[1:]]
    first = fn(*chunks[0])
    return [first, *(f.result() for f in others)]
