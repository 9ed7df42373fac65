"""Encode frames streamed into ffmpeg (H.264 mp4), with the source's audio, written atomically."""

from __future__ import annotations

import contextlib
import subprocess
from pathlib import Path
from types import TracebackType

import numpy as np

from posemamba_cli.errors import PoseMambaError
from posemamba_cli.io.atomic import atomic_path
from posemamba_cli.video.ffmpeg import ffmpeg_exe
from posemamba_cli.video.retime import is_uniform, retime_video

# Audio codecs an mp4 holds as they are; anything else is re-encoded to AAC.
_MP4_AUDIO = {"aac", "mp3", "alac", "opus", "ac3", "eac3", "flac"}
# colorspace tag -> the matrix FFmpeg's scale filter converts BGR to YUV with (its out_color_matrix)
_MATRIX = {"bt709": "bt709", "fcc": "fcc", "bt470bg": "bt470", "smpte170m": "smpte170m", "smpte240m": "smpte240m",
           "bt2020nc": "bt2020"}  # fmt: skip


def output_colors(color: dict[str, str]) -> dict[str, str]:
    """The colour tags an H.264 (YUV 4:2:0) copy of a source tagged `color` carries: primaries, transfer
    and range as they are; the matrix too where FFmpeg can convert to it, else (RGB sources: gbr) BT.709
    in limited range."""
    tags = dict(color)
    if "colorspace" in tags and tags["colorspace"] not in _MATRIX:
        tags.update(colorspace="bt709", color_range="tv")
    return tags


def _color_filters(tags: dict[str, str]) -> str:
    """Filters converting BGR frames to YUV with the matrix and range `tags` state and tagging the frames
    with all of them (the encoder takes its colour description from the frames)."""
    scale = [f"out_color_matrix={_MATRIX[tags['colorspace']]}"] if "colorspace" in tags else []
    scale += [f"out_range={tags['color_range']}"] if "color_range" in tags else []
    params = [f"{'range' if k == 'color_range' else k}={v}" for k, v in sorted(tags.items())]
    return (",scale=" + ":".join(scale) if scale else "") + (",setparams=" + ":".join(params) if params else "")


class VideoWriter:
    """Context manager writing (height, width, 3) uint8 BGR frames to an mp4 at `fps`.

    `times` (seconds per frame, as `VideoInfo.frame_times`) keeps a variable rate or gaps of the source.
    `color` (as `VideoInfo.color`) tags the output with the source's colour description (`output_colors`).
    `audio_from` copies the first audio stream of that file (if any) into the output. The file appears at
    `path` only when the block ends without error and ffmpeg succeeds; otherwise nothing is left behind.
    Odd sizes are padded by one pixel (H.264 with yuv420p needs even sizes).
    """

    def __init__(
        self,
        path: str | Path,
        width: int,
        height: int,
        fps: float,
        audio_from: str | Path | None = None,
        audio_codec: str | None = None,
        crf: int = 23,
        preset: str = "veryfast",
        color: dict[str, str] | None = None,
        times: np.ndarray | None = None,
    ) -> None:
        self.path = Path(path)
        self.width, self.height, self.fps = int(width), int(height), float(fps)
        self.audio_from = Path(audio_from) if audio_from is not None and audio_codec is not None else None
        self.audio_codec = audio_codec
        self.crf, self.preset = crf, preset
        self.color = output_colors(color or {})  # ffmpeg colour options written (e.g. color_primaries=bt709)
        # each frame's timestamp (seconds); when they are not k / fps the packets are retimed to them
        self.times = None if times is None or is_uniform(times, self.fps) else np.asarray(times, np.float64)
        self._tmp: Path | None = None
        self.frames_written = 0
        self._atomic: contextlib.AbstractContextManager[Path] | None = None
        self._proc: subprocess.Popen | None = None

    def _command(self, tmp: Path) -> list[str]:
        cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
        cmd += ["-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{self.width}x{self.height}", "-r", f"{self.fps:.6f}"]
        cmd += ["-i", "-"]
        if self.audio_from is not None:
            cmd += ["-i", str(self.audio_from), "-map", "0:v:0", "-map", "1:a:0"]
            cmd += ["-c:a", "copy"] if self.audio_codec in _MP4_AUDIO else ["-c:a", "aac", "-b:a", "160k"]
        vf = "pad=ceil(iw/2)*2:ceil(ih/2)*2" + _color_filters(self.color)
        cmd += ["-vf", vf, "-c:v", "libx264", "-preset", self.preset]
        if self.times is not None:
            cmd += ["-bf", "0"]  # decode order = display order, so packets can take the source's timestamps
        for option, value in sorted(self.color.items()):
            cmd += [f"-{option}", value]
        cmd += ["-crf", str(self.crf), "-pix_fmt", "yuv420p", "-movflags", "+faststart", "-f", "mp4", str(tmp)]
        return cmd

    def __enter__(self) -> VideoWriter:
        self._atomic = atomic_path(self.path)
        tmp = self._atomic.__enter__()
        self._tmp = tmp
        self._proc = subprocess.Popen(self._command(tmp), stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        return self

    def write(self, frame: np.ndarray) -> None:
        """Append one frame (must match the writer's size)."""
        if frame.shape != (self.height, self.width, 3) or frame.dtype != np.uint8:
            raise ValueError(f"frame {frame.shape} {frame.dtype} != ({self.height}, {self.width}, 3) uint8")
        assert self._proc is not None and self._proc.stdin is not None
        try:
            self._proc.stdin.write(np.ascontiguousarray(frame).tobytes())
        except BrokenPipeError as exc:
            raise PoseMambaError(f"{self.path}: ffmpeg stopped while encoding: {self._stderr()}") from exc
        self.frames_written += 1

    def _stderr(self) -> str:
        assert self._proc is not None and self._proc.stderr is not None
        text = self._proc.stderr.read().decode(errors="replace").strip()
        return text.splitlines()[-1] if text else "no message"

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._proc is not None and self._atomic is not None
        proc, atomic = self._proc, self._atomic
        if exc_type is None:
            with contextlib.suppress(BrokenPipeError):
                proc.stdin.close()
            message = self._stderr()
            code = proc.wait()
            if code != 0 or self.frames_written == 0:
                why = "no frames were written" if self.frames_written == 0 else message
                error = PoseMambaError(f"{self.path}: could not write the video: {why}")
                atomic.__exit__(PoseMambaError, error, None)
                raise error
            if self.times is not None:
                try:
                    if self.frames_written != len(self.times):
                        raise PoseMambaError(f"{self.path}: {self.frames_written} frames for {len(self.times)} times")
                    retime_video(self._tmp, self.times)
                except BaseException as failure:
                    atomic.__exit__(type(failure), failure, failure.__traceback__)
                    raise
            atomic.__exit__(None, None, None)
        else:
            proc.kill()
            with contextlib.suppress(BrokenPipeError, OSError):
                proc.stdin.close()
            proc.wait()
            if proc.stderr:
                proc.stderr.close()
            atomic.__exit__(exc_type, exc, tb)
