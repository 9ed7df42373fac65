"""`posemamba_cli.infer`: many videos -> one result folder each; the library call behind `posemamba infer`.

Each video's folder is a pure function of the input list (`plan_outputs`) and whether it is already done is
a look at that folder (`is_finished`), so the list can be split over processes without coordination.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from posemamba_cli.errors import PoseMambaError
from posemamba_cli.export.formats import parse_formats
from posemamba_cli.pipeline.outputs import ResultExists, check_writable, read_manifest
from posemamba_cli.pipeline.run import InferConfig, VideoResult, collect_videos, infer_video, output_folder_name
from posemamba_cli.world.trajectory import DEFAULT_SMOOTH_S

PEOPLE_CHOICES = ("main", "all")
DECODING_CHOICES = ("auto", "plain", "dark")
MIN_HEIGHT_M, MAX_HEIGHT_M = 0.3, 3.0  # --height: a person's standing height in metres


@dataclass(frozen=True)
class PlannedVideo:
    """One input video and the folder its results go to."""

    video: Path
    output_dir: Path


def plan_outputs(videos: Sequence[str | Path], output: str | Path) -> list[PlannedVideo]:
    """Each video's result folder under `output` (unique even for equal stems), checked to be safe.

    Raises PoseMambaError when an input video lies inside a result folder (it could be replaced with it).
    """
    videos = [Path(v) for v in videos]
    stems = [v.stem for v in videos]
    output = Path(output)
    plan = [PlannedVideo(v, output / output_folder_name(v, stems.count(v.stem) > 1)) for v in videos]
    folders = [p.output_dir.resolve() for p in plan]
    for video in videos:
        where = video.resolve()
        for folder in folders:
            if where.is_relative_to(folder):
                raise PoseMambaError(
                    f"{video}: lies inside the result folder {folder}; move it or choose another --output"
                )
    return plan


def is_finished(output_dir: str | Path) -> bool:
    """Whether `output_dir` holds a complete result written by this tool (its manifest is written last)."""
    return read_manifest(Path(output_dir)) is not None


def validate_options(
    *, people: str, det_conf: float, batch_size: int, decoding: str | None, keypoints: str | Path | None,
    n_videos: int, focal_px: float | None = None, fov: float | None = None, height: float | None = None,
    smooth: float = DEFAULT_SMOOTH_S,
) -> None:
    """Check every option value before any model is loaded; PoseMambaError (one line) names the bad one."""
    if people not in PEOPLE_CHOICES:
        raise PoseMambaError(f"--people must be one of {', '.join(PEOPLE_CHOICES)}, not {people!r}")
    if not (0.0 < float(det_conf) <= 1.0):
        raise PoseMambaError(f"--det-conf must be a confidence in (0, 1], not {det_conf}")
    if int(batch_size) < 1:
        raise PoseMambaError(f"--batch-size must be at least 1, not {batch_size}")
    if decoding is not None and decoding not in DECODING_CHOICES:
        raise PoseMambaError(f"--decoding must be one of {', '.join(DECODING_CHOICES)}, not {decoding!r}")
    if keypoints is not None:
        if n_videos > 1:
            raise PoseMambaError("--keypoints belongs to one video; give a single video with it")
        if not Path(keypoints).is_file():
            raise PoseMambaError(f"{keypoints}: keypoint file not found")
    if focal_px is not None and not (math.isfinite(focal_px) and focal_px > 0):
        raise PoseMambaError(f"--focal-px must be a focal length in pixels above 0, not {focal_px}")
    if fov is not None and not (0.0 < fov < 180.0):
        raise PoseMambaError(f"--fov must be a horizontal field of view in degrees in (0, 180), not {fov}")
    if focal_px is not None and fov is not None:
        raise PoseMambaError("give --focal-px or --fov, not both")
    if height is not None and not (MIN_HEIGHT_M <= height <= MAX_HEIGHT_M):
        raise PoseMambaError(f"--height must be a standing height in metres in [{MIN_HEIGHT_M}, {MAX_HEIGHT_M}], "
                             f"not {height}")  # fmt: skip
    if not (math.isfinite(smooth) and smooth >= 0):
        raise PoseMambaError(f"--smooth must be a time in seconds, 0 or more, not {smooth}")


def infer(
    videos: Sequence[str | Path] | str | Path,
    output: str | Path = "outputs",
    *,
    keypoints: str | Path | None = None,
    people: str = "main",
    device: str = "auto",
    lifter: str = "posemamba-b",
    pose2d: str = "auto",
    flip_2d: bool | None = None,
    decoding: str | None = None,
    detector: str = "yolo11n",
    det_conf: float = 0.3,
    weights_dir: str | Path | None = None,
    offline: bool = False,
    flip: bool = True,
    batch_size: int = 8,
    render: bool = True,
    viewer: bool = True,
    rerun: bool = False,
    keep_fragments: bool = False,
    overwrite: bool = False,
    sequential: bool = False,
    quiet: bool = False,
    console: Console | None = None,
    export: str | Sequence[str] | None = None,
    focal_px: float | None = None,
    fov: float | None = None,
    height: float | None = None,
    smooth: float = DEFAULT_SMOOTH_S,
) -> list[VideoResult]:
    """Estimate 3D poses for each video (files or folders of videos) into `output/<name>_posemamba/`.

    A video whose folder already holds a finished result is skipped (`status="skipped"`) unless `overwrite`,
    so the same call after an interruption redoes only what is missing. With one video, its error is raised;
    with several, each failure is recorded (`status="failed"`, `error`) and the others go on.
    `pose2d="auto"` picks the 2D model for the device (`pose2d.choice`, announced in one line); `flip_2d`
    overrides its flip test. The camera's focal length is `focal_px` (pixels), else from `fov` (horizontal
    degrees), else each video's image diagonal; `height` (metres) sets every person's size (default: typical
    bone lengths); `smooth` is the root path filter's sigma in seconds. `sequential` runs the stages one after
    another instead of in their own threads.
    `viewer` writes viewer.html into each result folder, `rerun` recording.rrd (the optional extra `rerun`,
    checked before any work).
    Under torchrun the videos are shared round robin over the ranks; rank 0 returns every video's result
    (in input order), the other ranks their own. SIGTERM unwinds like Ctrl-C: no half-written folder stays.
    `export` ("bvh,glb" or a list) also writes person_<track id>.<format> into each result folder.
    """
    from posemamba_cli.pipeline import distributed
    from posemamba_cli.pipeline.interrupts import terminate_as_interrupt
    from posemamba_cli.pipeline.keypoints_input import load_keypoints
    from posemamba_cli.pipeline.models import (
        check_models_present,
        load_detector,
        load_lifter_model,
        load_pose2d,
        pick_device,
    )
    from posemamba_cli.pipeline.progress import make_progress
    from posemamba_cli.pose2d.choice import choose_pose2d

    console = console or Console(stderr=True)
    if rerun:
        from posemamba_cli.viewer.recording import require_rerun

        require_rerun()
    items = [videos] if isinstance(videos, (str, os.PathLike)) else list(videos)
    found = collect_videos(items)
    validate_options(people=people, det_conf=det_conf, batch_size=batch_size, decoding=decoding,
                     keypoints=keypoints, n_videos=len(found), focal_px=focal_px, fov=fov, height=height,
                     smooth=smooth)  # fmt: skip
    formats = parse_formats(export, "--export")
    check_writable(Path(output))
    world = distributed.world_from_env()
    dev = distributed.rank_device(pick_device(device), world)
    plan = plan_outputs(found, output)
    todo = [p for p in plan if overwrite or not is_finished(p.output_dir)]
    skipped = [_skipped(p) for p in plan if p not in todo] if world.is_main else []
    mine: list[VideoResult] = []
    created = distributed.start(world, dev)
    if todo:
        choice = choose_pose2d(pose2d, dev, flip_2d)
        check_models_present(
            [lifter] + ([] if keypoints is not None else [choice.name, detector]), weights_dir, offline
        )
        config = InferConfig(people=people, flip=flip, batch_size=batch_size, device=dev, render=render,
                             keep_fragments=keep_fragments, concurrent=not sequential, focal_px=focal_px,
                             fov_deg=fov, height_m=height, smooth_s=smooth, export=formats,
                             viewer=viewer, rerun=rerun)  # fmt: skip
        lift_model = load_lifter_model(lifter, weights_dir, offline, dev)
        det = est = kp = None
        if keypoints is None:  # the detector first: its file is checked before anything heavier loads
            det = load_detector(detector, weights_dir, offline, dev, conf=det_conf)
            est = load_pose2d(choice.name, weights_dir, offline, dev, None if decoding in (None, "auto") else decoding,
                              flip_test=choice.flip_test, half=choice.half)  # fmt: skip
            if world.is_main:
                console.print(choice.describe(dev), highlight=False, soft_wrap=True)
        else:
            kp = lambda info: load_keypoints(keypoints, info.n_frames, people, (info.width, info.height))  # noqa: E731
        with terminate_as_interrupt(), make_progress(console, disable=quiet or not world.is_main) as progress:
            # the whole plan is shared out (not only what is left), so every rank agrees on who owns what
            # however far the others have got
            for item in (p for p in distributed.shard(plan, world) if p in todo):
                try:
                    mine.append(infer_video(
                        item.video, item.output_dir.parent, lift_model, det, est, kp, config, progress,
                        output_name=item.output_dir.name, overwrite=overwrite,
                    ))  # fmt: skip
                except ResultExists:  # another run finished this video meanwhile: its result stands
                    mine.append(_skipped(item))
                except PoseMambaError as exc:
                    if len(plan) == 1:
                        raise
                    mine.append(_failed(item, str(exc)))
    results = {r.video: r for r in skipped + distributed.gather_to_main(mine, world)}
    distributed.stop(created)  # not on errors: the other ranks may be waiting; torchrun stops them
    return [results[p.video] for p in plan if p.video in results]


def world_settings(focal_px: float | None, fov: float | None, height: float | None) -> str:
    """The one line saying which focal length and body size the world motion assumes (`infer`'s summary)."""
    if focal_px is not None:
        focal = f"{focal_px:g} px (--focal-px)"
    elif fov is not None:
        focal = f"from a {fov:g} degree horizontal field of view (--fov): width / 2 / tan(fov / 2)"
    else:
        focal = "each video's image diagonal sqrt(W^2 + H^2) px (set --focal-px or --fov when known)"
    size = f"{height:g} m tall (--height)" if height is not None else "typical H36M bone lengths (about 1.75 m tall)"
    return f"world motion: focal length {focal}; people {size}; depth scales with both"


def _skipped(item: PlannedVideo) -> VideoResult:
    manifest = read_manifest(item.output_dir) or {}
    return VideoResult(
        video=item.video, output_dir=item.output_dir, n_frames=int(manifest.get("n_frames", 0)),
        n_people=int(manifest.get("n_people", 0)), fps=0.0, seconds=0.0, files=list(manifest.get("files", [])),
        status="skipped",
    )  # fmt: skip


def _failed(item: PlannedVideo, error: str) -> VideoResult:
    if str(item.video) not in error:  # a folder run must say which video failed
        error = f"{item.video}: {error}"
    return VideoResult(video=item.video, output_dir=item.output_dir, n_frames=0, n_people=0, fps=0.0, seconds=0.0,
                       status="failed", error=error)  # fmt: skip
