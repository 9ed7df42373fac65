"""`posemamba_cli.infer`: many videos -> one result folder each; the library call behind `posemamba infer`.

Each video's folder is a pure function of the input list (`plan_outputs`) and whether it is already done is
a look at that folder (`is_finished`), so the list can be split over processes without coordination.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rich.console import Console

from posemamba_cli.errors import PoseMambaError
from posemamba_cli.export.formats import parse_formats
from posemamba_cli.io.manifest import read_manifest
from posemamba_cli.pipeline.config import DECODING_CHOICES, PEOPLE_CHOICES, InferConfig
from posemamba_cli.pipeline.outputs import ResultExists, check_writable
from posemamba_cli.pipeline.per_video import VideoResult, collect_videos, infer_video, output_folder_name

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


def validate_options(config: InferConfig, keypoints: str | Path | None, n_videos: int) -> None:
    """Check every option value before any model is loaded; PoseMambaError (one line) names the bad one."""
    c = config
    if c.people not in PEOPLE_CHOICES:
        raise PoseMambaError(f"--people must be one of {', '.join(PEOPLE_CHOICES)}, not {c.people!r}")
    if not (0.0 < float(c.det_conf) <= 1.0):
        raise PoseMambaError(f"--det-conf must be a confidence in (0, 1], not {c.det_conf}")
    if int(c.batch_size) < 1:
        raise PoseMambaError(f"--batch-size must be at least 1, not {c.batch_size}")
    if int(c.min_track_frames) < 1:
        raise PoseMambaError(f"--min-track-frames must be at least 1, not {c.min_track_frames}")
    if c.decoding is not None and c.decoding not in DECODING_CHOICES:
        raise PoseMambaError(f"--decoding must be one of {', '.join(DECODING_CHOICES)}, not {c.decoding!r}")
    if keypoints is not None:
        if n_videos > 1:
            raise PoseMambaError("--keypoints belongs to one video; give a single video with it")
        if not Path(keypoints).is_file():
            raise PoseMambaError(f"{keypoints}: keypoint file not found")
    if c.focal_px is not None and not (math.isfinite(c.focal_px) and c.focal_px > 0):
        raise PoseMambaError(f"--focal-px must be a focal length in pixels above 0, not {c.focal_px}")
    if c.fov is not None and not (0.0 < c.fov < 180.0):
        raise PoseMambaError(f"--fov must be a horizontal field of view in degrees in (0, 180), not {c.fov}")
    if c.focal_px is not None and c.fov is not None:
        raise PoseMambaError("give --focal-px or --fov, not both")
    if c.height is not None and not (MIN_HEIGHT_M <= c.height <= MAX_HEIGHT_M):
        raise PoseMambaError(f"--height must be a standing height in metres in [{MIN_HEIGHT_M}, {MAX_HEIGHT_M}], "
                             f"not {c.height}")  # fmt: skip
    if not (math.isfinite(c.smooth) and c.smooth >= 0):
        raise PoseMambaError(f"--smooth must be a time in seconds, 0 or more, not {c.smooth}")
    parse_formats(c.export, "--export")


def infer(
    videos: Sequence[str | Path] | str | Path,
    output: str | Path = "outputs",
    config: InferConfig | None = None,
    *,
    keypoints: str | Path | None = None,
    console: Console | None = None,
    **options: Any,
) -> list[VideoResult]:
    """Estimate 3D poses for each video (files or folders of videos) into `output/<name>_posemamba/`.

    The options are InferConfig's fields (the same names as `posemamba infer`'s flags), given as `config`
    and/or by name (`people="all"`, `render=False`, ...); `keypoints` (one video's 2D file) skips detection
    and 2D. A video whose folder already holds a finished result is skipped (`status="skipped"`) unless
    `overwrite`, so the same call after an interruption redoes only what is missing. With one video, its
    error is raised; with several, each failure is recorded (`status="failed"`, `error`) and the others go on.
    `pose2d="auto"` picks the 2D model for the device (`pose2d.choice`, announced in one line). Under torchrun
    the videos are shared round robin over the ranks; rank 0 returns every video's result (in input order),
    the other ranks their own. SIGTERM unwinds like Ctrl-C: no half-written folder stays.
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

    config = replace(config or InferConfig(), **options)  # an unknown option is a TypeError naming it
    c = config
    console = console or Console(stderr=True)
    if c.rerun:
        from posemamba_cli.viewer.recording import require_rerun

        require_rerun()
    items = [videos] if isinstance(videos, (str, os.PathLike)) else list(videos)
    found = collect_videos(items)
    validate_options(config, keypoints, len(found))
    check_writable(Path(output))
    world = distributed.world_from_env()
    dev = distributed.rank_device(pick_device(c.device), world)
    plan = plan_outputs(found, output)
    todo = [p for p in plan if c.overwrite or not is_finished(p.output_dir)]
    skipped = [_skipped(p) for p in plan if p not in todo] if world.is_main else []
    mine: list[VideoResult] = []
    created = distributed.start(world, dev)
    if todo:
        choice = choose_pose2d(c.pose2d, dev, c.flip_2d)
        check_models_present(
            [c.lifter] + ([] if keypoints is not None else [choice.name, c.detector]), c.weights_dir, c.offline
        )
        config = replace(config, device=dev)
        lift_model = load_lifter_model(c.lifter, c.weights_dir, c.offline, dev)
        det = est = kp = None
        if keypoints is None:  # the detector first: its file is checked before anything heavier loads
            det = load_detector(c.detector, c.weights_dir, c.offline, dev, conf=c.det_conf)
            decoding = None if c.decoding in (None, "auto") else c.decoding
            est = load_pose2d(choice.name, c.weights_dir, c.offline, dev, decoding, flip_test=choice.flip_test,
                              half=choice.half)  # fmt: skip
            if world.is_main:
                console.print(choice.describe(dev), highlight=False, soft_wrap=True)
        else:
            kp = lambda info: load_keypoints(keypoints, info.n_frames, c.people, (info.width, info.height))  # noqa: E731
        with terminate_as_interrupt(), make_progress(console, disable=c.quiet or not world.is_main) as progress:
            # the whole plan is shared out (not only what is left), so every rank agrees on who owns what
            # however far the others have got
            for item in (p for p in distributed.shard(plan, world) if p in todo):
                try:
                    mine.append(infer_video(
                        item.video, item.output_dir.parent, lift_model, det, est, kp, config, progress,
                        output_name=item.output_dir.name, overwrite=c.overwrite,
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
