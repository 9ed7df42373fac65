"""`posemamba infer`: videos -> 2D keypoints, 3D keypoints (npz + JSON) and overlay / 3D / side-by-side videos."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer
from rich.console import Console

from posemamba_cli.errors import PoseMambaError
from posemamba_cli.world.trajectory import DEFAULT_SMOOTH_S


class People(str, Enum):
    main = "main"
    all = "all"


class Decoding(str, Enum):
    auto = "auto"
    plain = "plain"
    dark = "dark"


def infer(
    inputs: list[Path] = typer.Argument(..., help="Video files and/or folders of videos."),
    output: Path = typer.Option(
        Path("outputs"), "--output", "-o", help="Folder receiving one <video>_posemamba folder per video."
    ),
    keypoints: Path | None = typer.Option(
        None, "--keypoints", help="2D keypoints (COCO results / AlphaPose JSON, our npz): skips detection and 2D."
    ),
    people: People = typer.Option(
        People.main, "--people", help="main: the main person (largest summed box area); all: every track."
    ),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:N or mps."),
    lifter: str = typer.Option("posemamba-b", "--lifter", help="PoseMamba weights: registry name or file."),
    pose2d: str = typer.Option(
        "auto", "--pose2d", help="HRNet weights: registry name or file; auto: sized for the device."
    ),
    flip_2d: bool | None = typer.Option(
        None, "--flip-2d/--no-flip-2d", help="2D flip test (default: off for the CPU default, else on)."
    ),
    decoding: Decoding = typer.Option(
        Decoding.auto, "--decoding", help="2D heatmap decoding (auto: from the registry entry)."
    ),
    detector: str = typer.Option("yolo11n", "--detector", help="YOLO weights: registry name, file, or model yaml."),
    det_conf: float = typer.Option(0.3, "--det-conf", help="Person detection confidence threshold, in (0, 1]."),
    weights_dir: Path | None = typer.Option(
        None, "--weights-dir", help="Where named weights live (default: the registry's folder)."
    ),
    offline: bool = typer.Option(False, "--offline", help="Never download: missing named weights are an error."),
    flip: bool = typer.Option(True, "--flip/--no-flip", help="Average the lifter with its horizontally flipped input."),
    batch_size: int = typer.Option(8, "--batch-size", help="Lifter windows per forward pass (at least 1)."),
    render: bool = typer.Option(True, "--render/--no-render", help="Write the overlay, 3D and side-by-side videos."),
    export: str | None = typer.Option(
        None, "--export", help="Also write person_<track id>.bvh / .glb: comma-separated bvh, glb."
    ),
    viewer: bool = typer.Option(
        True, "--viewer/--no-viewer", help="Write viewer.html, the interactive 3D page (see `posemamba view`)."
    ),
    rerun: bool = typer.Option(
        False, "--rerun", help="Also write recording.rrd for the rerun viewer (needs the extra: pip install .[rerun])."
    ),
    keep_fragments: bool = typer.Option(
        False, "--keep-fragments", help="--people all: keep tracks shorter than 1 second (dropped by default)."),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Replace existing results (only folders posemamba wrote)."
    ),
    sequential: bool = typer.Option(False, "--sequential", help="Run the stages one after another (no threads)."),
    focal_px: float | None = typer.Option(
        None, "--focal-px", help="Camera focal length in pixels (default: the image diagonal)."),
    fov: float | None = typer.Option(None, "--fov", help="Camera horizontal field of view in degrees, in (0, 180)."),
    height: float | None = typer.Option(
        None, "--height", help="The people's standing height in metres (default: typical bone lengths, ~1.75 m)."),
    smooth: float = typer.Option(
        DEFAULT_SMOOTH_S, "--smooth", help="Root path filter: Gaussian sigma in seconds (0: none)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Estimate 3D poses for every frame of each video into OUTPUT/<video>_posemamba/ (see the README)."""
    from posemamba_cli.pipeline.batch import infer as run_infer
    from posemamba_cli.pipeline.batch import world_settings
    from posemamba_cli.pipeline.distributed import world_from_env
    from posemamba_cli.pipeline.progress import summary_table, world_table
    from posemamba_cli.pipeline.warning_lines import library_warnings_hidden

    err = Console(stderr=True)
    warn = lambda text: err.print(f"[yellow]warning:[/yellow] {text}", highlight=False, soft_wrap=True)  # noqa: E731
    with library_warnings_hidden(warn):  # torch / numpy notes are not the user's business; ours are shown
        results = run_infer(
            inputs, output, keypoints=keypoints, people=people.value, device=device, lifter=lifter, pose2d=pose2d,
            decoding=decoding.value, detector=detector, det_conf=det_conf, weights_dir=weights_dir, offline=offline,
            flip=flip, batch_size=batch_size, render=render, keep_fragments=keep_fragments, overwrite=overwrite,
            flip_2d=flip_2d, sequential=sequential, quiet=quiet, export=export,
            viewer=viewer, rerun=rerun,
            focal_px=focal_px, fov=fov, height=height, smooth=smooth,
        )  # fmt: skip
    if not world_from_env().is_main:
        return  # under torchrun rank 0 reports every rank's videos, once
    for r in results:
        for warning in r.warnings:
            warn(warning)
        if r.status == "skipped":
            err.print(f"skipped {r.video}: results already in {r.output_dir} (--overwrite to redo)", highlight=False,
                      soft_wrap=True)  # fmt: skip
        elif r.status == "failed":
            err.print(f"[red]error:[/red] {r.error}", highlight=False, soft_wrap=True)
    done = [r for r in results if r.status == "done"]
    if done:
        Console().print(summary_table(done))
        Console().print(world_table(done, world_settings(focal_px, fov, height)))
    failures = [r for r in results if r.status == "failed"]
    if failures:
        raise PoseMambaError(f"{len(failures)} of {len(results)} videos failed (see above)")
