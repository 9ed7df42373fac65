"""`posemamba eval` on MPI-INF-3DHP: per-sequence (and per-activity) PCK / AUC / MPJPE, JSON and .mat."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from posemamba_cli.data import mpi3dhp
from posemamba_cli.errors import PoseMambaError


def is_3dhp_data(data: Path) -> bool:
    """A folder holding `data_test_3dhp.npz`, or an `.npz` file (the H36M data is a pickle)."""
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


def _activities(path: Path | None, data: Path, console: Console) -> tuple[dict | None, Path | None]:
    if path is None and data.is_dir() and (data / "activity_annotation.npz").is_file():
        path = data / "activity_annotation.npz"
        console.print(f"activity labels: {path}")
    if path is None:
        return None, None
    if not path.is_file():
        raise PoseMambaError(f"activity file {path} does not exist")
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}, path
    except (OSError, ValueError) as exc:
        raise PoseMambaError(f"activity file {path} is not a readable npz of TS1..TS6 arrays: {exc}") from None


def _report(console: Console, result: dict, title: str, out: Path, record: dict) -> None:
    from posemamba_cli.io.atomic import atomic_path

    console.print(result_table(result, result["per_sequence"], title, "sequence"))
    if "per_activity" in result:
        console.print(result_table(result, result["per_activity"], "by activity", "activity"))
    with atomic_path(out) as tmp:
        tmp.write_text(json.dumps({**result, **record}, indent=1))
    console.print(f"PCK {result['pck']:.2f}, AUC {result['auc']:.2f}, MPJPE {result['mpjpe_mm']:.2f} mm; wrote {out}")


def run(model, checkpoint_path: Path, data: Path, out: Path, mat: Path | None, clip_len: int, flip: bool,
        joints: int, activities: Path | None, batch_size: int, device) -> dict:
    """Predict, score, print the tables, write the JSON and `inference_data.mat`; returns the result."""
    from posemamba_cli.evaluation.mpi3dhp import write_inference_mat
    from posemamba_cli.evaluation.mpi3dhp_predict import evaluate_lifter_3dhp

    console = Console()
    labels, labels_path = _activities(activities, data, console)
    n = sum(int(s.valid.sum()) for s in mpi3dhp.read_test(mpi3dhp.find_files(data)[1]))
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("predicting valid test frames", total=n)
        result, preds = evaluate_lifter_3dhp(model, data, clip_len, flip, joints, labels, batch_size, device,
                                             progress=lambda k: progress.update(task, advance=k))
    mat = mat or out.parent / "inference_data.mat"
    write_inference_mat(mat, preds)
    console.print(f"predictions: {mat}")
    title = f"{checkpoint_path.name} on 3DHP ({joints}-joint PCK/AUC{', flip test' if flip else ''})"
    _report(console, result, title, out, {"checkpoint": str(checkpoint_path), "data": str(data), "clip_len": clip_len,
                                          "flip": flip, "activities": str(labels_path) if labels_path else None,
                                          "inference_mat": str(mat)})  # fmt: skip
    return result


def score_file(predictions: Path, data: Path, out: Path, joints: int, activities: Path | None) -> dict:
    """Score an existing `inference_data.mat` (ours or MotionAGFormer's) as the MATLAB scripts would."""
    from posemamba_cli.evaluation.mpi3dhp import evaluate_3dhp, read_inference_mat

    console = Console()
    labels, labels_path = _activities(activities, data, console)
    result = evaluate_3dhp(data, read_inference_mat(predictions), joints=joints, activities=labels)
    record = {"predictions": str(predictions), "data": str(data),
              "activities": str(labels_path) if labels_path else None}
    _report(console, result, f"{predictions.name} on 3DHP ({joints}-joint PCK/AUC)", out, record)
    return result
