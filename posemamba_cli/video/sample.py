"""A few small grey frames spread over a video, decoded cheaply (keyframes only where there are enough)."""

from __future__ import annotations

import numpy as np

from posemamba_cli.video.container import VideoInfo, open_container
from posemamba_cli.video.reader import upright


def _grey(frame, width: int, rotation: int) -> np.ndarray:
    w = min(width, frame.width)
    h = max(2, round(frame.height * w / frame.width))
    return upright(frame.reformat(width=w, height=h, format="gray").to_ndarray(), rotation)


def sample_frames(info: VideoInfo, count: int = 6, width: int = 480) -> list[tuple[int, np.ndarray]]:
    """Up to `count` (frame index, grey image at most `width` wide) spread over the video, in order.

    Where the stream has two keyframes or more, up to `count` of them are decoded, each after a seek (cheap);
    otherwise (a short clip) the frames are decoded in one pass, converting only the chosen ones. Indices are
    rows of the decoded frame sequence (`info.frame_times` when known).
    """
    times = np.asarray(info.frame_times if info.frame_times is not None else [], np.float64)
    n = len(times) or info.n_frames
    with open_container(info.path) as container:
        stream = container.streams.video[0]
        keys = sorted(p.pts for p in container.demux(stream) if p.is_keyframe and p.pts is not None)
    if len(keys) >= min(count, 2):  # seek to each chosen keyframe and decode that one frame
        out = []
        tb = float(stream.time_base)
        with open_container(info.path) as container:
            stream = container.streams.video[0]
            start = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
            for i in np.unique(np.round(np.linspace(0, len(keys) - 1, count)).astype(int)):
                container.seek(int(keys[i]), stream=stream, backward=True)
                frame = next(iter(container.decode(stream)), None)
                if frame is None:
                    continue
                t = float(frame.pts) * tb - start if frame.pts is not None else 0.0
                index = int(np.abs(times - t).argmin()) if len(times) else int(round(t * info.fps))
                out.append((index, _grey(frame, width, info.rotation)))
        return out
    wanted = set(np.unique(np.round(np.linspace(0, max(n - 1, 0), count)).astype(int)).tolist())
    out = []
    with open_container(info.path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for i, frame in enumerate(container.decode(stream)):
            if i in wanted:
                out.append((i, _grey(frame, width, info.rotation)))
            if i >= max(wanted):
                break
    return out
