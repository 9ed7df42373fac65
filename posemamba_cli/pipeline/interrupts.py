"""SIGTERM handled as Ctrl-C: the run unwinds, so staged output folders are removed, never left half written;
the command then exits 143 (Ctrl-C: 130)."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

from posemamba_cli.errors import Terminated


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM (a scheduler, `kill`, torchrun stopping its workers) raises `Terminated` (a
    BaseException, like KeyboardInterrupt) in the main thread, as SIGINT does. Elsewhere than the main
    thread this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise Terminated(signum)

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
