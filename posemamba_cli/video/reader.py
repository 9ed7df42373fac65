"""Decode frames with PyAV one at a time (memory stays at one frame whatever the length), with timestamps.

Every decoded frame is delivered exactly once, in order, upright and at the first frame's size: no frame
is duplicated or dropped to fit a rate, so row i of every output is decoded frame i. Timestamps strictly
increase. Whatever the reader had to repair (a size change mid-stream, timestamps going back, decoding
stopping early, damaged frames, frames the header announces that never decode) it says in `warning`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from posemamba_cli.video.container import VideoInfo, clockwise_rotation, color_tags, open_container, read_header

DEFAULT_FPS = 25.0  # FFmpeg's frame rate for streams that state none; spaces frames without timestamps


def upright(image: np.ndarray, clockwise: int) -> np.ndarray:
    """Turn a decoded picture `clockwise` degrees (a multiple of 90)."""
    return np.ascontiguousarray(np.rot90(image, k=-(clockwise // 90))) if clockwise % 360 else image


class FrameReader:
    """Iterate over a video's frames as (height, width, 3) uint8 BGR arrays (or None with `images=False`).

    After (or during) iteration: `times` holds each delivered frame's timestamp in seconds from the start
    of the stream, `rotation` the clockwise turn applied, `size` the (width, height) of the delivered
    (upright) frames, and `warning` one line saying what was repaired or lost (None for a clean stream).
    """

    def __init__(self, video: str | Path | VideoInfo, images: bool = True, limit: int | None = None) -> None:
        self.info = video if isinstance(video, VideoInfo) else read_header(video)
        self.images, self.limit = images, limit
        self.times: list[float] = []
        self.rotation = 0
        self.size: tuple[int, int] | None = None
        self.color: dict[str, str] = {}
        self.warning: str | None = None

    def __iter__(self) -> Iterator[np.ndarray | None]:
        import av

        info = self.info
        self.times, self.warning, self.size = [], None, None
        damaged: list[int] = []
        resized: list[tuple[int, tuple[int, int]]] = []  # (frame, its size) scaled to the first's size
        retimed: list[int] = []  # frames whose timestamp did not come after the previous one's
        leading_discards, kept = 0, False  # packets an edit list hides before the first shown frame
        stopped = None
        coded: tuple[int, int] | None = None  # the first frame's size as decoded (before rotation)
        container = open_container(info.path)
        with container:
            stream = container.streams.video[0]
            stream.thread_type = "SLICE"  # frame threads drop the frames around a damaged packet
            tb = stream.time_base
            start = float(stream.start_time * tb) if stream.start_time is not None and tb is not None else 0.0
            step = 1.0 / (info.fps if info.fps > 0 else DEFAULT_FPS)
            try:
                for packet in container.demux(stream):
                    if packet.size and not kept:
                        leading_discards += packet.is_discard
                        kept = not packet.is_discard
                    try:
                        frames = packet.decode()
                    except av.InvalidDataError:
                        damaged.append(len(self.times))
                        continue
                    for frame in frames:
                        n = len(self.times)
                        if coded is None:
                            coded = (frame.width, frame.height)
                            self.rotation = clockwise_rotation(float(frame.rotation or 0.0))
                            self.size = coded[::-1] if self.rotation in (90, 270) else coded
                            self.color = {**color_tags(stream.codec_context), **color_tags(frame)}
                        scale = {}
                        if (frame.width, frame.height) != coded:
                            resized.append((n, (frame.width, frame.height)))
                            scale = {"width": coded[0], "height": coded[1]}
                        t = None if frame.time is None else float(frame.time) - start
                        if n and (t is None or t <= self.times[-1]):
                            if t is not None:
                                retimed.append(n)
                            t = self.times[-1] + step
                        if getattr(frame, "is_corrupt", False):
                            damaged.append(n)
                        self.times.append(0.0 if t is None else t)
                        if self.images:
                            yield upright(frame.to_ndarray(format="bgr24", **scale), self.rotation)
                        else:
                            yield None
                        if self.limit is not None and len(self.times) >= self.limit:
                            return
            except av.FFmpegError as exc:
                stopped = f"decoding stopped after frame {len(self.times)}: {str(exc).strip() or 'FFmpeg error'}"
        self.warning = "; ".join(filter(None, [
            stopped or self._short(info, step, leading_discards), _resized(resized, coded),
            _retimed(retimed), _damaged(damaged)])) or None  # fmt: skip

    def _short(self, info: VideoInfo, step: float, leading_discards: int) -> str | None:
        """Why fewer frames came than the stream's duration or the header's frame count promise, if so."""
        n, end = len(self.times), info.duration
        if n and end > 0 and info.fps > 0 and self.times[-1] + 2.5 * step < end:
            return (f"decoding stopped after frame {n} at {self.times[-1]:.2f} s, but the stream should last "
                    f"{end:.2f} s: the file is truncated or damaged")  # fmt: skip
        announced = info.header_frames - leading_discards
        if n < announced - max(3, announced // 10):  # a few frames of slack: B-frames around an edit list
            return (f"only {n} of the {announced} frames the file's header announces could be decoded: "
                    f"the file is damaged")  # fmt: skip
        return None


def _resized(frames: list[tuple[int, tuple[int, int]]], coded: tuple[int, int] | None) -> str | None:
    if not frames or coded is None:
        return None
    (first, (w, h)) = frames[0]
    return (f"the frame size changes at frame {first} from {coded[0]}x{coded[1]} to {w}x{h}: {len(frames)} "
            f"frame(s) were scaled to the first frame's size")  # fmt: skip


def _retimed(frames: list[int]) -> str | None:
    if not frames:
        return None
    return (f"timestamps go back or repeat at frame {frames[0]} ({len(frames)} frame(s)): each such frame is "
            f"placed one frame period after the one before it")  # fmt: skip


def _damaged(frames: list[int]) -> str | None:
    return f"{len(frames)} damaged packet(s)/frame(s), first near frame {frames[0]}" if frames else None


def read_frames(video: str | Path | VideoInfo) -> Iterator[np.ndarray]:
    """Yield the frames of `video` as (height, width, 3) uint8 BGR arrays, upright (rotation applied)."""
    yield from FrameReader(video)  # type: ignore[misc]
