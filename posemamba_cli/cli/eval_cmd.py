"""`posemamba eval`: the published Human3.6M protocol for a checkpoint (ours or published)."""

from __future__ import annotations

import json
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
    cache_dir: Path = typer.Option(None, help="Where sliced clips are cached (default ~/.cache/posemamba/clips)."),
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
    """Evaluate a lifter on the Human3.6M test clips: rich per-action table of P1 / P2 and a JSON file.

    On MPI-INF-3DHP (npz data): PCK@150 mm, AUC and MPJPE per sequence (and activity), a JSON file and
    the inference_data.mat the test set's MATLAB scripts read.
    """
    import torch

    from posemamba_cli.hub import resolve_weights
    from posemamba_cli.io.atomic import atomic_path
    from posemamba_cli.model.checkpoint import load_lifter
    from posemamba_cli.train.config import config_from_dict, load_config
    from posemamba_cli.train.data_source import resolve_data
    from posemamba_cli.train.trainer import evaluate_model

    if predictions is not None:
        eval_3dhp.score_file(predictions, data, out, joints, activities)
        return
    if checkpoint is None:
        raise PoseMambaError("--checkpoint is required (or, for 3DHP, --predictions inference_data.mat)")
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dev = torch.device(device)
    checkpoint_path = resolve_weights(checkpoint, weights_dir, offline=offline)
    model = load_lifter(checkpoint_path, device=dev)
    overrides = {"data_file": str(data), "eval_batch_size": batch_size, "epochs": 1}
    if cache_dir is not None:
        overrides["cache_dir"] = str(cache_dir)
    if config:
        cfg = load_config(config, overrides)
    else:
        cfg = config_from_dict({"clip_len": model.num_frame, "no_conf": model.config["in_chans"] == 2, **overrides})
    if gt_2d is not None:
        cfg.gt_2d = gt_2d
    if flip is not None:
        cfg.flip = flip
    if (model.config["in_chans"] == 2) != cfg.no_conf:
        chans = model.config["in_chans"]
        raise PoseMambaError(f"{checkpoint} takes {chans} input channels but the config says no_conf: {cfg.no_conf}")
    if cfg.clip_len > model.num_frame:
        raise PoseMambaError(f"clip_len {cfg.clip_len} is longer than the model's {model.num_frame} frames")
    if benchmark not in ("auto", "h36m", "3dhp"):
        raise PoseMambaError(f"--dataset must be auto, h36m or 3dhp, not {benchmark!r}")
    if benchmark == "3dhp" or (benchmark == "auto" and eval_3dhp.is_3dhp_data(data)):
        eval_3dhp.run(model, checkpoint_path, data, out, mat, cfg.clip_len, cfg.flip, joints, activities,
                      batch_size, dev)
        return
    console = Console()
    with console.status("reading the data"):
        dataset = resolve_data(cfg)
    if dataset.test.table is None:
        raise PoseMambaError("--data must be a preprocessed pickle (the protocol needs the per-frame test table)")
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("predicting test clips", total=len(dataset.test))
        result = evaluate_model(model, cfg, dataset, dev, progress=lambda k: progress.update(task, advance=k))
    console.print(result_table(result, f"{checkpoint_path.name} on {data.name}{' (gt 2D)' if cfg.gt_2d else ''}"))
    record = {**result, "checkpoint": str(checkpoint_path), "data": str(data), "clip_len": cfg.clip_len,
              "flip": cfg.flip, "gt_2d": cfg.gt_2d}
    with atomic_path(out) as tmp:
        tmp.write_text(json.dumps(record, indent=1))
    console.print(f"P1 {result['p1_mm']:.2f} mm, P2 {result['p2_mm']:.2f} mm; wrote {out}")
