"""Locate and run the ffmpeg binary that imageio-ffmpeg ships (nothing system-wide is needed)."""

from __future__ import annotations

import functools
import subprocess

from posemamba_cli.errors import PoseMambaError


@functools.lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    """Path of the ffmpeg executable (imageio-ffmpeg's binary, or `IMAGEIO_FFMPEG_EXE` if set)."""
    try:
        import imageio_ffmpeg
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise PoseMambaError("imageio-ffmpeg is not installed: pip install imageio-ffmpeg") from exc
    return imageio_ffmpeg.get_ffmpeg_exe()


def run_ffmpeg(args: list[str], timeout: float | None = None) -> subprocess.CompletedProcess:
    """Run ffmpeg with `args` (without the executable), capturing text output; never raises on exit code."""
    return subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", *args],
        capture_output=True,
        text=True,
        errors="replace",
        timeout=timeout,
        check=False,
    )
