"""What a video file holds, read from `ffmpeg -i` (imageio-ffmpeg ships no ffprobe)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from posemamba_cli.errors import PoseMambaError
from posemamba_cli.video.ffmpeg import run_ffmpeg

_VIDEO_RE = re.compile(r"Stream #\d+:\d+.*?: Video: (?P<codec>\w+).*?, (?P<w>\d{2,5})x(?P<h>\d{2,5})")
_FPS_RE = re.compile(r"(?P<v>[\d.]+k?) fps")
_TBR_RE = re.compile(r"(?P<v>[\d.]+k?) tbr")
_DURATION_RE = re.compile(r"Duration: (?P<h>\d+):(?P<m>\d+):(?P<s>[\d.]+)")
_ROTATION_RE = re.compile(r"rotation of (?P<deg>-?[\d.]+) degrees")
_ROTATE_TAG_RE = re.compile(r"^\s*rotate\s*:\s*(?P<deg>-?\d+)", re.MULTILINE)
_AUDIO_RE = re.compile(r"Stream #\d+:\d+.*?: Audio: (?P<codec>\w+)")
_FRAME_COUNT_RE = re.compile(r"frame=\s*(\d+)")


@dataclass(frozen=True)
class VideoInfo:
    """A video's properties as frames are delivered: width/height after rotation, average frame rate."""

    path: Path
    width: int
    height: int
    fps: float
    duration: float
    n_frames: int
    rotation: int
    variable_frame_rate: bool
    video_codec: str
    audio_codec: str | None

    @property
    def has_audio(self) -> bool:
        return self.audio_codec is not None


def _rate(text: str) -> float:
    return float(text[:-1]) * 1000 if text.endswith("k") else float(text)


def probe_video(path: str | Path, count_frames: bool = True) -> VideoInfo:
    """Probe `path`; raise PoseMambaError (one line) when it is missing, not a video, or holds no frames.

    `n_frames` counts the video packets (fast, no decoding) when `count_frames`, otherwise it is estimated
    from duration x fps. For a variable frame rate the average rate is reported; readers resample to it.
    """
    path = Path(path)
    if not path.exists():
        raise PoseMambaError(f"{path}: no such file")
    if path.is_dir():
        raise PoseMambaError(f"{path}: is a folder, not a video")
    out = run_ffmpeg(["-i", str(path)]).stderr
    video = _VIDEO_RE.search(out)
    if video is None:
        if "Input #0" in out and "Invalid data" not in out:
            raise PoseMambaError(f"{path}: the file holds no video frames (no video stream)")
        raise PoseMambaError(f"{path}: not a video (ffmpeg cannot read it as one)")
    stream_line = out[video.start() : out.find("\n", video.start())]
    fps_m, tbr_m = _FPS_RE.search(stream_line), _TBR_RE.search(stream_line)
    fps = _rate(fps_m["v"]) if fps_m else (_rate(tbr_m["v"]) if tbr_m else 0.0)
    tbr = _rate(tbr_m["v"]) if tbr_m else fps
    dur_m = _DURATION_RE.search(out)
    duration = int(dur_m["h"]) * 3600 + int(dur_m["m"]) * 60 + float(dur_m["s"]) if dur_m else 0.0
    rot_m = _ROTATION_RE.search(out) or _ROTATE_TAG_RE.search(out)
    rotation = int(round(float(rot_m["deg"]))) % 360 if rot_m else 0
    width, height = int(video["w"]), int(video["h"])
    if rotation in (90, 270):  # ffmpeg auto-rotates while decoding, so frames arrive transposed
        width, height = height, width
    audio = _AUDIO_RE.search(out)
    variable = abs(fps - tbr) > 0.01 * max(fps, 1e-6)
    if count_frames:
        # packets are counted without decoding; a variable rate is decoded through the same resampling
        # the reader applies, so that the count is exactly what readers deliver
        how = ["-fps_mode", "cfr", "-r", f"{fps:.6f}"] if variable else ["-c", "copy"]
        counted = run_ffmpeg(["-i", str(path), "-map", "0:v:0", *how, "-f", "null", "-"]).stderr
        frames = _FRAME_COUNT_RE.findall(counted)
        n_frames = int(frames[-1]) if frames else 0
    else:
        n_frames = int(round(duration * fps))
    if n_frames == 0 or fps <= 0:
        raise PoseMambaError(f"{path}: the video has no frames")
    return VideoInfo(
        path=path,
        width=width,
        height=height,
        fps=fps,
        duration=duration,
        n_frames=n_frames,
        rotation=rotation,
        variable_frame_rate=variable,
        video_codec=video["codec"],
        audio_codec=audio["codec"] if audio else None,
    )
