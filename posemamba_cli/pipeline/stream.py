"""Run pipeline stages: one thread per stage with bounded queues between them, or chained in this thread.

A stage is a generator function `stage(items) -> items`: it reads its input iterator and yields outputs,
so it can map one to one, batch (collect n inputs, yield n outputs) or keep state (a tracker). The source
is iterated in its own thread too (decoding overlaps everything after it). The queues hold at most
`queue_size` items each, so memory stays bounded whatever the video length.

The first exception in any stage (or the source) stops every thread and is re-raised in the consumer;
closing the consumer early (break, KeyboardInterrupt, a SIGTERM turned into an exception) stops them as well.
With `threaded=False` the same stages are chained as generators in the caller's thread (`infer --sequential`),
so both ways run the same code and give the same items in the same order.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

Stage = Callable[[Iterator[Any]], Iterable[Any]]

_END = object()  # end of a stream (the sentinel put after the last item)
_POLL_S = 0.1  # how often a blocked put/get looks at the stop flag


class _Stopped(Exception):
    """Raised inside a stage's thread when another thread failed or the consumer went away."""


@dataclass
class StageClock:
    """Busy seconds per stage (time inside the stage's own code, not waiting on its queues)."""

    seconds: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, name: str, seconds: float) -> None:
        with self.lock:
            self.seconds[name] = self.seconds.get(name, 0.0) + seconds


class _Run:
    def __init__(self, queue_size: int) -> None:
        self.queue_size = max(1, int(queue_size))
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.lock = threading.Lock()

    def fail(self, exc: BaseException) -> None:
        with self.lock:
            if self.error is None:
                self.error = exc
        self.stop.set()

    def put(self, q: queue.Queue, item: Any) -> None:
        while True:
            if self.stop.is_set():
                raise _Stopped
            try:
                q.put(item, timeout=_POLL_S)
                return
            except queue.Full:
                continue

    def items(self, q: queue.Queue, waited: list[float]) -> Iterator[Any]:
        """Iterate a queue until its end sentinel; `waited[0]` accumulates the seconds spent blocked."""
        while True:
            start = time.perf_counter()
            while True:
                if self.stop.is_set():
                    raise _Stopped
                try:
                    item = q.get(timeout=_POLL_S)
                    break
                except queue.Empty:
                    continue
            waited[0] += time.perf_counter() - start
            if item is _END:
                return
            yield item


class _Timed:
    """An iterator that adds up the seconds spent inside its `next` (its own work and everything upstream)."""

    def __init__(self, items: Iterable[Any]) -> None:
        self.items, self.seconds = iter(items), 0.0

    def __iter__(self) -> _Timed:
        return self

    def __next__(self) -> Any:
        start = time.perf_counter()
        try:
            return next(self.items)
        finally:
            self.seconds += time.perf_counter() - start

    def close(self) -> None:
        close = getattr(self.items, "close", None)
        if close is not None:
            close()


def _chained(source: Iterable[Any], stages: list[tuple[str, Stage]], clock: StageClock | None) -> Iterator[Any]:
    """The stages as generators over each other in this thread; a stage's busy time is its own `next` time
    less its input's."""
    chain = [_Timed(source)]
    for _, stage in stages:
        chain.append(_Timed(stage(chain[-1])))
    try:
        yield from chain[-1]
    finally:
        for item in reversed(chain):  # a stage cut short stops its input too (ffmpeg behind the source)
            item.close()
        if clock is not None:
            clock.add("decode", chain[0].seconds)
            for (name, _), own, upstream in zip(stages, chain[1:], chain):
                clock.add(name, own.seconds - upstream.seconds)


def run_stages(
    source: Iterable[Any],
    stages: list[tuple[str, Stage]],
    queue_size: int = 8,
    clock: StageClock | None = None,
    threaded: bool = True,
) -> Iterator[Any]:
    """Yield what the last stage yields, with the source and every stage running in their own threads
    (`threaded`) or chained in the caller's thread.

    `stages` are (name, generator function) pairs applied in order; `clock` (optional) receives each
    stage's busy seconds, the source's under the name "decode".
    """
    if not threaded:
        yield from _chained(source, stages, clock)
        return
    run = _Run(queue_size)
    queues = [queue.Queue(maxsize=run.queue_size) for _ in range(len(stages) + 1)]

    def timed(name: str, produce: Callable[[list[float]], Iterable[Any]], out: queue.Queue) -> None:
        waited = [0.0]  # seconds blocked on the input queue (added by run.items) or on the output queue
        start = time.perf_counter()
        iterator: Iterator[Any] | None = None
        try:
            iterator = iter(produce(waited))
            for item in iterator:
                t0 = time.perf_counter()
                run.put(out, item)
                waited[0] += time.perf_counter() - t0
            run.put(out, _END)
        except _Stopped:
            pass
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which re-raises it
            run.fail(exc)
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:  # stops a stage (or ffmpeg behind the source) that was cut short
                try:
                    close()
                except _Stopped:
                    pass
                except BaseException as exc:  # noqa: BLE001
                    run.fail(exc)
            if clock is not None:
                clock.add(name, time.perf_counter() - start - waited[0])

    threads = [threading.Thread(target=timed, args=("decode", lambda w: source, queues[0]), daemon=True,
                                name="posemamba-decode")]  # fmt: skip
    for i, (name, stage) in enumerate(stages):
        def produce(waited: list[float], stage: Stage = stage, q: queue.Queue = queues[i]) -> Iterable[Any]:
            return stage(run.items(q, waited))

        threads.append(threading.Thread(target=timed, args=(name, produce, queues[i + 1]), daemon=True,
                                        name=f"posemamba-{name}"))  # fmt: skip
    for thread in threads:
        thread.start()
    waited = [0.0]
    try:
        yield from run.items(queues[-1], waited)
    except _Stopped:
        pass
    finally:
        run.stop.set()  # normal end: every thread has finished already; early exit: they stop now
        for thread in threads:
            thread.join()
    if run.error is not None:
        raise run.error
