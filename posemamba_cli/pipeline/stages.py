"""`infer`'s analysis stages, each written once: detect + track + 2D over the decoded frames, then lifting.

The frame stages are generators run by `stream.run_stages`, in their own threads or chained in the caller's
thread (`InferConfig.concurrent`): the same code either way, so the outputs are equal by construction.

Detect + track + 2D decodes the video once. The 2D model is applied to the tracked people of each frame as
soon as the tracker has placed them (batched over `frames_per_batch` frames). Which people are kept is only
known at the end (the main person is the one with the largest summed box area), so 2D is computed ahead only
where it cannot be wasted much: every tracked person with `--people all`, frames with a single tracked person
with `--people main`. The chosen people's rows that were not computed ahead are filled by a second decoding
pass through the same 2D stage.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
from rich.progress import Progress

from posemamba_cli.errors import PoseMambaError
from posemamba_cli.lift.track import Pose3D, lift_track
from posemamba_cli.people.detector import PersonDetector
from posemamba_cli.people.selection import fragment_frames, select_tracks
from posemamba_cli.people.tracker import PersonTracker, Track
from posemamba_cli.pipeline.config import InferConfig, PoseEstimator2D
from posemamba_cli.pipeline.progress import StageTimes, progress_task
from posemamba_cli.pipeline.stream import Stage, StageClock, run_stages
from posemamba_cli.pipeline.tracks2d import Tracks2D
from posemamba_cli.video import FrameReader, VideoInfo, read_frames
from posemamba_cli.video.container import with_times

QUEUE_SIZE = 8  # frames waiting between two stages (bounded memory: a few 720p frames per queue)

Found = list[tuple[int, np.ndarray, Any]]  # (track id, box xyxy, score) of the people placed in one frame
Rows2D = dict[int, dict[int, tuple[np.ndarray, np.ndarray]]]  # track id -> frame -> (keypoints, scores)


def lifter_num_frame(lifter: Any) -> int:
    """The window length of a lifter: its `num_frame` (PoseMamba: `config.num_frame`), else 243."""
    return int(getattr(lifter, "num_frame", getattr(getattr(lifter, "config", None), "num_frame", 243)))


def _detect_track(detector: PersonDetector, tracker: PersonTracker) -> Stage:
    """(t, frame) -> (t, frame, people the tracker placed in it)."""

    def stage(frames: Iterator[tuple[int, np.ndarray]]) -> Iterator[tuple[int, np.ndarray, Found]]:
        for t, frame in frames:
            boxes, scores = detector(frame)
            yield t, frame, tracker.update(np.asarray(boxes, np.float64).reshape(-1, 4), np.asarray(scores).reshape(-1))

    return stage


def _estimate_2d(pose2d: PoseEstimator2D, frames_per_batch: int, ahead_limit: int | None) -> Stage:
    """(t, frame, found) -> batches of (t, track ids, (keypoints, scores) or None): 2D for the frames with
    1..`ahead_limit` people (any number with None), `frames_per_batch` frames per call of the 2D model."""
    batched = hasattr(pose2d, "predict_many")

    def stage(items: Iterator[tuple[int, np.ndarray, Found]]) -> Iterator[list[tuple[int, list[int], Any]]]:
        pending: list[tuple[int, np.ndarray, Found]] = []

        def flush() -> list[tuple[int, list[int], Any]]:
            frames, boxes = [f for _, f, _ in pending], [np.stack([b for _, b, _ in found]) for _, _, found in pending]
            results = pose2d.predict_many(frames, boxes) if batched else [
                pose2d.predict(f, b) for f, b in zip(frames, boxes)]  # fmt: skip
            out = [(t, [tid for tid, _, _ in found], r) for (t, _, found), r in zip(pending, results)]
            pending.clear()
            return out

        for t, frame, found in items:
            if found and (ahead_limit is None or len(found) <= ahead_limit):
                pending.append((t, frame, found))
                if len(pending) >= (frames_per_batch if batched else 1):
                    yield flush()
            else:
                yield [(t, [], None)]
        if pending:
            yield flush()

    return stage


def _keep_rows(batches: Iterable[list[tuple[int, list[int], Any]]], rows: Rows2D, advance) -> int:
    """Store each batch's 2D rows by track id and frame; returns the number of frames seen."""
    n_frames = 0
    for batch in batches:
        for t, ids, result in batch:
            n_frames = max(n_frames, t + 1)
            if result is not None:
                keypoints, scores = result
                for i, tid in enumerate(ids):
                    rows.setdefault(tid, {})[t] = (np.asarray(keypoints)[i, :, :2], np.asarray(scores)[i])
        advance(len(batch))
    return n_frames


def people_2d(
    info: VideoInfo, detector: PersonDetector, pose2d: PoseEstimator2D, config: InferConfig,
    progress: Progress | None, times: StageTimes, frames_per_batch: int = 8,
) -> tuple[Tracks2D, VideoInfo]:
    """Detect, track and estimate 2D over the decoded frames: the selected people's 2D rows, and `info`
    completed with the decoded frame count and timestamps."""
    tracker = PersonTracker(fps=info.fps)
    clock = StageClock()
    rows: Rows2D = {}
    reader = FrameReader(info)
    stages = [("detect+track", _detect_track(detector, tracker)),
              ("2D", _estimate_2d(pose2d, frames_per_batch, None if config.people == "all" else 1))]  # fmt: skip
    advance = progress_task(progress, f"detect+track+2D {info.path.name}", info.frame_total)
    n_frames = _keep_rows(run_stages(enumerate(reader), stages, QUEUE_SIZE, clock, config.concurrent), rows, advance)
    if n_frames == 0 or not reader.times:
        raise PoseMambaError(f"{info.path}: the video has no frames")
    info = with_times(info, reader.times, reader.warning)
    selected = select_tracks(tracker.tracks, config.people, config.min_track_frames,
                             min_fragment_frames=None if config.keep_fragments else fragment_frames(info.fps),
                             source=str(info.path))  # fmt: skip
    missing: list[Found] = [[] for _ in range(n_frames)]  # per frame: the chosen people without a 2D row
    for track in selected:
        for t, box in track.boxes.items():
            if t < n_frames and t not in rows.get(track.track_id, {}):
                missing[t].append((track.track_id, box, None))
    if any(missing):  # rows not computed ahead: a second pass through the same 2D stage
        advance = progress_task(progress, f"2D pose {info.path.name}", n_frames)
        frames = ((t, f, missing[t]) for t, f in enumerate(read_frames(info)) if t < n_frames)
        seen = _keep_rows(run_stages(frames, stages[1:], QUEUE_SIZE, clock, config.concurrent), rows, advance)
        if seen != n_frames:  # decoding is deterministic; a difference means the file changed meanwhile
            raise PoseMambaError(f"{info.path}: the second decoding pass gave {seen} frames, the first {n_frames}")
    for name in ("decode", "detect+track", "2D"):
        times.add(name, clock.seconds.get(name, 0.0), n_frames)
    return _tracks_from_rows(selected, rows, n_frames), info


def _tracks_from_rows(selected: list[Track], rows: Rows2D, n_frames: int) -> Tracks2D:
    p = len(selected)
    kp, sc = np.zeros((p, n_frames, 17, 2)), np.zeros((p, n_frames, 17))
    detected = np.zeros((p, n_frames), bool)
    for i, track in enumerate(selected):
        for t, (k, s) in rows.get(track.track_id, {}).items():
            if t in track.boxes:
                kp[i, t], sc[i, t], detected[i, t] = k, s, True
    return Tracks2D(kp, sc, detected, np.array([tr.track_id for tr in selected]))


def lift_people(
    tracks: Tracks2D, info: VideoInfo, lifter: Any, config: InferConfig, progress: Progress | None, times: StageTimes
) -> list[Pose3D]:
    """Lift every person's filled 2D track to 3D."""
    from posemamba_cli.lift.windows import window_starts

    num_frame = lifter_num_frame(lifter)
    n_windows = len(window_starts(tracks.n_frames, num_frame, num_frame // 3)) * tracks.n_people
    advance = progress_task(progress, f"lift 3D {info.path.name}", n_windows)
    start = time.perf_counter()
    poses = [
        lift_track(
            lifter, tracks.keypoints[p], tracks.scores[p], info.width, info.height, num_frame,
            flip=config.flip, batch_size=config.batch_size, device=config.device, progress=advance,
            height_mm=None if config.height is None else 1000.0 * config.height,
        )  # fmt: skip
        for p in range(tracks.n_people)
    ]
    times.add("lift", time.perf_counter() - start, tracks.n_frames)
    return poses
