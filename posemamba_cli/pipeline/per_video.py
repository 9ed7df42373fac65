"""`infer`: video -> people -> 2D -> 3D -> files and videos. Every stage can be injected (tests, other models)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from rich.progress import Progress

from posemamba_cli.device import resolve_device
from posemamba_cli.errors import PoseMambaError
from posemamba_cli.export.formats import parse_formats
from posemamba_cli.io.manifest import write_manifest
from posemamba_cli.people.detector import PersonDetector
from posemamba_cli.people.selection import fragment_frames
from posemamba_cli.pipeline.config import InferConfig, PoseEstimator2D
from posemamba_cli.pipeline.outputs import (
    check_replaceable,
    check_writable,
    staged_folder,
    world_summary,
    write_pose3d,
)
from posemamba_cli.pipeline.progress import StageTimes
from posemamba_cli.pipeline.render_pass import render_videos
from posemamba_cli.pipeline.stages import lift_people, lifter_num_frame, people_2d
from posemamba_cli.pipeline.staging import sweep_stale_stages
from posemamba_cli.pipeline.tracks2d import Tracks2D
from posemamba_cli.pipeline.warning_lines import reports_warnings
from posemamba_cli.pipeline.world_step import estimate_world
from posemamba_cli.video import VideoInfo, probe_video

__all__ = ["InferConfig", "PoseEstimator2D", "VideoResult", "collect_videos", "infer_video", "lifter_num_frame",
           "output_folder_name"]

VIDEO_SUFFIXES = {".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".ts",
                  ".h264", ".264", ".h265", ".hevc",  # raw streams
                  ".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".gif"}  # images: one-frame videos


@dataclass
class VideoResult:
    """What one video produced."""

    video: Path
    output_dir: Path
    n_frames: int
    n_people: int
    fps: float
    seconds: float
    times: StageTimes = field(default_factory=StageTimes)
    files: list[str] = field(default_factory=list)
    status: str = "done"  # "done", "skipped" (a finished result was already there) or "failed"
    error: str | None = None  # the one-line reason of a failure
    warnings: list[str] = field(default_factory=list)  # e.g. where decoding of a damaged file stopped
    focal_px: float | None = None  # the camera's focal length (pixels) and where it came from
    focal_source: str | None = None
    foot_skate_mm: list[float] = field(default_factory=list)  # per person (NaN: no contact)
    camera_motion: str | None = None  # the static-camera test: "static", "moving" or "unknown"


OUTPUT_SUFFIX = "_posemamba"


def output_folder_name(video: str | Path, same_stem: bool = False) -> str:
    """The result folder of `video`: `<stem>_posemamba`, or with `same_stem` (another input has the same
    stem) `<stem>_<8 hex digits of the absolute path's SHA-1>_posemamba`. Deterministic for a given input."""
    video = Path(video)
    if not same_stem:
        return f"{video.stem}{OUTPUT_SUFFIX}"
    digest = hashlib.sha1(str(video.resolve()).encode()).hexdigest()[:8]
    return f"{video.stem}_{digest}{OUTPUT_SUFFIX}"


def collect_videos(inputs: Iterable[str | Path]) -> list[Path]:
    """Expand folders into their video files (sorted; hidden ones, such as macOS's `._clip.mp4`, left out);
    files are kept as given, missing ones are errors."""
    out: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.iterdir()
                           if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES and not p.name.startswith("."))
            if not found:
                raise PoseMambaError(f"{path}: no video files in this folder")
            out.extend(found)
        elif not path.exists():
            raise PoseMambaError(f"{path}: no such file")
        else:
            out.append(path)
    if not out:
        raise PoseMambaError("no input video given")
    unique = {p.resolve(): p for p in reversed(out)}  # the same file given twice is processed once
    return [p for p in out if unique[p.resolve()] is p]


@reports_warnings
def infer_video(
    video: str | Path,
    output_root: str | Path,
    lifter: Any,
    detector: PersonDetector | None = None,
    pose2d: PoseEstimator2D | None = None,
    keypoints: Tracks2D | Callable[[VideoInfo], Tracks2D] | None = None,
    config: InferConfig | None = None,
    progress: Progress | None = None,
    output_name: str | None = None,
    overwrite: bool = False,
) -> VideoResult:
    """Run the whole chain on one video and write `output_root/<output_name>/` atomically.

    `output_name` defaults to `output_folder_name(video)` (`<stem>_posemamba`). An existing result folder
    is an error unless `overwrite`; a folder this tool did not write is never touched (see `staged_folder`).

    `keypoints` (2D tracks, or a function of the probed `VideoInfo` returning them) skips detection and 2D.
    Otherwise `detector` (frame -> boxes, scores) and `pose2d` (`.predict(image, boxes)`) are required.
    """
    config = config or InferConfig()
    if config.device == "auto":
        config = replace(config, device=str(resolve_device("auto")))
    start = time.perf_counter()
    info = probe_video(video, count_frames=keypoints is not None)  # pass 1 counts frames otherwise
    output_root = Path(output_root)
    check_writable(output_root)
    final = output_root / (output_name or output_folder_name(info.path))
    check_replaceable(final, overwrite)  # before any work
    sweep_stale_stages(output_root, time.time())  # killed runs' leftovers, before this run writes anything
    times = StageTimes()
    if keypoints is not None:
        tracks = keypoints(info) if callable(keypoints) else keypoints
        tracks = tracks.checked(str(info.path), (info.width, info.height)).fit_frames(info.n_frames)
        if not tracks.detected.any():
            raise PoseMambaError(f"{info.path}: nobody was found (the keypoint file has no detected person)")
        if config.people == "main" and tracks.n_people > 1:
            tracks = tracks.subset([tracks.main_index()])  # the one main-person rule of people.selection
        elif config.people == "all" and not config.keep_fragments:
            tracks = tracks.without_fragments(fragment_frames(info.fps))  # as select_tracks does for videos
    else:
        if detector is None or pose2d is None:
            raise PoseMambaError("a person detector and a 2D pose model are needed (or give --keypoints)")
        tracks, info = people_2d(info, detector, pose2d, config, progress, times)
    filled = tracks.filled()
    poses = lift_people(filled, info, lifter, config, progress, times)
    t_s = info.frame_times if info.frame_times is not None else np.arange(filled.n_frames) / info.fps
    world = motion = None
    if config.world:
        world, motion = estimate_world(info, filled, poses, t_s, config.focal_px, config.fov, config.smooth,
                                       times)  # fmt: skip
    with staged_folder(final, overwrite) as stage:
        filled.save_npz(stage / "keypoints_2d.npz", info.width, info.height, info.fps, info.frame_times)
        write_pose3d(stage, poses, filled, info.fps, info.width, info.height, info.frame_times, world, motion)
        files = ["keypoints_2d.npz", "pose3d.npz", "pose3d.json"]
        export_warnings: list[str] = []
        formats = parse_formats(config.export, "--export")
        if formats:
            from posemamba_cli.export.result import export_pose3d

            files += export_pose3d(stage, formats, lambda message: export_warnings.append(f"{final}: {message}"))
        if config.render:
            files += render_videos(info, filled, poses, stage, progress, times, config.video_preset, world,
                                   threaded=config.concurrent)  # fmt: skip
        if config.viewer or config.rerun:  # they read the files above (the pose files, overlay.mp4)
            from posemamba_cli.viewer.result import write_result_views

            files += write_result_views(stage, info.path, viewer=config.viewer, rerun=config.rerun)
        write_manifest(stage, info.path, files, filled.n_frames, filled.n_people,
                       None if world is None else world_summary(world, motion, filled.track_ids))  # fmt: skip
    warnings = [f"{info.path}: {info.decode_warning}"] if info.decode_warning else []
    if motion is not None and motion.warning(t_s):
        warnings.append(f"{info.path}: {motion.warning(t_s)}")
    measured = {} if world is None else dict(
        focal_px=world.camera.focal_px, focal_source=world.camera.focal_source,
        foot_skate_mm=[float(v) for v in world.foot_skate_mm], camera_motion=motion.verdict)  # fmt: skip
    return VideoResult(
        video=info.path, output_dir=final, n_frames=filled.n_frames, n_people=filled.n_people, fps=info.fps,
        seconds=time.perf_counter() - start, times=times, files=files, warnings=warnings + export_warnings, **measured,
    )  # fmt: skip
