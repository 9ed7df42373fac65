"""The training run folder: a run never replaces the files of a run it did not start.

An existing folder with anything in it needs `resume` (continue the run there) or `overwrite` (start a new
run there: the trainer's own files are replaced, every other file is left alone, and a file bearing a
trainer file's name that the trainer did not write is refused).
"""

from __future__ import annotations

import contextlib
import csv
from pathlib import Path

from posemamba_cli.errors import PoseMambaError
from posemamba_cli.io.paths import check_output_folder

LATEST = "latest.pt"
BEST = "best.pt"
LOG = "log.csv"
INFERENCE_MAT = "inference_data.mat"  # 3DHP: the best epoch's predictions
TENSORBOARD = "tensorboard"
TRAINER_FILES = (LATEST, BEST, LOG, INFERENCE_MAT)


def check_run_dir(run_dir: str | Path, *, resume: bool | str | Path = False, overwrite: bool = False) -> None:
    """Raise a one-line PoseMambaError unless a training run may write into `run_dir` (call before any work)."""
    run_dir = Path(run_dir)
    if resume and overwrite:
        raise PoseMambaError("--resume and --overwrite exclude each other: continue the run, or start a new one")
    check_output_folder(run_dir, "run folder")
    present = sorted(p.name for p in run_dir.iterdir()) if run_dir.is_dir() else []
    if resume or not present:
        return
    if not overwrite:
        shown = ", ".join(present[:4]) + (f" and {len(present) - 4} more" if len(present) > 4 else "")
        raise PoseMambaError(
            f"run folder {run_dir} is not empty ({shown}); pass --resume to continue the run there, or "
            "--overwrite to start a new one (only the trainer's own files are replaced), or choose another --out"
        )
    foreign = [name for name in TRAINER_FILES if (run_dir / name).exists() and not _written_by_trainer(run_dir / name)]
    if foreign:
        raise PoseMambaError(
            f"run folder {run_dir}: {', '.join(foreign)} was not written by posemamba train, so --overwrite "
            "leaves it alone and stops; move it away or choose another --out"
        )


def clear_previous_run(run_dir: str | Path) -> list[str]:
    """Delete the files an earlier run of the trainer left in `run_dir` (its checkpoints, log, TensorBoard
    event files), so that a new run never mixes with them; returns the names removed. Call it only after
    `check_run_dir(..., overwrite=True)` passed."""
    run_dir = Path(run_dir)
    removed = []
    for name in TRAINER_FILES:
        path = run_dir / name
        if path.is_file() and _written_by_trainer(path):
            path.unlink()
            removed.append(name)
    events = run_dir / TENSORBOARD
    if events.is_dir():
        for path in events.glob("events.out.tfevents.*"):
            path.unlink()
            removed.append(f"{TENSORBOARD}/{path.name}")
        with contextlib.suppress(OSError):
            events.rmdir()
    return removed


def _written_by_trainer(path: Path) -> bool:
    """Whether `path` holds what the trainer writes under that name (never a symlink or a folder)."""
    if path.is_symlink() or not path.is_file():
        return False
    if path.suffix == ".pt":
        from posemamba_cli.model.checkpoint import FORMAT, load_file

        try:
            ckpt = load_file(path)
        except PoseMambaError:
            return False
        return isinstance(ckpt, dict) and ckpt.get("format") == FORMAT and "step_in_epoch" in ckpt
    if path.name == LOG:
        try:
            with path.open(newline="") as fh:
                header = next(csv.reader(fh), [])
        except (OSError, UnicodeDecodeError, csv.Error):
            return False
        return header[:2] == ["epoch", "lr"]
    if path.name == INFERENCE_MAT:
        from posemamba_cli.evaluation.mpi3dhp import is_inference_mat

        return is_inference_mat(path)
    return False
