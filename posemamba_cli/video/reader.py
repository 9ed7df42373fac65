"""Stream decoded frames out of ffmpeg one at a time (memory stays at one frame whatever the length)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from posemamba_cli.errors import PoseMambaError
from posemamba_cli.video.ffmpeg import ffmpeg_exe
from posemamba_cli.video.probe import VideoInfo, probe_video


def read_frames(video: str | Path | VideoInfo) -> Iterator[np.ndarray]:
    """Yield the frames of `video` as (height, width, 3) uint8 BGR arrays, upright (rotation applied).

    A variable-frame-rate video is resampled to its average rate so that frame i sits at time i / fps,
    exactly as the outputs are written. Closing the iterator early stops ffmpeg.
    """
    info = video if isinstance(video, VideoInfo) else probe_video(video, count_frames=False)
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(info.path), "-map", "0:v:0"]
    if info.variable_frame_rate:
        cmd += ["-fps_mode", "cfr", "-r", f"{info.fps:.6f}"]
    cmd += ["-f", "rawvideo", "-pix_fmt", "bgr24", "-"]
    frame_bytes = info.width * info.height * 3
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=frame_bytes)
    assert proc.stdout is not None
    try:
        while True:
            buf = proc.stdout.read(frame_bytes)
            if len(buf) < frame_bytes:
                break
            yield np.frombuffer(buf, np.uint8).reshape(info.height, info.width, 3)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
        err = proc.stderr.read().decode(errors="replace").strip() if proc.stderr else ""
        if proc.stderr:
            proc.stderr.close()
        code = proc.wait()
    if code != 0 and err:
        raise PoseMambaError(f"{info.path}: ffmpeg could not decode the video: {err.splitlines()[-1]}")
