"""`infer`'s render stage, written once: the overlay, 3D-view and side-by-side videos of a finished analysis.

Decoding, drawing and encoding are generators run by `stream.run_stages`, in their own threads or chained in
the caller's thread (the ffmpeg encoders run in their own processes either way).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import numpy as np
from rich.progress import Progress

from posemamba_cli.errors import PoseMambaError
from posemamba_cli.lift.track import Pose3D
from posemamba_cli.pipeline.progress import StageTimes, progress_task
from posemamba_cli.pipeline.stream import StageClock, run_stages
from posemamba_cli.pipeline.tracks2d import Tracks2D
from posemamba_cli.render import SkeletonView3D, draw_skeleton_2d, side_by_side
from posemamba_cli.render.colors import person_color
from posemamba_cli.video import VideoInfo, VideoWriter, read_frames
from posemamba_cli.world import WorldMotion

QUEUE_SIZE = 8  # frames waiting between two stages


RENDER_FILES = ["overlay.mp4", "skeleton3d.mp4", "side_by_side.mp4"]
TRAIL_S = 2.0  # seconds of path drawn behind each person in the 3D view


class FrameDrawer:
    """What the render pass draws for frame t: the 2D overlay, the 3D view and the two side by side.

    Each person keeps one colour and id label; in the 3D view the people move on the floor of the world
    frame (`world`) with a short trail of their path (without `world`: each in a fixed slot).
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
    preset: str = "superfast", world: WorldMotion | None = None, threaded: bool = True,
) -> list[str]:
    """Overlay, 3D view and side-by-side videos (RENDER_FILES) at the source timing with the source audio."""
    drawer = FrameDrawer(info, tracks, poses, world)
    advance = progress_task(progress, f"render {info.path.name}", tracks.n_frames)

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

        for n in run_stages(frames(), [("draw", draw), ("encode", encode)], QUEUE_SIZE, clock, threaded):
            advance(n)
        written = writers[0].frames_written
    check_rendered(info, written, tracks.n_frames)
    # with threads the pass takes as long as its slowest stage; report the drawing + encoding work
    times.add("render", clock.seconds.get("draw", 0.0) + clock.seconds.get("encode", 0.0), written)
    return list(RENDER_FILES)


def check_rendered(info: VideoInfo, written: int, expected: int) -> None:
    """Decoding is deterministic: a different frame count means the file changed meanwhile."""
    if written != expected:
        raise PoseMambaError(f"{info.path}: decoded {written} frames, expected {expected}")
