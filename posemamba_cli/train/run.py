"""`posemamba train` as one library call: config file -> data -> Trainer -> result."""

from __future__ import annotations

import os
from pathlib import Path

from rich.console import Console

from posemamba_cli import settings
from posemamba_cli.train.config import load_config
from posemamba_cli.train.data_source import resolve_data
from posemamba_cli.train.run_dir import check_run_dir
from posemamba_cli.train.trainer import Trainer, TrainResult


def train_from_config(
    config: str | os.PathLike,
    out: str | os.PathLike = "runs/train",
    *,
    data: str | os.PathLike | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    seed: int | None = None,
    save_every: int | None = None,
    device: str = "auto",
    resume: bool = False,
    overwrite: bool = False,
    max_steps: int | None = None,
    tensorboard: bool = True,
    console: Console | None = None,
) -> TrainResult:
    """Train PoseMamba with a training YAML (published keys load unchanged); the given values override it.

    An `out` folder with anything in it needs `resume` or `overwrite` (checked first, before any work).
    Under torchrun every process calls this; only rank 0 reports on `console` (stderr by default).
    """
    check_run_dir(out, resume=resume, overwrite=overwrite)
    overrides = {k: v for k, v in {"epochs": epochs, "batch_size": batch_size, "seed": seed,
                                   "save_every_steps": save_every}.items() if v is not None}
    cfg = load_config(config, overrides)
    console = console or Console(stderr=True)
    main = settings.launch_info().rank == 0
    if cfg.ignored_keys and main:
        console.print(f"[yellow]note:[/yellow] config keys not used: {', '.join(cfg.ignored_keys)}")
    dataset = resolve_data(cfg, data)
    if main:
        console.print(f"data: {dataset.description}: {len(dataset.train)} train clips, {len(dataset.test)} test clips")
    return Trainer(cfg, dataset, Path(out), device=device, resume=resume, max_steps=max_steps, console=console,
                   tensorboard=tensorboard, overwrite=overwrite).fit()
