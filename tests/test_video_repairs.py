"""Inputs whose headers say little or lie, decoded like any video (issue 20): images, raw streams, a frame size
changing mid-stream, timestamps going back, a time scale of 0, frames the header announces that never decode.

Each is made here with the ffmpeg binary (tiny 64x48 clips) and run through the CLI on both paths (--keypoints
and the detector path with a stand-in detector): one row per decoded frame, rendered, a warning where the
reader repaired something, never a traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers.infer import EchoLifter, FigurePose2D, box_detector, figure_tracks, run_cli, write_small_lifter

from posemamba_cli.video import FrameReader, VideoWriter, probe_video
from posemamba_cli.video.ffmpeg import run_ffmpeg

SRC = ["-f", "lavfi", "-i", "testsrc=size=64x48:rate=30"]
H264 = ["-c:v", "libx264", "-pix_fmt", "yuv420p"]


def ffmpeg(*args: str) -> None:
    done = run_ffmpeg(["-y", "-loglevel", "error", *args])
    assert done.returncode == 0, done.stderr[-400:]


def _zero_mdhd_timescale(src: Path, dst: Path) -> None:
    """A copy of the mp4 `src` whose media header (mdhd, version 0) states a time scale of 0."""
    data = bytearray(src.read_bytes())
    at = data.find(b"mdhd")
    assert at > 0 and data[at + 4] == 0  # version 0: version/flags, creation, modification, then the time scale
    data[at + 16 : at + 20] = bytes(4)
    dst.write_bytes(bytes(data))


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("repairs")
    ffmpeg(*SRC, "-frames:v", "1", str(d / "image.png"))
    ffmpeg(*SRC, "-frames:v", "1", str(d / "image.jpg"))
    (d / "png_named.mp4").write_bytes((d / "image.png").read_bytes())
    ffmpeg(*SRC, "-frames:v", "12", *H264, "-f", "h264", str(d / "raw.h264"))
    # a raw stream that changes size mid-way: 10 frames of 64x48, then 10 of 32x24
    ffmpeg(*SRC, "-frames:v", "10", *H264, "-f", "h264", str(d / "big.h264"))
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=32x24:rate=30", "-frames:v", "10", *H264, "-f", "h264",
           str(d / "small.h264"))  # fmt: skip
    (d / "size_change.h264").write_bytes((d / "big.h264").read_bytes() + (d / "small.h264").read_bytes())
    # two MPEG-TS files joined byte for byte: the second one's timestamps start again from the first one's
    ffmpeg(*SRC, "-frames:v", "10", *H264, str(d / "a.ts"))
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x48:rate=30", "-frames:v", "10", *H264, str(d / "b.ts"))
    (d / "joined.ts").write_bytes((d / "a.ts").read_bytes() + (d / "b.ts").read_bytes())
    # an mp4 with a time scale of 0 (FFmpeg takes 1: its edit list then hides all but the first frame)
    ffmpeg(*SRC, "-frames:v", "15", *H264, str(d / "whole.mp4"))
    _zero_mdhd_timescale(d / "whole.mp4", d / "timescale0.mp4")
    ffmpeg(*SRC, "-frames:v", "15", "-g", "12", "-bf", "0", *H264, str(d / "keyed.mp4"))  # key frames 0 and 12
    return {p.name: p for p in d.iterdir()}


def decoded_frames(path: Path) -> int:
    """How many frames ffmpeg itself decodes (independently of PyAV)."""
    done = run_ffmpeg(["-v", "error", "-i", str(path), "-map", "0:v:0", "-fps_mode", "passthrough", "-f", "framemd5",
                       "-"])  # fmt: skip
    return sum(1 for line in done.stdout.splitlines() if line and not line.startswith("#"))


@pytest.fixture(scope="module")
def lifter(tmp_path_factory) -> Path:
    return write_small_lifter(tmp_path_factory.mktemp("lifter") / "lifter.pth")


def run_infer(monkeypatch, capsys, tmp_path: Path, video: Path, lifter: Path, path: str) -> tuple[int, str, Path]:
    """`posemamba infer VIDEO` with its videos rendered -> (exit code, stderr on one line, result folder)."""
    if path == "keypoints":
        from posemamba_cli.pose2d import write_keypoints_npz

        figure = figure_tracks(1)  # frame 0 only: fits every video, whatever its length
        stages = ["--keypoints", str(write_keypoints_npz(tmp_path / "kp.npz", figure.keypoints[0],
                                                          figure.scores[0]))]  # fmt: skip
    else:
        stand_in = tmp_path / "stand_in.pt"
        stand_in.write_bytes(b"")  # the loaders are replaced: the files only have to exist
        monkeypatch.setattr("posemamba_cli.pipeline.models.load_detector", lambda *a, **k: box_detector)
        monkeypatch.setattr("posemamba_cli.pipeline.models.load_pose2d", lambda *a, **k: FigurePose2D())
        stages = ["--detector", str(stand_in), "--pose2d", str(stand_in)]
    out = tmp_path / "out"
    code, _, err = run_cli(monkeypatch, capsys, str(video), "-o", str(out), "--lifter", str(lifter), "--device", "cpu",
                           *stages)  # fmt: skip
    assert "Traceback" not in err, err
    return code, " ".join(err.split()), out / f"{video.stem}_posemamba"


def check_result(folder: Path, n_frames: int, size: tuple[int, int]) -> None:
    """One row per decoded frame, strictly increasing times, and every rendered video at that count."""
    doc = json.loads((folder / "pose3d.json").read_text())
    times = [f["time_s"] for f in doc["frames"]]
    assert doc["n_frames"] == len(times) == n_frames and np.all(np.diff(times) > 0)
    assert (doc["width"], doc["height"]) == size
    overlay = probe_video(folder / "overlay.mp4")
    assert overlay.n_frames == n_frames and (overlay.width, overlay.height) == size
    assert np.all(np.diff(overlay.frame_times) > 0)
    for name in ("skeleton3d.mp4", "side_by_side.mp4"):
        assert probe_video(folder / name).n_frames == n_frames


@pytest.mark.parametrize("name", ["image.png", "image.jpg", "png_named.mp4", "raw.h264"])
def test_headers_without_a_frame_count_are_decoded(inputs, name) -> None:
    n = decoded_frames(inputs[name])
    header_only = probe_video(inputs[name], count_frames=False)  # what the detector path starts from
    assert header_only.frame_total is None and (header_only.width, header_only.height) == (64, 48)
    info = probe_video(inputs[name])
    assert info.n_frames == info.frame_total == n == (1 if "image" in name or "png" in name else 12)
    assert info.decode_warning is None


@pytest.mark.parametrize("name", ["image.png", "png_named.mp4", "raw.h264"])
@pytest.mark.parametrize("path", ["keypoints", "detector"])
def test_images_and_raw_streams_through_the_cli(inputs, lifter, tmp_path, monkeypatch, capsys, name, path) -> None:
    code, err, folder = run_infer(monkeypatch, capsys, tmp_path, inputs[name], lifter, path)
    assert code == 0, err
    check_result(folder, decoded_frames(inputs[name]), (64, 48))
    # an RGB picture (colorspace gbr) is written as BT.709 YUV, tagged so
    assert probe_video(folder / "overlay.mp4").color.get("colorspace") == ("bt709" if "png" in name else None)


def test_a_size_change_is_scaled_to_the_first_frame(inputs) -> None:
    reader = FrameReader(inputs["size_change.h264"])
    frames = list(reader)
    assert len(frames) == 20 and {f.shape for f in frames} == {(48, 64, 3)}
    assert reader.warning and "frame 10 from 64x48 to 32x24" in reader.warning
    small = list(FrameReader(inputs["small.h264"]))[0].astype(int)  # the same picture, scaled back down
    scaled = frames[10][::2, ::2].astype(int)
    assert np.abs(scaled.mean((0, 1)) - small.mean((0, 1))).max() < 8


def test_timestamps_going_back_are_made_increasing(inputs) -> None:
    info = probe_video(inputs["joined.ts"])
    assert info.n_frames == 20 and np.all(np.diff(info.frame_times) > 0)
    np.testing.assert_allclose(info.frame_times, np.arange(20) / 30, atol=1e-3)  # the second part follows on
    assert info.decode_warning and "timestamps go back or repeat at frame 10" in info.decode_warning


@pytest.mark.parametrize(
    ("name", "frames", "warning"),
    [("size_change.h264", 20, "frame size changes at frame 10"), ("joined.ts", 20, "timestamps go back"),
     ("timescale0.mp4", 1, "only 1 of the 15 frames")],
)  # fmt: skip
@pytest.mark.parametrize("path", ["keypoints", "detector"])
def test_repaired_inputs_through_the_cli(inputs, lifter, tmp_path, monkeypatch, capsys, name, frames, warning,
                                         path) -> None:  # fmt: skip
    code, err, folder = run_infer(monkeypatch, capsys, tmp_path, inputs[name], lifter, path)
    assert code == 0, err
    assert f"warning: {inputs[name]}: " in err and warning in err
    check_result(folder, frames, (64, 48))


def test_frames_the_header_announces_but_never_decode_are_reported(inputs, tmp_path) -> None:
    import av

    with av.open(str(inputs["timescale0.mp4"])) as c:
        assert c.streams.video[0].frames == 15  # the header's count
    info = probe_video(inputs["timescale0.mp4"])
    assert info.n_frames == decoded_frames(inputs["timescale0.mp4"]) == 1
    assert "only 1 of the 15 frames" in info.decode_warning
    assert probe_video(inputs["whole.mp4"]).decode_warning is None
    # an mp4 missing its first key frame (a copy cut between key frames without an edit list)
    clipped = tmp_path / "no_key_frame.mp4"
    with av.open(str(inputs["keyed.mp4"])) as src, av.open(str(clipped), "w") as dst:
        stream = dst.add_stream_from_template(src.streams.video[0])
        for i, packet in enumerate(src.demux(src.streams.video[0])):
            if packet.size and i > 0:
                packet.stream = stream
                dst.mux(packet)
    info = probe_video(clipped)
    assert info.n_frames == decoded_frames(clipped) == 3 and "only 3 of the 14 frames" in info.decode_warning


def test_writer_times_that_go_back(tmp_path) -> None:
    times = np.array([0.0, 0.1, 0.05, 0.3, 0.3, 0.4])
    with VideoWriter(tmp_path / "w.mp4", 64, 48, 10.0, times=times) as writer:
        for _ in times:
            writer.write(np.zeros((48, 64, 3), np.uint8))
    written = probe_video(tmp_path / "w.mp4")
    assert written.n_frames == len(times) and np.all(np.diff(written.frame_times) > 0)


def test_progress_total_is_known_or_open(inputs, tmp_path) -> None:
    """A bar's total is the decoded count or none at all: never the header's estimate (the edit-list clip's
    header counts the packets the edit list hides)."""
    from posemamba_cli.pipeline import InferConfig, infer_video
    from posemamba_cli.pipeline.progress import make_progress

    edited = tmp_path / "edited.mp4"
    ffmpeg(*SRC, "-frames:v", "30", "-g", "30", *H264, str(tmp_path / "keyed.mp4"))
    ffmpeg("-ss", "0.5", "-i", str(tmp_path / "keyed.mp4"), "-c", "copy", str(edited))
    n = decoded_frames(edited)
    assert probe_video(edited, count_frames=False).n_frames != n  # the header's estimate is wrong here
    for concurrent in (True, False):
        with make_progress(disable=True) as progress:
            infer_video(edited, tmp_path / f"out{concurrent}", EchoLifter(), detector=box_detector,
                        pose2d=FigurePose2D(), progress=progress,
                        config=InferConfig(flip=False, sequential=not concurrent))  # fmt: skip
        frame_tasks = [t for t in progress.tasks if not t.description.startswith("lift")]
        assert frame_tasks and all(t.completed == n and t.total in (None, n) for t in frame_tasks)


def test_folders_take_images_and_raw_streams(inputs, tmp_path) -> None:
    from posemamba_cli.pipeline.per_video import collect_videos

    for name in ("image.png", "image.jpg", "raw.h264", "joined.ts"):
        (tmp_path / name).write_bytes(inputs[name].read_bytes())
    (tmp_path / "notes.txt").write_text("not a video")
    assert [p.name for p in collect_videos([tmp_path])] == ["image.jpg", "image.png", "joined.ts", "raw.h264"]


def test_no_import_cycle_among_the_video_modules() -> None:
    """video/probe completes headers by decoding through video/reader, which needs only video/container
    (issue 22: the probe <-> reader cycle). Every import counts, lazy ones inside functions too."""
    import ast

    import posemamba_cli.video as package

    folder = Path(package.__file__).parent
    imports: dict[str, set[str]] = {}
    for file in folder.glob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(file.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
            elif isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
        prefix = "posemamba_cli.video."
        imports[file.stem] = {n[len(prefix):] for n in names if n.startswith(prefix)}
    assert "container" in imports["reader"] and "reader" in imports["probe"]  # the graph is read

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(m == goal or (m not in seen and reaches(m, goal, seen | {m})) for m in imports.get(start, ()))

    assert [m for m in imports if m != "__init__" and reaches(m, m, set())] == []


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
