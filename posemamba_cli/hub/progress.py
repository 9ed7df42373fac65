"""Rich progress bars for transfers (bytes, speed, time left), or a silent stand-in."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)


class TransferBar(Protocol):
    """What a downloader reports to: the total when known, then bytes as they arrive."""

    def start(self, total: int | None, completed: int = 0) -> None: ...

    def advance(self, nbytes: int) -> None: ...


class _Silent:
    def start(self, total: int | None, completed: int = 0) -> None:
        pass

    def advance(self, nbytes: int) -> None:
        pass


class _RichBar:
    def __init__(self, progress: Progress, label: str) -> None:
        self._progress = progress
        self._task = progress.add_task(label, total=None)

    def start(self, total: int | None, completed: int = 0) -> None:
        self._progress.reset(self._task, total=total, completed=completed)

    def advance(self, nbytes: int) -> None:
        self._progress.advance(self._task, nbytes)


@contextlib.contextmanager
def transfer_bar(label: str, console: Console | None = None, enabled: bool = True) -> Iterator[TransferBar]:
    """A progress bar for one file on `console` (stderr by default); silent when `enabled` is False."""
    if not enabled:
        yield _Silent()
        return
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console or Console(stderr=True),
        transient=True,  # the caller prints one line per result; failures leave no stale bar
    )
    with progress:
        yield _RichBar(progress, label)
