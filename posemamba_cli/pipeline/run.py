"""`infer`: video -> people -> 2D -> 3D -> files and videos. Every stage can be injected (tests, other models)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from rich.progress import Progress

from posemamba_cli.errors import PoseMambaError
from posemamba_cli.lift.track import Pose3D, lift_track
from posemamba_cli.people.detector import PersonDetector
from posemamba_cli.people.selection import boxes_by_frame, fragment_frames, select_tracks
from posemamba_cli.people.tracker import PersonTracker
from posemamba_cli.pipeline.outputs import (
    check_replaceable,
    check_writable,
    staged_folder,
    world_summary,
    write_manifest,
    write_pose3d,
)
from posemamba_cli.pipeline.progress import StageTimes
from posemamba_cli.pipeline.staging import sweep_stale_stages
from posemamba_cli.pipeline.tracks2d import Tracks2D
from posemamba_cli.pipeline.warning_lines import reports_warnings
from posemamba_cli.render import SkeletonView3D, draw_skeleton_2d, side_by_side
from posemamba_cli.render.colors import person_color
from posemamba_cli.video import FrameReader, VideoInfo, VideoWriter, probe_video, read_frames
from posemamba_cli.video.probe import with_times
from posemamba_cli.world import WorldMotion
from posemamba_cli.world.trajectory import DEFAULT_SMOOTH_S

VIDEO_SUFFIXES = {".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".ts",
                  ".h264", ".264", ".h265", ".hevc",  # raw streams
                  ".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".gif"}  # images: one-frame videos


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
    keep_fragments: bool = False  # people="all": keep tracks shorter than people.selection.MIN_FRAGMENT_SECONDS
    video_preset: str = "superfast"  # x264 preset of the written videos (encoding dominates rendering)
    concurrent: bool = True  # stages in their own threads (pipeline/concurrent.py); False: one after another
    export: tuple[str, ...] = ()  # motion files per person beside pose3d.npz (posemamba_cli.export.FORMATS)
    focal_px: float | None = None  # camera focal length (pixels); None: from fov_deg, else the image diagonal
    fov_deg: float | None = None  # horizontal field of view (degrees)
    height_m: float | None = None  # every person's standing height (metres); None: typical H36M bone lengths
    smooth_s: float = DEFAULT_SMOOTH_S  # sigma (seconds) of the root path's temporal filter; 0: none
    world: bool = True  # the world step (root paths, floor, contacts); False: root-relative outputs only
    viewer: bool = True  # viewer.html in the result folder
    rerun: bool = False  # recording.rrd (the optional extra `rerun`)


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


def lifter_num_frame(lifter: Any) -> int:
    """The window length of a lifter: its `num_frame` (PoseMamba: `config.num_frame`), else 243."""
    return int(getattr(lifter, "num_frame", getattr(getattr(lifter, "config", None), "num_frame", 243)))


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
) -> tuple[list, VideoInfo]:
    """Pass 1: detect people in every decoded frame and track them.

    Returns the selected tracks and `info` completed with the decoded frame count and timestamps.
    """
    tracker = PersonTracker(fps=info.fps)
    advance = _task(progress, f"detect+track {info.path.name}", info.frame_total)
    start = time.perf_counter()
    reader = FrameReader(info)
    for frame in reader:
        boxes, scores = detector(frame)
        tracker.update(np.asarray(boxes, dtype=np.float64).reshape(-1, 4), np.asarray(scores).reshape(-1))
        advance(1)
    if not reader.times:
        raise PoseMambaError(f"{info.path}: the video has no frames")
    info = with_times(info, reader.times, reader.warning)
    times.add("detect+track", time.perf_counter() - start, info.n_frames)
    selected = select_tracks(tracker.tracks, config.people, config.min_track_frames,
                             min_fragment_frames=None if config.keep_fragments else fragment_frames(info.fps),
                             source=str(info.path))  # fmt: skip
    return selected, info


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

    delivered = 0
    for t, frame in enumerate(read_frames(info)):
        delivered = t + 1
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
    if delivered != n_frames:  # decoding is deterministic; a difference means the file changed meanwhile
        raise PoseMambaError(f"{info.path}: the second decoding pass gave {delivered} frames, the first {n_frames}")
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
            height_mm=None if config.height_m is None else 1000.0 * config.height_m,
        )  # fmt: skip
        for p in range(tracks.n_people)
    ]
    times.add("lift", time.perf_counter() - start, tracks.n_frames)
    return poses


RENDER_FILES = ["overlay.mp4", "skeleton3d.mp4", "side_by_side.mp4"]
TRAIL_S = 2.0  # seconds of path drawn behind each person in the 3D view


class FrameDrawer:
    """What the render pass draws for frame t: the 2D overlay, the 3D view and the two side by side.

    Each person keeps one colour and id label; in the 3D view the people move on the floor of the world
    frame (`world`) with a short trail of their path (without `world`: each in a fixed slot, as before). The
    sequential and the concurrent render passes both draw through this, so their videos are the same.
    """

    def __init__(self, info: VideoInfo, tracks: Tracks2D, poses: list[Pose3D],
                 world: WorldMotion | None = None) -> None:  # fmt: skip
        self.info, self.tracks, self.poses, self.world = info, tracks, poses, world
        self.size = info.height + (info.height % 2)  # the square 3D view (even for the encoder)
        self.in_life = tracks.within_lifespan()
        self.times = info.frame_times if info.frame_times is not None else np.arange(tracks.n_frames) / info.fps
        if world is None:
            self.view = SkeletonView3D.fitted(self.size, [pose.world_mm for pose in poses])
        else:
            self.view = SkeletonView3D.fitted_world(self.size, list(world.joints_world_mm))

    def __call__(self, t: int, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        overlay = frame.copy()
        shown, flags, slots, labels = [], [], [], []
        for p, pose in enumerate(self.poses):
            if self.in_life[p, t]:
                interp = not self.tracks.detected[p, t]
                label = f"id {int(self.tracks.track_ids[p])}"
                draw_skeleton_2d(overlay, pose.keypoints_2d_h36m[t], interpolated=interp, color=person_color(p),
                                 label=label)  # fmt: skip
                shown.append(pose.world_mm[t] if self.world is None else self.world.joints_world_mm[p, t])
                flags.append(interp)
                slots.append(p)
                labels.append(label)
        if self.world is None:
            view3d = self.view.render(shown, flags, slots, labels)
        else:
            view3d = self.view.render_world(shown, flags, slots, labels, self._trails(t, slots))
        return overlay, view3d, side_by_side(overlay, view3d[: self.info.height])

    def _trails(self, t: int, people: list[int]) -> list[np.ndarray]:
        """Each shown person's pelvis path over the last TRAIL_S seconds, (n, 3) world mm."""
        recent = (self.times > self.times[t] - TRAIL_S) & (np.arange(len(self.times)) <= t)
        return [self.world.joints_world_mm[p, recent, 0] for p in people]

    def writers(self, folder: Path, preset: str) -> list[VideoWriter]:
        """The three video writers (RENDER_FILES) at the source timing, colour tags and audio."""
        info, size = self.info, self.size
        audio = dict(audio_from=info.path, audio_codec=info.audio_codec, preset=preset, color=info.color,
                     times=info.frame_times)  # fmt: skip
        sizes = [(info.width, info.height), (size, size), (info.width + size, info.height)]
        return [VideoWriter(folder / name, w, h, info.fps, **audio) for name, (w, h) in zip(RENDER_FILES, sizes)]


def render_videos(
    info: VideoInfo, tracks: Tracks2D, poses: list[Pose3D], folder: Path, progress: Progress | None, times: StageTimes,
    preset: str = "superfast", world: WorldMotion | None = None,
) -> list[str]:
    """Pass 3: overlay, 3D view and side-by-side videos at the source rate with the source audio."""
    drawer = FrameDrawer(info, tracks, poses, world)
    advance = _task(progress, f"render {info.path.name}", tracks.n_frames)
    start = time.perf_counter()
    with ExitStack() as stack:
        writers = [stack.enter_context(w) for w in drawer.writers(folder, preset)]
        for t, frame in enumerate(read_frames(info)):
            if t >= tracks.n_frames:
                break
            for writer, image in zip(writers, drawer(t, frame)):
                writer.write(image)
            advance(1)
        written = writers[0].frames_written
    check_rendered(info, written, tracks.n_frames)
    times.add("render", time.perf_counter() - start, written)
    return list(RENDER_FILES)


def check_rendered(info: VideoInfo, written: int, expected: int) -> None:
    """Decoding is deterministic: a different frame count means the file changed meanwhile."""
    if written != expected:
        raise PoseMambaError(f"{info.path}: decoded {written} frames, expected {expected}")


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
        if config.concurrent:
            from posemamba_cli.pipeline.concurrent import people_2d_concurrent

            tracks, info = people_2d_concurrent(info, detector, pose2d, config, progress, times)
        else:
            selected, info = detect_and_track(info, detector, config, progress, times)
            tracks = estimate_2d(info, selected, info.n_frames, pose2d, progress, times)
    filled = tracks.filled()
    poses = lift_people(filled, info, lifter, config, progress, times)
    from posemamba_cli.pipeline.world_step import estimate_world

    t_s = info.frame_times if info.frame_times is not None else np.arange(filled.n_frames) / info.fps
    world = motion = None
    if config.world:
        world, motion = estimate_world(info, filled, poses, t_s, config.focal_px, config.fov_deg, config.smooth_s,
                                       times)  # fmt: skip
    with staged_folder(final, overwrite) as stage:
        filled.save_npz(stage / "keypoints_2d.npz", info.width, info.height, info.fps, info.frame_times)
        write_pose3d(stage, poses, filled, info.fps, info.width, info.height, info.frame_times, world, motion)
        files = ["keypoints_2d.npz", "pose3d.npz", "pose3d.json"]
        export_warnings: list[str] = []
        if config.export:
            from posemamba_cli.export.result import export_pose3d

            files += export_pose3d(stage, config.export, lambda message: export_warnings.append(f"{final}: {message}"))
        if config.render:
            from posemamba_cli.pipeline.concurrent import render_concurrent

            render = render_concurrent if config.concurrent else render_videos
            files += render(info, filled, poses, stage, progress, times, config.video_preset, world)
        if config.viewer or config.rerun:  # they read the files above (the pose files, overlay.mp4)
            from posemamba_cli.viewer.result import write_result_views

            files += write_result_views(stage, info.path, viewer=config.viewer, rerun=config.rerun)
        write_manifest(stage, info.path, files, filled.n_frames, filled.n_people,
                       None if world is None else world_summary(world, motion, filled.track_ids))  # fmt: skip
    warnings = [f"{info.path}: {info.decode_warning}"] if info.decode_warning else []
    if motion is not None and motion.warning(t_s):
        warnings.append(f"{info.path}: {motion.warning(t_s)}")
    result = VideoResult(
        video=info.path, output_dir=final, n_frames=filled.n_frames, n_people=filled.n_people, fps=info.fps,
        seconds=time.perf_counter() - start, times=times, files=files, warnings=warnings + export_warnings,
    )  # fmt: skip
    if world is not None:
        result.focal_px, result.focal_source = world.camera.focal_px, world.camera.focal_source
        result.foot_skate_mm, result.camera_motion = [float(v) for v in world.foot_skate_mm], motion.verdict
    return result
