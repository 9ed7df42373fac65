"""Run logs: one CSV row per epoch and TensorBoard scalars (per step and per epoch)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from posemamba_cli.io.atomic import atomic_path


class RunLog:
    """Append-only CSV (`log.csv`) and TensorBoard event files (`tensorboard/`) in the run folder."""

    def __init__(self, run_dir: Path, tensorboard: bool = True) -> None:
        self.csv_path = run_dir / "log.csv"
        self.writer = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.writer = SummaryWriter(str(run_dir / "tensorboard"))
            except ImportError:  # tensorboard is a dependency, but a broken install must not stop training
                self.writer = None

    def step(self, global_step: int, values: dict[str, float]) -> None:
        if self.writer is not None:
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
            for k, v in row.items():
                if isinstance(v, (int, float)) and k != "epoch":
                    self.writer.add_scalar(f"epoch/{k}", v, int(row["epoch"]))
            self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
