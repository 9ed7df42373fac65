"""Run logs: one CSV row per epoch and TensorBoard scalars (per step and per epoch)."""

from __future__ import annotations

import contextlib
import csv
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from posemamba_cli.errors import output_error
from posemamba_cli.io.atomic import atomic_path


class RunLog:
    """Append-only CSV (`log.csv`) and TensorBoard event files (`tensorboard/`) in the run folder.

    A failed write (disk full, ...) is one OutputError naming the file or folder; TensorBoard's writer thread
    is kept from printing its own traceback for it (the same error reaches the next call here).
    """

    def __init__(self, run_dir: Path, tensorboard: bool = True) -> None:
        self.csv_path = run_dir / "log.csv"
        self.tb_dir = run_dir / "tensorboard"
        self.writer = None
        self._hook = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:  # tensorboard is a dependency, but a broken install must not stop training
                return
            with self._tensorboard():
                self.writer = SummaryWriter(str(self.tb_dir))
            self._previous_hook = threading.excepthook
            threading.excepthook = self._hook = self._quiet_writer_thread

    def _quiet_writer_thread(self, args: Any) -> None:
        if not type(args.thread).__module__.startswith("tensorboard.") or not isinstance(args.exc_value, OSError):
            self._previous_hook(args)

    @contextlib.contextmanager
    def _tensorboard(self) -> Iterator[None]:
        try:
            yield
        except OSError as exc:
            self.writer = None  # it failed: no more calls into it (closing would raise again)
            raise output_error(exc, self.tb_dir) from None

    def step(self, global_step: int, values: dict[str, float]) -> None:
        if self.writer is not None:
            with self._tensorboard():
                for k, v in values.items():
                    self.writer.add_scalar(f"train/{k}", v, global_step)

    def epoch(self, row: dict[str, Any]) -> None:
        """Write one CSV row (header on first write; a resumed run drops rows of epochs it redoes)."""
        rows = []
        if self.csv_path.exists():
            with self.csv_path.open(newline="") as fh:
                rows = [r for r in csv.DictReader(fh) if int(r["epoch"]) < int(row["epoch"])]
        fields = list(row)
        for r in rows:
            fields += [k for k in r if k not in fields]
        rows.append({k: row[k] for k in row})
        with atomic_path(self.csv_path) as tmp, tmp.open("w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=fields)
            w.writeheader()
            w.writerows(rows)
        if self.writer is not None:
            with self._tensorboard():
                for k, v in row.items():
                    if isinstance(v, (int, float)) and k != "epoch":
                        self.writer.add_scalar(f"epoch/{k}", v, int(row["epoch"]))
                self.writer.flush()

    def close(self) -> None:
        try:
            if self.writer is not None:
                with self._tensorboard():
                    self.writer.close()
        finally:
            if self._hook is not None and threading.excepthook is self._hook:
                threading.excepthook = self._previous_hook
            self._hook = None
