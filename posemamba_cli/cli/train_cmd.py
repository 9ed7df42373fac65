"""`posemamba train`: the published training recipe from a YAML config, resumable, multi-GPU via torchrun."""

from __future__ import annotations

from pathlib import Path

import typer


def train(
    config: Path = typer.Option(..., "--config", "-c", help="Training YAML (published keys load unchanged)."),
    out: Path = typer.Option(Path("runs/train"), "--out", "-o", help="Run folder: checkpoints, log.csv, tensorboard/."),
    data: Path = typer.Option(None, "--data", "-d", help="Preprocessed pickle or folder with train/ and test/ clips."),
    resume: bool = typer.Option(False, "--resume", help="Continue exactly where OUT/latest.pt stopped."),
    epochs: int = typer.Option(None, min=1, help="Override the config's epochs."),
    batch_size: int = typer.Option(None, min=1, help="Override the config's batch size (per process)."),
    seed: int = typer.Option(None, help="Override the seed."),
    device: str = typer.Option("auto", help="cpu, cuda or auto (torchrun: one GPU per process)."),
    max_steps: int = typer.Option(None, min=1, help="Stop after this many steps, leaving a resumable checkpoint."),
    save_every: int = typer.Option(None, min=1, help="Also write latest.pt every N steps inside epochs."),
    tensorboard: bool = typer.Option(True, "--tensorboard/--no-tensorboard", help="Write TensorBoard logs."),
) -> None:
    """Train PoseMamba: rich progress, CSV + TensorBoard logs, atomic latest/best checkpoints every epoch.

    Several GPUs or nodes: `torchrun --nproc_per_node N -m posemamba_cli train ...` (gloo on CPU, nccl on GPU).

    Ctrl-C or SIGTERM saves a resumable checkpoint at the next step; `--resume` continues from it.
    """
    from rich.console import Console

    from posemamba_cli import settings
    from posemamba_cli.train.config import load_config
    from posemamba_cli.train.data_source import resolve_data
    from posemamba_cli.train.trainer import Trainer

    overrides = {k: v for k, v in {"epochs": epochs, "batch_size": batch_size, "seed": seed,
                                   "save_every_steps": save_every}.items() if v is not None}
    cfg = load_config(config, overrides)
    console = Console(stderr=True)
    main = settings.launch_info().rank == 0
    if cfg.ignored_keys and main:
        console.print(f"[yellow]note:[/yellow] config keys not used: {', '.join(cfg.ignored_keys)}")
    dataset = resolve_data(cfg, data)
    if main:
        console.print(f"data: {dataset.description}: {len(dataset.train)} train clips, {len(dataset.test)} test clips")
    result = Trainer(cfg, dataset, out, device=device, resume=resume, max_steps=max_steps, console=console,
                     tensorboard=tensorboard).fit()
    if main:
        best = f", best {result.best_p1:.2f}" if result.best_p1 is not None else ""
        steps = f"{result.epochs_done} epoch(s), {result.global_step} steps{best}"
        console.print(f"{result.status} after {steps}; run folder {out}")
    if result.status == "interrupted" and max_steps is None:
        raise typer.Exit(130)
