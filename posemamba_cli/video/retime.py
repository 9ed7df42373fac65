"""Give an encoded video its source's frame timestamps (variable rates, gaps) by rewriting packet times."""

from __future__ import annotations

import contextlib
import os
from fractions import Fraction
from pathlib import Path

import numpy as np

from posemamba_cli.errors import PoseMambaError

_TICKS = 90000  # timestamp resolution written (1/90000 s, the usual video clock)


def is_uniform(times: np.ndarray, fps: float) -> bool:
    """Whether frame k sits at k / fps (within a quarter frame) for every frame."""
    times = np.asarray(times, dtype=np.float64)
    return fps > 0 and bool(np.all(np.abs(times - times[0] - np.arange(len(times)) / fps) < 0.25 / fps))


def retime_video(path: str | Path, times: np.ndarray) -> None:
    """Rewrite, in place, the timestamps of the video packets of `path` to `times` (seconds, one per frame).

    The video must have no B-frames (decode order = display order); audio packets are copied unchanged.
    Ticks that would not increase (times out of order or closer than a tick) are moved one tick after the
    previous one: a muxer refuses anything else.
    """
    import av

    path = Path(path)
    times = np.asarray(times, dtype=np.float64)
    ticks = np.round((times - times[0]) * _TICKS).astype(np.int64)
    index = np.arange(len(ticks))
    ticks = np.maximum.accumulate(ticks - index) + index  # strictly increasing: ticks[i] >= ticks[i - 1] + 1
    step = int(np.median(np.diff(ticks))) if len(ticks) > 1 else _TICKS // 30
    durations = np.append(np.diff(ticks), step)
    tmp = path.with_name(f".{path.name}.retime{path.suffix}")
    try:
        with av.open(str(path)) as src, av.open(str(tmp), "w", format="mp4", options={"movflags": "+faststart"}) as dst:
            video = src.streams.video[0]
            streams = {video.index: dst.add_stream_from_template(video)}
            streams[video.index].time_base = Fraction(1, _TICKS)
            for audio in src.streams.audio[:1]:
                streams[audio.index] = dst.add_stream_from_template(audio)
            k = 0
            for packet in src.demux(*[s for s in src.streams if s.index in streams]):
                if packet.size == 0:  # the demuxer's end-of-stream marker
                    continue
                if packet.stream.index == video.index:
                    if k >= len(ticks):
                        raise PoseMambaError(f"{path}: more encoded frames than timestamps ({len(ticks)})")
                    packet.pts = packet.dts = int(ticks[k])
                    packet.duration = int(durations[k])
                    packet.time_base = Fraction(1, _TICKS)
                    k += 1
                packet.stream = streams[packet.stream.index]
                dst.mux(packet)
        if k != len(ticks):
            raise PoseMambaError(f"{path}: {k} encoded frames for {len(ticks)} timestamps")
        os.replace(tmp, path)
    except av.FFmpegError as exc:
        raise PoseMambaError(f"{path}: could not give the video its frame times: {exc}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
