"""Video in and out through the ffmpeg binary shipped by imageio-ffmpeg: probe, stream frames, write."""

from posemamba_cli.video.probe import VideoInfo, probe_video
from posemamba_cli.video.reader import read_frames
from posemamba_cli.video.writer import VideoWriter

__all__ = ["VideoInfo", "probe_video", "read_frames", "VideoWriter"]
