"""Video in/out through imageio-ffmpeg's binary: probing, streaming, rotation, variable rate, audio, atomicity."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from posemamba_cli.errors import PoseMambaError
from posemamba_cli.video import VideoWriter, probe_video, read_frames
from posemamba_cli.video.ffmpeg import run_ffmpeg
from posemamba_cli.video.synthetic import make_synthetic_clip


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return make_synthetic_clip(tmp_path_factory.mktemp("v") / "walk.mp4", n_frames=30, width=64, height=48).path


def _ffmpeg(*args: str) -> None:
    r = run_ffmpeg(["-loglevel", "error", "-y", *args])
    assert r.returncode == 0, r.stderr


def test_probe_and_stream_frames(clip: Path) -> None:
    info = probe_video(clip)
    assert (info.width, info.height, info.n_frames, info.fps) == (64, 48, 30, 30.0)
    assert info.has_audio and info.rotation == 0 and not info.variable_frame_rate
    frames = list(read_frames(info))
    assert len(frames) == 30
    assert frames[0].shape == (48, 64, 3) and frames[0].dtype == np.uint8
    assert not np.array_equal(frames[0], frames[15])  # the figure moves


def test_write_keeps_frames_rate_and_audio(clip: Path, tmp_path: Path) -> None:
    info = probe_video(clip)
    frames = list(read_frames(info))
    out = tmp_path / "copy.mp4"
    with VideoWriter(out, info.width, info.height, info.fps, audio_from=clip, audio_codec=info.audio_codec) as w:
        for f in frames:
            w.write(f)
    again = probe_video(out)
    assert (again.n_frames, again.fps, again.width, again.height) == (30, 30.0, 64, 48)
    assert again.audio_codec == "aac"
    back = list(read_frames(again))
    assert np.abs(back[10].astype(int) - frames[10].astype(int)).mean() < 8  # lossy, but the same picture
    assert [p.name for p in tmp_path.iterdir()] == ["copy.mp4"]  # no temporary left over


def test_odd_size_is_padded(tmp_path: Path) -> None:
    out = tmp_path / "odd.mp4"
    with VideoWriter(out, 33, 21, 25.0) as w:
        for _ in range(5):
            w.write(np.zeros((21, 33, 3), np.uint8))
    info = probe_video(out)
    assert (info.width, info.height, info.n_frames, info.has_audio) == (34, 22, 5, False)


def test_failed_write_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "broken.mp4"
    with pytest.raises(RuntimeError):
        with VideoWriter(out, 32, 32, 25.0) as w:
            w.write(np.zeros((32, 32, 3), np.uint8))
            raise RuntimeError("stage failed")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError):
        with VideoWriter(out, 32, 32, 25.0) as w:
            w.write(np.zeros((16, 32, 3), np.uint8))
    assert list(tmp_path.iterdir()) == []


def test_rotation_metadata_is_honoured(clip: Path, tmp_path: Path) -> None:
    rotated = tmp_path / "rot.mp4"
    _ffmpeg("-display_rotation", "90", "-i", str(clip), "-c", "copy", str(rotated))
    info = probe_video(rotated)
    assert info.rotation in (90, 270)
    assert (info.width, info.height) == (48, 64)
    frames = list(read_frames(info))
    assert len(frames) == 30 and frames[0].shape == (64, 48, 3)
    upright = next(iter(read_frames(clip))).astype(int)
    turned = np.rot90(upright, k=1 if info.rotation == 90 else -1)
    other = np.rot90(upright, k=-1 if info.rotation == 90 else 1)
    # the decoded frame is the source turned one way (whichever ffmpeg's convention), not left as is
    err = min(np.abs(frames[0] - turned).mean(), np.abs(frames[0] - other).mean())
    assert err < 8


def test_variable_frame_rate_keeps_every_frame(tmp_path: Path) -> None:
    vfr = tmp_path / "vfr.mp4"
    # 15 frames at 30 fps, then 15 frames at 10 fps
    _ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48:rate=30:duration=1",
            "-vf", "setpts='if(lt(N,15),N,15+(N-15)*3)/30/TB'", "-fps_mode", "passthrough",
            "-c:v", "libx264", "-pix_fmt", "yuv420p", str(vfr))  # fmt: skip
    info = probe_video(vfr)
    assert info.variable_frame_rate
    assert 14 < info.fps < 19  # average rate, not the 30 fps of the first half
    frames = list(read_frames(info))
    assert len(frames) == info.n_frames  # the probe counts what the reader delivers (exactness: test_video_frames)


def test_bad_inputs_give_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(PoseMambaError, match="no such file"):
        probe_video(tmp_path / "missing.mp4")
    text = tmp_path / "notes.mp4"
    text.write_text("not a video at all\n")
    with pytest.raises(PoseMambaError, match="not a video"):
        probe_video(text)
    empty = tmp_path / "empty.y4m"
    empty.write_text("YUV4MPEG2 W64 H48 F30:1 Ip A1:1 C420jpeg\n")
    with pytest.raises(PoseMambaError, match="no frames"):
        probe_video(empty)
    with pytest.raises(PoseMambaError, match="folder"):
        probe_video(tmp_path)
