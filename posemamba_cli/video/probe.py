"""What a video holds as frames are delivered: the container's header completed by decoding.

The frame count is what decoding delivers (`count_frames=True` decodes the whole stream once); container
headers are only an estimate, wrong for many real files (edit lists, truncation, variable rates) and silent
for images and raw streams, which are decoded like any video.
"""

from __future__ import annotations

from pathlib import Path

from posemamba_cli.errors import PoseMambaError
from posemamba_cli.video.container import VideoInfo, read_header, with_times
from posemamba_cli.video.reader import FrameReader

__all__ = ["VideoInfo", "probe_video", "scan_frames", "with_times"]


def probe_video(path: str | Path, count_frames: bool = True) -> VideoInfo:
    """Probe `path`; raise PoseMambaError (one line) when it is missing, not a video, or holds no frames.

    The first frame is always decoded (its size and rotation are the ones every frame is delivered at).
    With `count_frames` every frame is decoded once, so `n_frames` and `frame_times` are exactly what
    `read_frames` will deliver; otherwise `n_frames` is the container's estimate (0 where it has none).
    """
    return scan_frames(read_header(path), full=count_frames)


def scan_frames(info: VideoInfo, full: bool = True) -> VideoInfo:
    """`info` completed by decoding: the rotation and size from the first frame, and with `full` the exact
    frame count, every frame's timestamp and what decoding had to repair. Raises when nothing decodes."""
    reader = FrameReader(info, images=False, limit=None if full else 1)
    for _ in reader:
        pass
    if not reader.times or reader.size is None or min(reader.size) <= 0:
        why = f" ({reader.warning})" if reader.warning else ""
        raise PoseMambaError(f"{info.path}: the video has no frames{why}")
    width, height = reader.size
    out = VideoInfo(**{**info.__dict__, "rotation": reader.rotation, "width": width, "height": height,
                       "color": reader.color or info.color})  # fmt: skip
    return with_times(out, reader.times, reader.warning) if full else out
