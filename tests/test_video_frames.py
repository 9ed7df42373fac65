"""One output row per decoded frame, with its timestamp (issue 10, items 3 and 4).

The videos are made here with the ffmpeg binary; the reference frame list comes from ffmpeg's framemd5
muxer (a machine-readable listing of every decoded frame's pts), independently of PyAV.
"""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from helpers.infer import EchoLifter, FigurePose2D, box_detector, figure_tracks, write_small_lifter

from posemamba_cli.pipeline import InferConfig, infer_video
from posemamba_cli.video import FrameReader, probe_video
from posemamba_cli.video.ffmpeg import ffmpeg_exe, run_ffmpeg

SIZE = "64x48"


def ffmpeg(*args: str) -> None:
    done = run_ffmpeg(["-y", "-loglevel", "error", *args])
    assert done.returncode == 0, done.stderr[-400:]


def decoded_pts(path: Path) -> np.ndarray:
    """Every frame ffmpeg decodes (no rate conversion), as seconds from the first one."""
    out = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", "0:v:0", "-fps_mode", "passthrough",
                          "-enc_time_base:v", "1:90000", "-f", "framemd5", "-"],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    base = next(Fraction(line.split()[-1]) for line in out.splitlines() if line.startswith("#tb 0:"))
    pts = [int(line.split(",")[2]) for line in out.splitlines() if line and not line.startswith("#")]
    return np.array([float((p - pts[0]) * base) for p in pts])


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("frames")
    src = ["-f", "lavfi", "-i", f"testsrc=size={SIZE}:rate=30:duration=2"]
    h264 = ["-c:v", "libx264", "-pix_fmt", "yuv420p"]
    # wrong header count: a copy cut between key frames keeps the earlier packets behind an edit list
    ffmpeg(*src, "-g", "30", *h264, str(d / "keyed.mp4"))
    ffmpeg("-ss", "0.5", "-i", str(d / "keyed.mp4"), "-c", "copy", str(d / "edit_list.mp4"))
    # timestamp gap: frames 20.. are shifted by 10 frame periods
    ffmpeg(*src, "-vf", "setpts='if(lt(N,20),N,N+10)/30/TB'", "-fps_mode", "passthrough", *h264, str(d / "gap.mp4"))
    # variable rate: 15 frames at 30 fps then 15 at 10 fps
    ffmpeg(*src, "-frames:v", "30", "-vf", "setpts='if(lt(N,15),N,15+(N-15)*3)/30/TB'", "-fps_mode", "passthrough",
           *h264, str(d / "vfr.mp4"))  # fmt: skip
    # truncated, index at the front (faststart): the header promises 90 frames, the data holds fewer
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=96x64:rate=30:duration=3", "-g", "300", *h264,
           "-movflags", "+faststart", str(d / "whole.mp4"))  # fmt: skip
    data = (d / "whole.mp4").read_bytes()
    (d / "truncated.mp4").write_bytes(data[: len(data) // 2])
    return {p.stem: p for p in d.glob("*.mp4")}


def test_header_count_is_not_the_frame_count(videos) -> None:
    import av

    with av.open(str(videos["edit_list"])) as c:
        header = c.streams.video[0].frames
    truth = decoded_pts(videos["edit_list"])
    info = probe_video(videos["edit_list"])
    assert header != len(truth)  # the case the old packet count got wrong
    assert info.n_frames == len(truth) == len(list(FrameReader(info)))


@pytest.mark.parametrize("name", ["edit_list", "gap", "vfr"])
def test_every_frame_once_with_its_timestamp(videos, name) -> None:
    truth = decoded_pts(videos[name])
    reader = FrameReader(videos[name])
    frames = list(reader)
    assert len(frames) == len(truth) and reader.warning is None
    np.testing.assert_allclose(reader.times, truth, atol=1e-6)
    # the times the clips were made with (ffmpeg 7.0 encodes one frame fewer of these than 7.1 does)
    made = {"gap": [n if n < 20 else n + 10 for n in range(60)], "vfr": [n if n < 15 else 15 + (n - 15) * 3
                                                                          for n in range(30)]}  # fmt: skip
    if name in made:
        assert len(made[name]) - 1 <= len(frames) <= len(made[name])
        np.testing.assert_allclose(np.array(reader.times) * 30, made[name][: len(frames)], atol=1e-6)


@pytest.mark.parametrize("name", ["edit_list", "gap", "vfr"])
@pytest.mark.parametrize("path", ["detector", "keypoints"])
def test_outputs_have_one_row_per_decoded_frame(videos, tmp_path, name, path) -> None:
    truth = decoded_pts(videos[name])
    render = path == "keypoints"  # the old reader failed the render pass of the edit-list and vfr clips
    stages = dict(keypoints=lambda info: figure_tracks(info.n_frames)) if path == "keypoints" else \
        dict(detector=box_detector, pose2d=FigurePose2D())  # fmt: skip
    result = infer_video(videos[name], tmp_path, EchoLifter(), config=InferConfig(flip=False, render=render), **stages)
    doc = json.loads((result.output_dir / "pose3d.json").read_text())
    assert result.n_frames == doc["n_frames"] == len(doc["frames"]) == len(truth)
    np.testing.assert_allclose([f["time_s"] for f in doc["frames"]], truth, atol=1e-6)
    with np.load(result.output_dir / "pose3d.npz") as npz:
        np.testing.assert_allclose(npz["time_s"], truth, atol=1e-6)
        assert npz["pose3d_world_mm"].shape[1] == len(truth)
    with np.load(result.output_dir / "keypoints_2d.npz") as npz:
        assert npz["keypoints"].shape[0] == npz["people_keypoints"].shape[1] == len(truth)
    if render:  # the videos keep the source's timing: variable rates and gaps included
        for video in ("overlay.mp4", "skeleton3d.mp4", "side_by_side.mp4"):
            np.testing.assert_allclose(decoded_pts(result.output_dir / video), truth, atol=2e-4)


def test_truncated_file_is_reported(videos, tmp_path, monkeypatch, capsys) -> None:
    info = probe_video(videos["truncated"])
    assert 0 < info.n_frames < 90 and info.n_frames == len(decoded_pts(videos["truncated"]))
    assert info.decode_warning and f"after frame {info.n_frames}" in info.decode_warning
    assert probe_video(videos["whole"]).decode_warning is None
    result = infer_video(videos["truncated"], tmp_path, EchoLifter(), keypoints=lambda i: figure_tracks(i.n_frames),
                         config=InferConfig(flip=False, render=False))  # fmt: skip
    assert result.warnings and "truncated" in result.warnings[0]


def test_probing_runs_no_ffmpeg_process(videos, monkeypatch) -> None:
    n = len(decoded_pts(videos["gap"]))

    def refuse(*args, **kwargs):
        raise AssertionError("an ffmpeg process was started")

    monkeypatch.setattr(subprocess, "run", refuse)
    monkeypatch.setattr(subprocess, "Popen", refuse)
    info = probe_video(videos["gap"])
    assert info.n_frames == n and len(list(FrameReader(info))) == n


@pytest.mark.parametrize(("tags", "matrix_range"), [("bt709", "tv"), ("smpte170m", "pc")])
def test_colour_tags_survive_rendering(tmp_path, tags, matrix_range) -> None:
    src = tmp_path / "tagged.mp4"
    # tagged through the frames (setparams): FFmpeg 7+ encoders take the tags from the frames, not the options
    ffmpeg("-f", "lavfi", "-i", f"testsrc=size={SIZE}:rate=30:duration=0.5", "-vf",
           f"scale=out_color_matrix={tags}:out_range={matrix_range},setparams=color_primaries={tags}:"
           f"color_trc={tags}:colorspace={tags}:range={matrix_range}", "-c:v", "libx264", "-pix_fmt", "yuv420p",
           str(src))  # fmt: skip
    info = probe_video(src)
    assert info.color == {"color_primaries": tags, "color_trc": tags, "colorspace": tags, "color_range": matrix_range}
    result = infer_video(src, tmp_path / "out", EchoLifter(), keypoints=lambda i: figure_tracks(i.n_frames),
                         config=InferConfig(flip=False))  # fmt: skip
    out = probe_video(result.output_dir / "overlay.mp4")
    assert out.color == info.color
    first_in, first_out = next(iter(FrameReader(info))), next(iter(FrameReader(out)))
    left = np.s_[:, :14]  # away from the drawn skeleton: the colours come back as they went in
    assert np.abs(first_in[left].astype(int).mean((0, 1)) - first_out[left].astype(int).mean((0, 1))).max() < 4


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))


def test_cli_warns_where_a_truncated_file_stopped(videos, tmp_path, monkeypatch, capsys) -> None:
    from posemamba_cli.cli.app import main
    from posemamba_cli.pose2d import write_keypoints_npz

    n = probe_video(videos["truncated"]).n_frames
    kp = figure_tracks(n)
    keypoints = write_keypoints_npz(tmp_path / "kp.npz", kp.keypoints[0], kp.scores[0], None, (96, 64))
    lifter = write_small_lifter(tmp_path / "lifter.pth")
    monkeypatch.setattr(sys, "argv", ["posemamba", "infer", "--quiet", str(videos["truncated"]),
                                      "-o", str(tmp_path / "o"), "--keypoints", str(keypoints),
                                      "--lifter", str(lifter), "--device", "cpu", "--no-render"])  # fmt: skip
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code in (0, None)  # the decoded frames are processed
    err = " ".join(capsys.readouterr().err.split())
    assert "warning:" in err and f"after frame {n}" in err and "truncated" in err
    assert json.loads((tmp_path / "o" / "truncated_posemamba" / "pose3d.json").read_text())["n_frames"] == n
