"""`posemamba data ...`: make a synthetic dataset, check a preprocessed file."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from posemamba_cli.errors import PoseMambaError

app = typer.Typer(help="Datasets: synthetic Human3.6M-schema data, checks of preprocessed files.", no_args_is_help=True)


def _ints(text: str, what: str) -> list[int]:
    try:
        return [int(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        raise PoseMambaError(f"{what} must be comma-separated numbers, got {text!r}") from None


@app.command("synthetic")
def synthetic(
    out: Path = typer.Argument(..., help="Pickle to write (H36M schema), or with --dataset 3dhp a folder."),
    dataset: str = typer.Option("h36m", "--dataset", help="h36m, or 3dhp: P-STMO's two npz files in folder OUT."),
    train_subjects: str = typer.Option("1,5,6,7,8", help="Train subject numbers."),
    test_subjects: str = typer.Option("9,11", help="Test subject numbers."),
    actions: str = typer.Option("2,3,4,5", help="Human3.6M action ids 2..16, or 'all'."),
    subactions: int = typer.Option(1, min=1, help="Takes per subject and action."),
    min_frames: int = typer.Option(200, min=2, help="Shortest take (frames at 50 fps)."),
    max_frames: int = typer.Option(500, min=2, help="Longest take."),
    noise: float = typer.Option(None, min=0.0, help="2D noise in pixels (default: 4 for h36m, 0 for 3dhp)."),
    seed: int = typer.Option(0, help="Random seed (same seed, same file)."),
) -> None:
    """Write a synthetic dataset: a moving H36M-17 skeleton seen by the four Human3.6M cameras, or (--dataset
    3dhp) the 3DHP-17 skeleton in P-STMO's npz schemas (train and test file, 2048x2048 / 1920x1080 frames)."""
    from posemamba_cli.data.synthetic import SyntheticSpec, write_synthetic

    if dataset.lower() in ("3dhp", "mpi3dhp", "mpi-inf-3dhp"):
        from posemamba_cli.data.mpi3dhp_synthetic import Synthetic3DHPSpec, write_synthetic_3dhp

        spec3 = Synthetic3DHPSpec(subjects=tuple(_ints(train_subjects, "--train-subjects")), min_frames=min_frames,
                                  max_frames=max_frames, pixel_noise=noise or 0.0, seed=seed)
        counts3 = write_synthetic_3dhp(out, spec3)
        Console().print(f"wrote {out}: {counts3['train_frames']} train frames, {counts3['test_frames']} test frames "
                        f"({counts3['valid_test_frames']} valid)")
        return
    if dataset.lower() != "h36m":
        raise PoseMambaError(f"--dataset must be h36m or 3dhp, not {dataset!r}")
    noise = 4.0 if noise is None else noise
    spec = SyntheticSpec(
        train_subjects=_ints(train_subjects, "--train-subjects"), test_subjects=_ints(test_subjects, "--test-subjects"),
        actions=list(range(2, 17)) if actions.strip().lower() == "all" else _ints(actions, "--actions"),
        subactions=subactions, min_frames=min_frames, max_frames=max_frames, pixel_noise=noise, seed=seed,
    )  # fmt: skip
    console = Console()
    with console.status("generating"):
        counts = write_synthetic(out, spec)
    console.print(f"wrote {out}: {counts['train']} train frames, {counts['test']} test frames")


@app.command("check")
def check(
    data_file: Path = typer.Argument(..., help="A preprocessed pickle (published schema)."),
    clip_len: int = typer.Option(243, min=1, help="Frames per clip."),
    train_stride: int = typer.Option(81, min=1, help="Frames between train clip starts (published: 81)."),
    test_stride: int = typer.Option(243, min=1, help="Frames between test clip starts (published: the clip length)."),
) -> None:
    """Validate a preprocessed file and show its sequences and published clip counts."""
    from posemamba_cli.data.summary import summarize_h36m

    table = Table(title=str(data_file))
    for col in ("split", "frames", "sequences", "subjects", "actions", "clips"):
        table.add_column(col, justify="right" if col != "split" else "left")
    for s in summarize_h36m(data_file, clip_len, train_stride, test_stride):
        table.add_row(s.split, str(s.frames), str(s.sequences), " ".join(s.subjects), str(s.actions), str(s.clips))
    Console().print(table)
