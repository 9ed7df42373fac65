"""Forward time of the lifter per clip, per preset, scan backend and thread count, with peak memory."""

from __future__ import annotations

import os
import statistics
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch

from posemamba_cli.model.posemamba import PoseMamba
from posemamba_cli.ops import resolve_backend, use_backend


@dataclass
class BenchResult:
    preset: str
    backend: str
    threads: int
    batch: int
    frames: int
    seconds: float  # median forward time for one batch
    peak_mb: float  # peak resident memory of the process during the timed forwards

    @property
    def clips_per_second(self) -> float:
        return self.batch / self.seconds

    @property
    def frames_per_second(self) -> float:
        return self.batch * self.frames / self.seconds


def _rss_mb() -> float:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class _PeakMemory:
    """Samples resident memory on a thread while a block runs."""

    def __enter__(self) -> "_PeakMemory":
        self.base = self.peak = _rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def _poll(self) -> None:
        while not self._stop.wait(0.002):
            self.peak = max(self.peak, _rss_mb())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_mb())



def time_forward(model: PoseMamba, x: torch.Tensor, repeats: int, warmup: int = 1) -> tuple[float, float]:
    """(median seconds, peak MB) of model(x) under inference mode."""
    with torch.inference_mode():
        for _ in range(warmup):
            model(x)
        times = []
        with _PeakMemory() as mem:
            for _ in range(repeats):
                start = time.perf_counter()
                model(x)
                times.append(time.perf_counter() - start)
    return statistics.median(times), mem.peak


def _label(backend: str) -> str:
    if backend != "auto":
        return backend
    impl = resolve_backend("auto", "cpu", torch.float32)
    return f"auto ({impl.name if impl else 'reference'})"


def benchmark_lifter(
    presets: Iterable[str] = ("S", "B", "L"), backends: Iterable[str] = ("auto",),
    threads: Iterable[int] = (1, 2), batch: int = 1, frames: int = 243, repeats: int = 3,
    baseline: str | None = "reference", on_result: Callable[[BenchResult], None] | None = None,
) -> list[BenchResult]:
    """Measure every (preset, backend, threads) combination; the baseline runs once per preset and thread
    count (one repeat: the reference loop is slow) so that speedups compare runs of the same process."""
    results: list[BenchResult] = []
    previous_threads = torch.get_num_threads()
    torch.manual_seed(0)
    x = torch.randn(batch, frames, 17, 2)
    try:
        for preset in presets:
            model = PoseMamba.from_preset(preset, num_frame=max(frames, 243)).eval()
            for n_threads in threads:
                torch.set_num_threads(n_threads)
                plan = [(b, repeats) for b in backends] + ([(baseline, 1)] if baseline else [])
                for backend, reps in plan:
                    with use_backend(backend):
                        seconds, peak = time_forward(model, x, reps, warmup=0 if backend == "reference" else 1)
                    result = BenchResult(preset, _label(backend), n_threads, batch, frames, seconds, peak)
                    results.append(result)
                    if on_result:
                        on_result(result)
    finally:
        torch.set_num_threads(previous_threads)
    return results
