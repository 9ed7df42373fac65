"""`posemamba eval`: the published Human3.6M or MPI-INF-3DHP protocol for a checkpoint (ours or published)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from posemamba_cli.cli import eval_3dhp
from posemamba_cli.errors import PoseMambaError


def result_table(result: dict, title: str) -> Table:
    """Per-action P1 / P2 (mm) and the means over actions."""
    table = Table(title=title)
    table.add_column("action")
    table.add_column("P1 (mm)", justify="right")
    table.add_column("P2 (mm)", justify="right")
    for action, p1 in result["p1_per_action_mm"].items():
        table.add_row(action, f"{p1:.2f}", f"{result['p2_per_action_mm'][action]:.2f}")
    table.add_section()
    p1, p2 = f"[bold]{result['p1_mm']:.2f}[/bold]", f"[bold]{result['p2_mm']:.2f}[/bold]"
    table.add_row("[bold]mean over actions[/bold]", p1, p2)
    return table


def eval(  # noqa: A001 - the command is called eval
    checkpoint: str = typer.Option(
        None, "--checkpoint", "-k",
        help="Lifter checkpoint file (ours or published .pth.tr) or a model name (posemamba-s/-b/-l).",
    ),
    data: Path = typer.Option(
        ..., "--data", "-d",
        help="Preprocessed H36M pickle, or for 3DHP data_test_3dhp.npz / the folder holding it.",
    ),
    out: Path = typer.Option(Path("eval_result.json"), "--out", "-o", help="JSON result file."),
    config: Path = typer.Option(None, "--config", "-c", help="Training YAML (clip_len, flip, no_conf, gt_2d)."),
    gt_2d: bool = typer.Option(None, "--gt-2d/--detected-2d", help="Ground-truth 2D input (default: the config's)."),
    flip: bool = typer.Option(None, "--flip/--no-flip", help="Flip averaging (default: the config's, on)."),
    batch_size: int = typer.Option(16, min=1, help="Clips per forward pass."),
    device: str = typer.Option("auto", help="cpu, cuda, cuda:1 or auto."),
    cache_dir: Path = typer.Option(
        None, help="Where sliced clips are cached (default: $POSEMAMBA_CACHE/clips, see posemamba info)."
    ),
    weights_dir: Path = typer.Option(None, "--weights-dir", help="Weights folder for model names (default: weights/)."),
    offline: bool = typer.Option(False, "--offline", help="Never download a named model; say what to fetch instead."),
    benchmark: str = typer.Option("auto", "--dataset", help="auto, h36m or 3dhp (auto: 3dhp for npz data)."),
    joints: int = typer.Option(14, "--joints", help="3DHP: PCK/AUC joint groups, 14 (P-STMO, default) or 17."),
    activities: Path = typer.Option(None, "--activities", help="3DHP: npz of TS1..TS6 activity labels."),
    mat: Path = typer.Option(None, "--mat", help="3DHP: where to write inference_data.mat (default: beside OUT)."),
    predictions: Path = typer.Option(
        None, "--predictions", help="3DHP: score this inference_data.mat (any model's) instead of a checkpoint."
    ),
) -> None:
    """Evaluate a lifter on the Human3.6M or MPI-INF-3DHP test set: a table of scores and a JSON file.

    Human3.6M (the preprocessed pickle): P1 / P2 per action, with the published protocol.
    MPI-INF-3DHP (npz data): PCK@150 mm, AUC and MPJPE per sequence (and activity), and the
    inference_data.mat the test set's MATLAB scripts read.
    """
    from posemamba_cli.evaluation import evaluate_checkpoint

    if benchmark not in ("auto", "h36m", "3dhp"):
        raise PoseMambaError(f"--dataset must be auto, h36m or 3dhp, not {benchmark!r}")
    if joints not in (14, 17):
        raise PoseMambaError(f"--joints must be 14 or 17, not {joints}")
    is_3dhp = benchmark == "3dhp" or (benchmark == "auto" and eval_3dhp.is_3dhp_data(data))
    if predictions is not None:
        eval_3dhp.score_file(predictions, data, out, joints, activities)
        return
    if checkpoint is None:
        raise PoseMambaError("--checkpoint is required (or, for 3DHP, --predictions inference_data.mat)")
    if is_3dhp:
        eval_3dhp.run(checkpoint, data, out, mat, flip, joints, activities, batch_size, device, weights_dir, offline)
        return
    console = Console()
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("predicting test clips", total=None)
        record = evaluate_checkpoint(
            checkpoint, data, config=config, gt_2d=gt_2d, flip=flip, batch_size=batch_size, device=device,
            cache_dir=cache_dir, weights_dir=weights_dir, offline=offline, out=out,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
    title = f"{Path(record['checkpoint']).name} on {data.name}{' (gt 2D)' if record['gt_2d'] else ''}"
    console.print(result_table(record, title))
    console.print(f"P1 {record['p1_mm']:.2f} mm, P2 {record['p2_mm']:.2f} mm; wrote {out}")
