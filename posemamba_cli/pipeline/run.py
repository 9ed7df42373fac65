"""`infer`: video -> people -> 2D -> 3D -> files and videos. Every stage can be injected (tests, other models)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from rich.progress import Progress

from posemamba_cli.errors import PoseMambaError
from posemamba_cli.lift.track import Pose3D, lift_track
from posemamba_cli.people.detector import PersonDetector
from posemamba_cli.people.selection import boxes_by_frame, select_tracks
from posemamba_cli.people.tracker import PersonTracker
from posemamba_cli.pipeline.outputs import check_writable, staged_folder, write_pose3d
from posemamba_cli.pipeline.progress import StageTimes
from posemamba_cli.pipeline.tracks2d import Tracks2D
from posemamba_cli.render import SkeletonView3D, draw_skeleton_2d, side_by_side
from posemamba_cli.video import VideoInfo, VideoWriter, probe_video, read_frames

VIDEO_SUFFIXES = {".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".ts"}


class PoseEstimator2D(Protocol):
    """Top-down 2D keypoints: `predict(image_bgr, bboxes_xyxy) -> ((n, 17, 2) pixels, (n, 17) scores)`."""

    def predict(self, image_bgr: np.ndarray, bboxes_xyxy: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


@dataclass
class InferConfig:
    """Options of one `infer` run."""

    people: str = "main"  # "main" or "all"
    flip: bool = True
    batch_size: int = 8  # lifter windows per forward pass
    device: str = "cpu"
    render: bool = True
    min_track_frames: int = 3  # shorter tracks are ignored (detector flicker) unless nothing else exists
    video_preset: str = "superfast"  # x264 preset of the written videos (encoding dominates rendering)
    concurrent: bool = True  # stages in their own threads (pipeline/concurrent.py); False: one after another


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


def lifter_num_frame(lifter: Any) -> int:
    """The window length of a lifter: `config['num_frame']` (PoseMamba), `num_frame`, else 243."""
    config = getattr(lifter, "config", None)
    if isinstance(config, dict) and "num_frame" in config:
        return int(config["num_frame"])
    return int(getattr(lifter, "num_frame", 243))


def collect_videos(inputs: Iterable[str | Path]) -> list[Path]:
    """Expand folders into their video files (sorted); files are kept as given, missing ones are errors."""
    out: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
            if not found:
                raise PoseMambaError(f"{path}: no video files in this folder")
            out.extend(found)
        elif not path.exists():
            raise PoseMambaError(f"{path}: no such file")
        else:
            out.append(path)
    if not out:
        raise PoseMambaError("no input video given")
    return out


def _task(progress: Progress | None, description: str, total: int | None) -> Callable[[int], None]:
    if progress is None:
        return lambda n: None
    task = progress.add_task(description, total=total, rate="")
    start = time.perf_counter()
    done = [0]

    def advance(n: int) -> None:
        done[0] += n
        elapsed = time.perf_counter() - start
        progress.update(task, advance=n, rate=f"{done[0] / elapsed:.1f}/s" if elapsed > 0 else "")

    return advance


def detect_and_track(
    info: VideoInfo, detector: PersonDetector, config: InferConfig, progress: Progress | None, times: StageTimes
) -> tuple[list, int]:
    """Pass 1: detect people in every frame and track them; returns (selected tracks, frame count)."""
    tracker = PersonTracker(fps=info.fps)
    advance = _task(progress, f"detect+track {info.path.name}", info.n_frames)
    start, n = time.perf_counter(), 0
    for frame in read_frames(info):
        boxes, scores = detector(frame)
        tracker.update(np.asarray(boxes, dtype=np.float64).reshape(-1, 4), np.asarray(scores).reshape(-1))
        n += 1
        advance(1)
    if n == 0:
        raise PoseMambaError(f"{info.path}: the video has no frames")
    times.add("detect+track", time.perf_counter() - start, n)
    return select_tracks(tracker.tracks, config.people, config.min_track_frames), n


def estimate_2d(
    info: VideoInfo, tracks: list, n_frames: int, pose2d: PoseEstimator2D, progress: Progress | None, times: StageTimes,
    frames_per_batch: int = 8,
) -> Tracks2D:
    """Pass 2: top-down 2D keypoints for the selected tracks, one row per frame.

    Estimators with `predict_many(images, boxes)` get the crops of up to `frames_per_batch` frames at once
    (a few frames held in memory); others are called frame by frame with `predict(image, boxes)`.
    """
    p = len(tracks)
    kp, sc = np.zeros((p, n_frames, 17, 2)), np.zeros((p, n_frames, 17))
    detected = np.zeros((p, n_frames), bool)
    per_frame = boxes_by_frame(tracks, n_frames)
    advance = _task(progress, f"2D pose {info.path.name}", n_frames)
    start = time.perf_counter()
    batched = hasattr(pose2d, "predict_many")
    pending: list[tuple[int, np.ndarray, list[int], np.ndarray]] = []

    def flush() -> None:
        if not pending:
            return
        if batched:
            results = pose2d.predict_many([f for _, f, _, _ in pending], [b for _, _, _, b in pending])
        else:
            results = [pose2d.predict(f, b) for _, f, _, b in pending]
        for (t, _, idx, _), (k, s) in zip(pending, results):
            kp[idx, t], sc[idx, t], detected[idx, t] = np.asarray(k)[:, :, :2], np.asarray(s), True
        advance(len(pending))
        pending.clear()

    for t, frame in enumerate(read_frames(info)):
        if t >= n_frames:
            break
        if per_frame[t]:
            idx = [i for i, _ in per_frame[t]]
            pending.append((t, frame, idx, np.stack([b for _, b in per_frame[t]])))
            if len(pending) >= (frames_per_batch if batched else 1):
                flush()
        else:
            advance(1)
    flush()
    times.add("2D", time.perf_counter() - start, n_frames)
    return Tracks2D(kp, sc, detected, np.array([tr.track_id for tr in tracks]))


def lift_people(
    tracks: Tracks2D, info: VideoInfo, lifter: Any, config: InferConfig, progress: Progress | None, times: StageTimes
) -> list[Pose3D]:
    """Lift every person's filled 2D track to 3D."""
    num_frame = lifter_num_frame(lifter)
    from posemamba_cli.lift.windows import window_starts

    n_windows = len(window_starts(tracks.n_frames, num_frame, num_frame // 3)) * tracks.n_people
    advance = _task(progress, f"lift 3D {info.path.name}", n_windows)
    start = time.perf_counter()
    poses = [
        lift_track(
            lifter, tracks.keypoints[p], tracks.scores[p], info.width, info.height, num_frame,
            flip=config.flip, batch_size=config.batch_size, device=config.device, progress=advance,
        )  # fmt: skip
        for p in range(tracks.n_people)
    ]
    times.add("lift", time.perf_counter() - start, tracks.n_frames)
    return poses


def render_videos(
    info: VideoInfo, tracks: Tracks2D, poses: list[Pose3D], folder: Path, progress: Progress | None, times: StageTimes,
    preset: str = "superfast",
) -> list[str]:
    """Pass 3: overlay, 3D view and side-by-side videos at the source rate with the source audio."""
    size = info.height + (info.height % 2)
    view = SkeletonView3D(size)
    in_life = tracks.within_lifespan()
    audio = dict(audio_from=info.path, audio_codec=info.audio_codec, preset=preset)
    names = ["overlay.mp4", "skeleton3d.mp4", "side_by_side.mp4"]
    advance = _task(progress, f"render {info.path.name}", tracks.n_frames)
    start = time.perf_counter()
    with (
        VideoWriter(folder / names[0], info.width, info.height, info.fps, **audio) as w_overlay,
        VideoWriter(folder / names[1], size, size, info.fps, **audio) as w_3d,
        VideoWriter(folder / names[2], info.width + size, info.height, info.fps, **audio) as w_side,
    ):
        for t, frame in enumerate(read_frames(info)):
            if t >= tracks.n_frames:
                break
            overlay = frame.copy()
            shown, flags = [], []
            for p, pose in enumerate(poses):
                if in_life[p, t]:
                    interp = not tracks.detected[p, t]
                    draw_skeleton_2d(overlay, pose.keypoints_2d_h36m[t], interpolated=interp)
                    shown.append(pose.world_mm[t])
                    flags.append(interp)
            view3d = view.render(shown, flags)
            w_overlay.write(overlay)
            w_3d.write(view3d)
            w_side.write(side_by_side(overlay, view3d[: info.height]))
            advance(1)
        written = w_overlay.frames_written
    if written < tracks.n_frames:  # a variable-rate estimate one frame long: keep the files consistent
        raise PoseMambaError(f"{info.path}: decoded {written} frames, expected {tracks.n_frames}")
    times.add("render", time.perf_counter() - start, written)
    return names


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
) -> VideoResult:
    """Run the whole chain on one video and write `output_root/<video stem>/` atomically.

    `keypoints` (2D tracks, or a function of the probed `VideoInfo` returning them) skips detection and 2D.
    Otherwise `detector` (frame -> boxes, scores) and `pose2d` (`.predict(image, boxes)`) are required.
    """
    config = config or InferConfig()
    start = time.perf_counter()
    info = probe_video(video)
    output_root = Path(output_root)
    check_writable(output_root)
    times = StageTimes()
    if keypoints is not None:
        tracks = keypoints(info) if callable(keypoints) else keypoints.fit_frames(info.n_frames)
        if not tracks.detected.any():
            raise PoseMambaError(f"{info.path}: nobody was found (the keypoint file has no detected person)")
        if config.people == "main" and tracks.n_people > 1:
            # largest and longest: keypoint-extent areas summed over the frames where each person is seen
            area = [np.ptp(k[d], axis=1).prod(-1).sum() for k, d in zip(tracks.keypoints, tracks.detected)]
            keep = int(np.argmax(area))
            tracks = Tracks2D(tracks.keypoints[keep : keep + 1], tracks.scores[keep : keep + 1],
                              tracks.detected[keep : keep + 1], tracks.track_ids[keep : keep + 1])  # fmt: skip
    else:
        if detector is None or pose2d is None:
            raise PoseMambaError("a person detector and a 2D pose model are needed (or give --keypoints)")
        if config.concurrent:
            from posemamba_cli.pipeline.concurrent import people_2d_concurrent

            tracks, n_frames = people_2d_concurrent(info, detector, pose2d, config, progress, times)
        else:
            selected, n_frames = detect_and_track(info, detector, config, progress, times)
            tracks = estimate_2d(info, selected, n_frames, pose2d, progress, times)
        info = VideoInfo(**{**info.__dict__, "n_frames": n_frames})
    filled = tracks.filled()
    poses = lift_people(filled, info, lifter, config, progress, times)
    final = output_root / (output_name or info.path.stem)
    with staged_folder(final) as stage:
        filled.save_npz(stage / "keypoints_2d.npz", info.width, info.height, info.fps)
        write_pose3d(stage, poses, filled, info.fps, info.width, info.height)
        files = ["keypoints_2d.npz", "pose3d.npz", "pose3d.json"]
        if config.render:
            from posemamba_cli.pipeline.concurrent import render_concurrent

            render = render_concurrent if config.concurrent else render_videos
            files += render(info, filled, poses, stage, progress, times, config.video_preset)
    return VideoResult(
        video=info.path, output_dir=final, n_frames=filled.n_frames, n_people=filled.n_people, fps=info.fps,
        seconds=time.perf_counter() - start, times=times, files=files,
    )  # fmt: skip
