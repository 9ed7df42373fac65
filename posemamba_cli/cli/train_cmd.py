"""`posemamba train`: the published training recipe from a YAML config, resumable, multi-GPU via torchrun."""

from __future__ import annotations

from pathlib import Path

import typer


def train(
    config: Path = typer.Option(..., "--config", "-c", help="Training YAML (published keys load unchanged)."),
    out: Path = typer.Option(Path("runs/train"), "--out", "-o", help="Run folder: checkpoints, log.csv, tensorboard/."),
    data: Path = typer.Option(None, "--data", "-d", help="Pickle, clip folder (train/, test/) or 3DHP npz folder."),
    resume: bool = typer.Option(False, "--resume", help="Continue exactly where OUT/latest.pt stopped."),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Start a new run in a used OUT: replaces the trainer's files, keeps yours."),
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

    An OUT folder that is not empty needs --resume (continue) or --overwrite (a new run).
    Ctrl-C or SIGTERM saves a resumable checkpoint at the next step; `--resume` continues from it.
    """
    from rich.console import Console

    from posemamba_cli import settings
    from posemamba_cli.train.run import train_from_config

    console = Console(stderr=True)
    result = train_from_config(config, out, data=data, epochs=epochs, batch_size=batch_size, seed=seed,
                               save_every=save_every, device=device, resume=resume, overwrite=overwrite,
                               max_steps=max_steps, tensorboard=tensorboard, console=console)
    if settings.launch_info().rank == 0:
        best = f", best {result.best_p1:.2f}" if result.best_p1 is not None else ""
        steps = f"{result.epochs_done} epoch(s), {result.global_step} steps{best}"
        console.print(f"{result.status} after {steps}; run folder {out}")
    if result.status == "interrupted" and result.stop_signal is not None:
        raise typer.Exit(128 + result.stop_signal)  # as a shell reports it: SIGINT (Ctrl-C) 130, SIGTERM 143
