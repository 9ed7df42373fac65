"""`posemamba eval` on MPI-INF-3DHP: maps flags onto the library calls and prints their per-sequence tables."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table


def is_3dhp_data(data: Path) -> bool:
    """A folder holding `data_test_3dhp.npz`, or an `.npz` file (the H36M data is a pickle)."""
    from posemamba_cli.data import mpi3dhp  # imports torch: only once a command runs

    return (data.is_dir() and (data / mpi3dhp.TEST_FILE).is_file()) or data.suffix.lower() == ".npz"


def result_table(result: dict, rows: dict[str, dict], title: str, first: str) -> Table:
    """One row per sequence / activity: frames, PCK@150 mm, AUC, MPJPE; the pooled and plain means last."""
    table = Table(title=title)
    for col, just in ((first, "left"), ("frames", "right"), ("PCK@150 (%)", "right"), ("AUC (%)", "right"),
                      ("MPJPE (mm)", "right")):
        table.add_column(col, justify=just)
    for name, r in rows.items():
        if name != "All":
            table.add_row(name, str(r["n_frames"]), f"{r['pck']:.2f}", f"{r['auc']:.2f}", f"{r['mpjpe_mm']:.2f}")
    table.add_section()
    table.add_row("[bold]all valid frames[/bold]", str(result["n_frames"]), f"[bold]{result['pck']:.2f}[/bold]",
                  f"[bold]{result['auc']:.2f}[/bold]", f"[bold]{result['mpjpe_mm']:.2f}[/bold]")
    if first == "sequence":
        m = result["plain_mean"]
        table.add_row("mean over sequences", "", f"{m['pck']:.2f}", f"{m['auc']:.2f}", f"{m['mpjpe_mm']:.2f}")
    return table


def _report(console: Console, record: dict, title: str, out: Path) -> None:
    console.print(result_table(record, record["per_sequence"], title, "sequence"))
    if "per_activity" in record:
        console.print(result_table(record, record["per_activity"], "by activity", "activity"))
    console.print(f"PCK {record['pck']:.2f}, AUC {record['auc']:.2f}, MPJPE {record['mpjpe_mm']:.2f} mm; wrote {out}")


def run(checkpoint: str, data: Path, out: Path, mat: Path | None, flip: bool | None, joints: int,
        activities: Path | None, batch_size: int, device: str, weights_dir: Path | None, offline: bool) -> dict:
    """Evaluate a checkpoint (library `evaluate_checkpoint_3dhp`) with a progress bar, then print the tables."""
    from posemamba_cli.evaluation.mpi3dhp_predict import evaluate_checkpoint_3dhp

    console = Console()
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("predicting valid test frames", total=None)
        record = evaluate_checkpoint_3dhp(
            checkpoint, data, flip=flip, joints=joints, activities=activities, batch_size=batch_size,
            device=device, weights_dir=weights_dir, offline=offline, out=out, mat=mat,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
    console.print(f"predictions: {record['inference_mat']}")
    flip = ", flip test" if record["flip"] else ""
    title = f"{Path(record['checkpoint']).name} on 3DHP ({joints}-joint PCK/AUC{flip})"
    _report(console, record, title, out)
    return record


def score_file(predictions: Path, data: Path, out: Path, joints: int, activities: Path | None) -> dict:
    """Score an existing `inference_data.mat` (library `score_predictions_3dhp`) and print the tables."""
    from posemamba_cli.evaluation.mpi3dhp_predict import score_predictions_3dhp

    record = score_predictions_3dhp(predictions, data, joints=joints, activities=activities, out=out)
    _report(Console(), record, f"{predictions.name} on 3DHP ({joints}-joint PCK/AUC)", out)
    return record
