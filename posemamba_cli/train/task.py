"""The Task contract that training and evaluation share, and the data a run trains on.

A task (Human3.6M here, MPI-INF-3DHP in mpi3dhp_task) gives the training dataset and its root joint,
evaluates a model (metrics; the first of `score_keys` present scores an epoch, lower is better) and saves what
a best epoch keeps beside best.pt. `data_source.resolve_data` resolves a config's data into TrainingData with
its task; the trainer talks to nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch
from torch.utils.data import Dataset

from posemamba_cli.data.clips import ClipSet
from posemamba_cli.data.dataset import ClipDataset
from posemamba_cli.evaluation.predict import evaluate_model

Progress = Callable[[int], None]


class Task(Protocol):
    name: str
    root_joint: int
    score_keys: tuple[str, ...]

    def train_dataset(self, cfg: Any) -> Dataset: ...

    def evaluate(self, model: torch.nn.Module, cfg: Any, device: torch.device,
                 progress: Progress | None = None) -> dict[str, Any]: ...

    def save_best(self, run_dir: Path) -> None: ...


class H36MTask:
    """Human3.6M clips; the published protocol (P1 / P2 in mm) when the test clips carry the per-frame table."""

    name = "h36m"
    root_joint = 0
    score_keys = ("p1_mm", "mpjpe_normalised")

    def __init__(self, train: ClipSet, test: ClipSet) -> None:
        self.train, self.test = train, test

    def train_dataset(self, cfg: Any) -> ClipDataset:
        return ClipDataset(self.train, flip=cfg.flip, no_conf=cfg.no_conf, gt_2d=cfg.gt_2d, seed=cfg.seed)

    def evaluate(self, model: torch.nn.Module, cfg: Any, device: torch.device,
                 progress: Progress | None = None) -> dict[str, Any]:
        return evaluate_model(model, self.test, no_conf=cfg.no_conf, flip=cfg.flip, gt_2d=cfg.gt_2d,
                              batch_size=cfg.eval_batch_size, device=device, amp=cfg.amp, progress=progress)

    def save_best(self, run_dir: Path) -> None:
        """Nothing beyond best.pt."""


@dataclass
class TrainingData:
    """Train and test clips (`test.table` set when the test split came from the preprocessed file) and their
    task; Human3.6M's unless given."""

    train: Any
    test: Any
    description: str
    task: Task | None = None

    def __post_init__(self) -> None:
        if self.task is None:
            self.task = H36MTask(self.train, self.test)
