"""Video in through PyAV (probe, frames with timestamps), out through the ffmpeg binary of imageio-ffmpeg."""

from posemamba_cli.video.container import VideoInfo
from posemamba_cli.video.probe import probe_video
from posemamba_cli.video.reader import FrameReader, read_frames
from posemamba_cli.video.writer import VideoWriter

__all__ = ["VideoInfo", "probe_video", "read_frames", "FrameReader", "VideoWriter"]
