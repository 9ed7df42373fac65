"""The concurrent forms of `infer`'s frame passes, built on `stream.run_stages` from the same stage code.

Pass 1 decodes the video once while detection + tracking and the 2D model run in their own threads: the 2D
model is applied to the tracked people of each frame as soon as the tracker has placed them (batched over
`frames_per_batch` frames). Which people are kept is only known at the end (the main person is the one with
the largest summed box area), so 2D is computed ahead only where it cannot be wasted much: every tracked
person with `--people all`, frames with a single tracked person with `--people main`. Rows of the chosen
people that were not computed ahead are filled by a second pass of the sequential 2D stage, so the rows are
exactly those of the sequential pipeline in every case.

The render pass decodes, draws and encodes in three threads (the ffmpeg encoders run in their own processes).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from rich.progress import Progress

from posemamba_cli.errors import PoseMambaError
from posemamba_cli.lift.track import Pose3D
from posemamba_cli.people.detector import PersonDetector
from posemamba_cli.people.selection import fragment_frames, select_tracks
from posemamba_cli.people.tracker import PersonTracker, Track
from posemamba_cli.pipeline.progress import StageTimes
from posemamba_cli.pipeline.stream import StageClock, run_stages
from posemamba_cli.pipeline.tracks2d import Tracks2D
from posemamba_cli.video import FrameReader, VideoInfo, read_frames
from posemamba_cli.video.probe import with_times

if TYPE_CHECKING:
    from posemamba_cli.pipeline.run import InferConfig, PoseEstimator2D
    from posemamba_cli.world import WorldMotion

QUEUE_SIZE = 8  # frames waiting between two stages (bounded memory: a few 720p frames per queue)

Rows2D = dict[int, dict[int, tuple[np.ndarray, np.ndarray]]]  # track id -> frame -> (keypoints, scores)


def _predict_frames(pose2d: Any, frames: list[np.ndarray], boxes: list[np.ndarray]) -> list[tuple[Any, Any]]:
    if hasattr(pose2d, "predict_many"):
        return pose2d.predict_many(frames, boxes)
    return [pose2d.predict(f, b) for f, b in zip(frames, boxes)]


def people_2d_concurrent(
    info: VideoInfo, detector: PersonDetector, pose2d: PoseEstimator2D, config: InferConfig,
    progress: Progress | None, times: StageTimes, frames_per_batch: int = 8,
) -> tuple[Tracks2D, VideoInfo]:
    """Detect, track and estimate 2D in one decode; returns the 2D rows of the selected people and `info`
    completed with the decoded frame count and timestamps (as `run.detect_and_track` does)."""
    from posemamba_cli.pipeline.run import _task, estimate_2d

    tracker = PersonTracker(fps=info.fps)
    ahead_limit = None if config.people == "all" else 1  # people per frame whose 2D is computed ahead

    def detect_track(frames: Iterator[tuple[int, np.ndarray]]) -> Iterator[tuple[int, np.ndarray, list]]:
        for t, frame in frames:
            boxes, scores = detector(frame)
            found = tracker.update(np.asarray(boxes, dtype=np.float64).reshape(-1, 4), np.asarray(scores).reshape(-1))
            yield t, frame, found

    def estimate(items: Iterator[tuple[int, np.ndarray, list]]) -> Iterator[list[tuple[int, list, Any]]]:
        pending: list[tuple[int, np.ndarray, list]] = []

        def flush() -> list[tuple[int, list, Any]]:
            results = _predict_frames(pose2d, [f for _, f, _ in pending], [np.stack([b for _, b, _ in found])
                                                                           for _, _, found in pending])  # fmt: skip
            out = [(t, [tid for tid, _, _ in found], r) for (t, _, found), r in zip(pending, results)]
            pending.clear()
            return out

        for t, frame, found in items:
            if found and (ahead_limit is None or len(found) <= ahead_limit):
                pending.append((t, frame, found))
                if len(pending) >= frames_per_batch:
                    yield flush()
            else:
                yield [(t, [], None)]
        if pending:
            yield flush()

    clock = StageClock()
    rows: Rows2D = {}
    advance = _task(progress, f"detect+track+2D {info.path.name}", info.frame_total)
    n_frames = 0
    stages = [("detect+track", detect_track), ("2D", estimate)]
    reader = FrameReader(info)
    for batch in run_stages(enumerate(reader), stages, QUEUE_SIZE, clock):
        for t, ids, result in batch:
            n_frames = max(n_frames, t + 1)
            if result is not None:
                keypoints, scores = result
                for i, tid in enumerate(ids):
                    rows.setdefault(tid, {})[t] = (np.asarray(keypoints)[i, :, :2], np.asarray(scores)[i])
        advance(len(batch))
    if n_frames == 0 or not reader.times:
        raise PoseMambaError(f"{info.path}: the video has no frames")
    info = with_times(info, reader.times, reader.warning)
    times.add("decode", clock.seconds.get("decode", 0.0), n_frames)
    times.add("detect+track", clock.seconds.get("detect+track", 0.0), n_frames)
    selected = select_tracks(tracker.tracks, config.people, config.min_track_frames,
                             min_fragment_frames=None if config.keep_fragments else fragment_frames(info.fps),
                             source=str(info.path))  # fmt: skip
    tracks = _tracks_from_rows(selected, rows, n_frames)
    missing = [Track(tr.track_id, {f: b for f, b in tr.boxes.items() if f not in rows.get(tr.track_id, {})})
               for tr in selected]  # fmt: skip
    catch_up = StageTimes()
    if any(tr.boxes for tr in missing):  # people 2D was not computed for ahead: the sequential stage fills them
        extra = estimate_2d(info, missing, n_frames, pose2d, progress, catch_up, frames_per_batch)
        new = extra.detected
        tracks.keypoints[new], tracks.scores[new], tracks.detected[new] = extra.keypoints[new], extra.scores[new], True
    times.add("2D", clock.seconds.get("2D", 0.0) + catch_up.seconds.get("2D", 0.0), n_frames)
    return tracks, info


def _tracks_from_rows(selected: list[Track], rows: Rows2D, n_frames: int) -> Tracks2D:
    p = len(selected)
    kp, sc = np.zeros((p, n_frames, 17, 2)), np.zeros((p, n_frames, 17))
    detected = np.zeros((p, n_frames), bool)
    for i, track in enumerate(selected):
        for t, (k, s) in rows.get(track.track_id, {}).items():
            if t in track.boxes:
                kp[i, t], sc[i, t], detected[i, t] = k, s, True
    return Tracks2D(kp, sc, detected, np.array([tr.track_id for tr in selected]))


def render_concurrent(
    info: VideoInfo, tracks: Tracks2D, poses: list[Pose3D], folder: Path, progress: Progress | None,
    times: StageTimes, preset: str = "superfast", world: WorldMotion | None = None,
) -> list[str]:
    """The render pass of `run.render_videos` with decoding, drawing and encoding in their own threads."""
    from posemamba_cli.pipeline.run import RENDER_FILES, FrameDrawer, _task, check_rendered

    drawer = FrameDrawer(info, tracks, poses, world)
    advance = _task(progress, f"render {info.path.name}", tracks.n_frames)

    def frames() -> Iterator[tuple[int, np.ndarray]]:
        for t, frame in enumerate(read_frames(info)):
            if t >= tracks.n_frames:
                return
            yield t, frame

    def draw(items: Iterator[tuple[int, np.ndarray]]) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        for t, frame in items:
            yield drawer(t, frame)

    clock = StageClock()
    with ExitStack() as stack:
        writers = [stack.enter_context(w) for w in drawer.writers(folder, preset)]

        def encode(items: Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> Iterator[int]:
            for images in items:
                for writer, image in zip(writers, images):
                    writer.write(image)
                yield 1

        for n in run_stages(frames(), [("draw", draw), ("encode", encode)], QUEUE_SIZE, clock):
            advance(n)
        written = writers[0].frames_written
    check_rendered(info, written, tracks.n_frames)
    # wall-clock of the pass is bounded by its slowest thread; report the drawing + encoding work
    times.add("render", clock.seconds.get("draw", 0.0) + clock.seconds.get("encode", 0.0), written)
    return list(RENDER_FILES)
