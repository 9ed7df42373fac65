"""`posemamba infer`: videos -> 2D keypoints, 3D keypoints (npz + JSON) and overlay / 3D / side-by-side videos."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer
from rich.console import Console

from posemamba_cli.errors import PoseMambaError


class People(str, Enum):
    main = "main"
    all = "all"


class Decoding(str, Enum):
    auto = "auto"
    plain = "plain"
    dark = "dark"


def infer(
    inputs: list[Path] = typer.Argument(..., help="Video files and/or folders of videos."),
    output: Path = typer.Option(Path("outputs"), "--output", "-o", help="Folder receiving one sub-folder per video."),
    keypoints: Path | None = typer.Option(
        None, "--keypoints", help="2D keypoints (COCO results / AlphaPose JSON, our npz): skips detection and 2D."
    ),
    people: People = typer.Option(People.main, "--people", help="main: the largest, longest-seen person; all: every track."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda or cuda:N."),
    lifter: str = typer.Option("posemamba-b", "--lifter", help="PoseMamba weights: registry name or file."),
    pose2d: str = typer.Option("auto", "--pose2d", help="HRNet weights: registry name or file; auto: sized for the device."),
    flip_2d: bool | None = typer.Option(None, "--flip-2d/--no-flip-2d", help="2D flip test (default: off for the CPU default, else on)."),
    decoding: Decoding = typer.Option(Decoding.auto, "--decoding", help="2D heatmap decoding (auto: from the registry entry)."),
    detector: str = typer.Option("yolo11n", "--detector", help="YOLO weights: registry name, file, or model yaml."),
    det_conf: float = typer.Option(0.3, "--det-conf", help="Person detection confidence threshold."),
    weights_dir: Path | None = typer.Option(None, "--weights-dir", help="Where named weights live (default: the registry's folder)."),
    offline: bool = typer.Option(False, "--offline", help="Never download: missing named weights are an error."),
    flip: bool = typer.Option(True, "--flip/--no-flip", help="Average the lifter with its horizontally flipped input."),
    batch_size: int = typer.Option(8, "--batch-size", min=1, help="Lifter windows per forward pass."),
    render: bool = typer.Option(True, "--render/--no-render", help="Write the overlay, 3D and side-by-side videos."),
    sequential: bool = typer.Option(False, "--sequential", help="Run the stages one after another (no threads)."),
    skip_existing: bool = typer.Option(False, "--skip-existing", help="Pass over videos whose output folder is finished (restarts)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Estimate 3D poses for every frame of each video and write them with visualisations."""
    from posemamba_cli.pipeline import InferConfig, collect_videos, infer_video, load_keypoints
    from posemamba_cli.pipeline.models import load_detector, load_lifter_model, load_pose2d, pick_device
    from posemamba_cli.pipeline.outputs import check_writable
    from posemamba_cli.pipeline.progress import make_progress, summary_table

    console = Console()
    err = Console(stderr=True)
    videos = collect_videos(inputs)
    if keypoints is not None and len(videos) > 1:
        raise PoseMambaError("--keypoints belongs to one video; give a single video with it")
    if keypoints is not None and not keypoints.is_file():
        raise PoseMambaError(f"{keypoints}: keypoint file not found")
    check_writable(output)
    from posemamba_cli.pipeline import distributed
    from posemamba_cli.pipeline.interrupts import terminate_as_interrupt

    world = distributed.world_from_env()  # under torchrun: this rank runs its share of the videos
    dev = distributed.rank_device(pick_device(device), world)
    config = InferConfig(people=people.value, flip=flip, batch_size=batch_size, device=dev, render=render,
                         concurrent=not sequential)  # fmt: skip
    lift_model = load_lifter_model(lifter, weights_dir, offline, dev)
    det = est = kp = None
    if keypoints is None:
        from posemamba_cli.pose2d.choice import choose_pose2d

        choice = choose_pose2d(pose2d, dev, flip_2d)
        if world.is_main:
            err.print(choice.describe(dev), highlight=False, soft_wrap=True)
        est = load_pose2d(choice.name, weights_dir, offline, dev, None if decoding is Decoding.auto else decoding.value,
                          flip_test=choice.flip_test, half=choice.half)  # fmt: skip
        det = load_detector(detector, weights_dir, offline, dev, conf=det_conf)
    else:
        kp = lambda info: load_keypoints(keypoints, info.n_frames, people.value, (info.width, info.height))  # noqa: E731

    names = _output_names(videos)

    def report(video: Path, message: str) -> None:
        if len(videos) > 1:
            err.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)

    created = distributed.start(world, dev)
    with terminate_as_interrupt(), make_progress(console, disable=quiet or not world.is_main) as progress:
        def run_one(video: Path, name: str):
            return infer_video(video, output, lift_model, det, est, kp, config, progress, output_name=name)

        outcome = distributed.run_videos(videos, names, output, run_one, world, skip_existing, report)
    distributed.stop(created)  # not on errors: the other ranks may be waiting; torchrun stops them
    if not world.is_main:
        return  # rank 0 prints the one summary
    if len(videos) == 1 and outcome.failures:
        raise PoseMambaError(outcome.failures[0][1])
    if outcome.skipped:
        console.print(f"{len(outcome.skipped)} of {len(videos)} videos already finished (--skip-existing)")
    if outcome.results:
        console.print(summary_table(outcome.results))
    if outcome.failures:
        raise PoseMambaError(f"{len(outcome.failures)} of {len(videos)} videos failed (see above)")


def _output_names(videos: list[Path]) -> list[str]:
    """One folder name per video: its stem, with the extension added where two stems collide."""
    stems = [v.stem for v in videos]
    return [f"{v.stem}_{v.suffix.lstrip('.')}" if stems.count(v.stem) > 1 else v.stem for v in videos]
