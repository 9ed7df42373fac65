"""Decode frames with PyAV one at a time (memory stays at one frame whatever the length), with timestamps.

Every decoded frame is delivered exactly once, in order, upright: no frame is duplicated or dropped to
fit a rate, so row i of every output is decoded frame i. Where decoding stops early (a truncated or
damaged file) the reader says so in `warning` rather than ending silently.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from posemamba_cli.errors import PoseMambaError
from posemamba_cli.video.probe import (
    VideoInfo,
    clockwise_rotation,
    color_tags,
    open_container,
    probe_video,
    with_times,
)


def upright(image: np.ndarray, clockwise: int) -> np.ndarray:
    """Turn a decoded picture `clockwise` degrees (a multiple of 90)."""
    return np.ascontiguousarray(np.rot90(image, k=-(clockwise // 90))) if clockwise % 360 else image


class FrameReader:
    """Iterate over a video's frames as (height, width, 3) uint8 BGR arrays (or None with `images=False`).

    After (or during) iteration: `times` holds each delivered frame's timestamp in seconds from the start
    of the stream, `rotation` the clockwise turn applied, and `warning` a one-line description of where
    decoding stopped early or which frames were damaged (None when the stream decoded cleanly).
    """

    def __init__(self, video: str | Path | VideoInfo, images: bool = True, limit: int | None = None) -> None:
        self.info = video if isinstance(video, VideoInfo) else probe_video(video, count_frames=False)
        self.images, self.limit = images, limit
        self.times: list[float] = []
        self.rotation = 0
        self.color: dict[str, str] = {}
        self.warning: str | None = None

    def __iter__(self) -> Iterator[np.ndarray | None]:
        import av

        info = self.info
        self.times, self.warning = [], None
        damaged: list[int] = []
        container = open_container(info.path)
        with container:
            stream = container.streams.video[0]
            stream.thread_type = "SLICE"  # frame threads drop the frames around a damaged packet
            tb = stream.time_base
            start = float(stream.start_time * tb) if stream.start_time is not None and tb is not None else 0.0
            step = 1.0 / info.fps if info.fps > 0 else 0.0
            try:
                for packet in container.demux(stream):
                    try:
                        frames = packet.decode()
                    except av.InvalidDataError:
                        damaged.append(len(self.times))
                        continue
                    for frame in frames:
                        if len(self.times) == 0:
                            self.rotation = clockwise_rotation(float(frame.rotation or 0.0))
                            self.color = {**color_tags(stream.codec_context), **color_tags(frame)}
                        t = frame.time
                        t = (self.times[-1] + step if self.times else 0.0) if t is None else float(t) - start
                        if getattr(frame, "is_corrupt", False):
                            damaged.append(len(self.times))
                        self.times.append(t)
                        if self.images:
                            yield upright(frame.to_ndarray(format="bgr24"), self.rotation)
                        else:
                            yield None
                        if self.limit is not None and len(self.times) >= self.limit:
                            return
            except av.FFmpegError as exc:
                self.warning = f"decoding stopped after frame {len(self.times)}: {str(exc).strip() or 'FFmpeg error'}"
            end = info.duration
        if self.warning is None and self.times and end > 0 and step > 0 and self.times[-1] + 2.5 * step < end:
            self.warning = (f"decoding stopped after frame {len(self.times)} at {self.times[-1]:.2f} s, but the "
                            f"stream should last {end:.2f} s: the file is truncated or damaged")  # fmt: skip
        if damaged:
            note = f"{len(damaged)} damaged packet(s)/frame(s), first near frame {damaged[0]}"
            self.warning = f"{self.warning}; {note}" if self.warning else note


def read_frames(video: str | Path | VideoInfo) -> Iterator[np.ndarray]:
    """Yield the frames of `video` as (height, width, 3) uint8 BGR arrays, upright (rotation applied)."""
    yield from FrameReader(video)  # type: ignore[misc]


def scan_frames(info: VideoInfo, full: bool = True) -> VideoInfo:
    """`info` completed by decoding: the rotation (and size after it) from the first frame, and with `full`
    the exact frame count, every frame's timestamp and any early stop. Raises when nothing decodes."""
    reader = FrameReader(info, images=False, limit=None if full else 1)
    for _ in reader:
        pass
    if not reader.times:
        why = f" ({reader.warning})" if reader.warning else ""
        raise PoseMambaError(f"{info.path}: the video has no frames{why}")
    width, height = (info.height, info.width) if reader.rotation in (90, 270) else (info.width, info.height)
    out = VideoInfo(**{**info.__dict__, "rotation": reader.rotation, "width": width, "height": height,
                       "color": reader.color or info.color})  # fmt: skip
    return with_times(out, reader.times, reader.warning) if full else out
