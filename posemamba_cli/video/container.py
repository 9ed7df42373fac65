"""What a video file's container states, read through PyAV (FFmpeg's libraries) without decoding:
streams, rate, duration, header frame count, colour tags; and `VideoInfo`, which decoding completes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from posemamba_cli.errors import PoseMambaError


@dataclass(frozen=True)
class VideoInfo:
    """A video's properties as frames are delivered: width/height after rotation, average frame rate.

    `n_frames` is the number of decoded frames when `frames_counted`, else the header's estimate (0 when
    the header says nothing: images, raw streams); `header_frames` is the count the header states (0: none);
    `frame_times` (seconds from the start of the stream, one per decoded frame) when counted.
    """

    path: Path
    width: int
    height: int
    fps: float
    duration: float
    n_frames: int
    rotation: int  # clockwise degrees applied to the decoded pictures to make them upright
    variable_frame_rate: bool
    video_codec: str
    audio_codec: str | None
    frames_counted: bool = False
    color: dict[str, str] = field(default_factory=dict, compare=False)  # ffmpeg option -> value, e.g. bt709
    frame_times: np.ndarray | None = field(default=None, compare=False, repr=False)
    decode_warning: str | None = None  # where decoding stopped early, when it did
    header_frames: int = 0

    @property
    def has_audio(self) -> bool:
        return self.audio_codec is not None

    @property
    def frame_total(self) -> int | None:
        """The frame count where it is known (counted by decoding), else None (a progress bar without end)."""
        return self.n_frames if self.frames_counted else None


def open_container(path: Path):
    """`av.open` with every failure as one PoseMambaError line."""
    import av

    if not path.exists():
        raise PoseMambaError(f"{path}: no such file")
    if path.is_dir():
        raise PoseMambaError(f"{path}: is a folder, not a video")
    try:
        return av.open(str(path), mode="r", metadata_errors="replace")
    except (av.FFmpegError, UnicodeDecodeError, ValueError, OSError) as exc:
        if path.stat().st_size == 0:
            raise PoseMambaError(f"{path}: the file is empty, not a video") from None
        raise PoseMambaError(f"{path}: not a video (FFmpeg cannot read it as one: {_reason(exc)})") from None


def _reason(exc: BaseException) -> str:
    text = str(getattr(exc, "strerror", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def clockwise_rotation(display_rotation: float) -> int:
    """Clockwise degrees to turn pictures upright from a display matrix's counter-clockwise rotation."""
    return int(round(-display_rotation / 90.0)) * 90 % 360


_COLOR_OPTIONS = {"color_primaries": "color_primaries", "color_trc": "color_trc", "colorspace": "colorspace",
                  "color_range": "color_range"}  # fmt: skip
_UNSPECIFIED = {"", "unknown", "unspecified", "reserved", "none"}


def color_tags(frame_or_context) -> dict[str, str]:
    """A decoded frame's (or codec context's) colour description as ffmpeg option names and values, only
    the ones it states (e.g. {"color_primaries": "bt709", ...}), so that written videos can carry them."""
    tags = {}
    for attr, option in _COLOR_OPTIONS.items():
        value = getattr(frame_or_context, attr, None)
        name = _color_name(attr, value)
        if name and name not in _UNSPECIFIED:
            tags[option] = name
    return tags


def _color_name(attr: str, value: object) -> str | None:
    """FFmpeg's name for a colour enum value (PyAV reports them as integers)."""
    if value is None:
        return None
    names = {
        "color_primaries": {1: "bt709", 4: "bt470m", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m", 8: "film",
                            9: "bt2020", 10: "smpte428", 11: "smpte431", 12: "smpte432", 22: "jedec-p22"},
        "color_trc": {1: "bt709", 4: "gamma22", 5: "gamma28", 6: "smpte170m", 7: "smpte240m", 8: "linear",
                      13: "iec61966-2-1", 14: "bt2020-10", 15: "bt2020-12", 16: "smpte2084", 18: "arib-std-b67"},
        "colorspace": {0: "gbr", 1: "bt709", 4: "fcc", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m", 8: "ycgco",
                       9: "bt2020nc", 10: "bt2020c"},
        "color_range": {1: "tv", 2: "pc"},
    }[attr]  # FFmpeg's AVColor* enum values (libavutil/pixfmt.h)
    try:
        return names.get(int(value))  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return str(value).lower()


def read_header(path: str | Path) -> VideoInfo:
    """What the container of `path` states (nothing decoded: size and rotation are the header's, the frame
    count an estimate); raise PoseMambaError (one line) when it is missing, not a video or has no video stream."""
    path = Path(path)
    with open_container(path) as container:
        if not container.streams.video:
            raise PoseMambaError(f"{path}: the file holds no video frames (no video stream)")
        stream = container.streams.video[0]
        ctx = stream.codec_context
        audio = container.streams.audio[0].codec_context.name if container.streams.audio else None
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate else 0.0
        base = float(stream.base_rate) if stream.base_rate else fps
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / 1_000_000
        else:
            duration = 0.0
        header_count = int(stream.frames or 0)
        return VideoInfo(
            path=path, width=ctx.width, height=ctx.height, fps=fps, duration=duration,
            n_frames=header_count or int(round(duration * fps)), rotation=0,
            variable_frame_rate=abs(fps - base) > 0.01 * max(fps, 1e-6), video_codec=ctx.name, audio_codec=audio,
            color=color_tags(ctx), header_frames=header_count,
        )  # fmt: skip


def with_times(info: VideoInfo, times: list[float] | np.ndarray, warning: str | None) -> VideoInfo:
    """`info` with its decoded frame count and timestamps filled in."""
    times = np.asarray(times, dtype=np.float64)
    return VideoInfo(**{**info.__dict__, "n_frames": len(times), "frame_times": times, "frames_counted": True,
                        "decode_warning": warning})  # fmt: skip
