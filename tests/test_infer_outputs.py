"""Result folders: nothing the tool did not write is ever deleted or replaced (issue 10, item 1)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from helpers.infer import TruthDetector, TruthPose2D, run_cli, write_clip_keypoints

from posemamba_cli.video.synthetic import SyntheticClip

N_FRAMES = 24


@pytest.fixture(scope="module")
def keypoint_file(clip: SyntheticClip, tmp_path_factory) -> Path:
    return write_clip_keypoints(tmp_path_factory.mktemp("kp") / "walk_2d.npz", clip)


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_the_data_loss_commands_keep_every_file(monkeypatch, capsys, tmp_path, clip, lifter_ckpt, keypoint_file):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "demo").mkdir()
    shutil.copy(clip.path, tmp_path / "demo" / "demo.mp4")
    (tmp_path / "demo" / "notes.txt").write_text("mine")
    shutil.copy(clip.path, tmp_path / "src.mp4")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "main.py").write_text("print('mine')\n")
    before = snapshot(tmp_path)
    common = ["--keypoints", str(keypoint_file), "--lifter", str(lifter_ckpt), "--device", "cpu", "--no-render"]

    # `posemamba infer demo/demo.mp4 -o .` and `posemamba infer src.mp4 -o .`
    for video in ("demo/demo.mp4", "src.mp4"):
        code, _, err = run_cli(monkeypatch, capsys, video, "-o", ".", *common)
        assert code == 0, err
    after = snapshot(tmp_path)
    assert {k: after[k] for k in before} == before  # every pre-existing file, byte for byte
    for name in ("demo_posemamba", "src_posemamba"):
        assert (tmp_path / name / "pose3d.npz").is_file() and (tmp_path / name / "posemamba_manifest.json").is_file()

    # a re-run keeps the result (skipped, exit 0); --overwrite replaces it
    stamp = (tmp_path / "src_posemamba" / "pose3d.json").stat().st_mtime_ns
    code, _, err = run_cli(monkeypatch, capsys, "src.mp4", "-o", ".", *common)
    assert code == 0 and "skipped" in err and "--overwrite" in err
    assert (tmp_path / "src_posemamba" / "pose3d.json").stat().st_mtime_ns == stamp
    code, _, err = run_cli(monkeypatch, capsys, "src.mp4", "-o", ".", *common, "--overwrite")
    assert code == 0, err
    assert (tmp_path / "src_posemamba" / "pose3d.json").stat().st_mtime_ns != stamp

    # a file the user put into a result folder blocks --overwrite
    (tmp_path / "src_posemamba" / "my_notes.txt").write_text("mine")
    code, _, err = run_cli(monkeypatch, capsys, "src.mp4", "-o", ".", *common, "--overwrite")
    assert code == 2 and "did not write" in err and "my_notes.txt" in err
    assert (tmp_path / "src_posemamba" / "my_notes.txt").read_text() == "mine"

    # a folder of the result's name that posemamba did not write is never touched, even with --overwrite
    shutil.copy(clip.path, tmp_path / "other.mp4")
    (tmp_path / "other_posemamba").mkdir()
    (tmp_path / "other_posemamba" / "pose3d.npz").write_bytes(b"user data")
    code, _, err = run_cli(monkeypatch, capsys, "other.mp4", "-o", ".", *common, "--overwrite")
    assert code == 2 and "not written by posemamba" in err and len(err.strip().splitlines()) == 1
    assert (tmp_path / "other_posemamba" / "pose3d.npz").read_bytes() == b"user data"

    # an input inside the folder a result would replace is refused before any work
    inside = tmp_path / "res" / "inner_posemamba"
    inside.mkdir(parents=True)
    shutil.copy(clip.path, inside / "inner.mp4")
    code, _, err = run_cli(monkeypatch, capsys, str(inside / "inner.mp4"), "-o", "res", *common, "--overwrite")
    assert code == 2 and "inside the result folder" in err
    assert (inside / "inner.mp4").is_file()
    assert not list(tmp_path.glob("**/.*.part")) and not list(tmp_path.glob("**/.*.old"))


def test_equal_stems_get_their_own_folders(monkeypatch, capsys, tmp_path, clip, lifter_ckpt):
    import posemamba_cli
    from posemamba_cli.pipeline import is_finished, plan_outputs

    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        shutil.copy(clip.path, tmp_path / sub / "clip.mp4")
    stand_in = tmp_path / "stand_in.pt"
    stand_in.write_bytes(b"")  # loaders are replaced below; the files only have to exist
    monkeypatch.setattr("posemamba_cli.pipeline.models.load_detector", lambda *a, **k: TruthDetector(clip))
    monkeypatch.setattr("posemamba_cli.pipeline.models.load_pose2d", lambda *a, **k: TruthPose2D(clip))
    videos = [tmp_path / "a" / "clip.mp4", tmp_path / "b" / "clip.mp4"]
    results = posemamba_cli.infer(videos, tmp_path / "out", lifter=str(lifter_ckpt), detector=str(stand_in),
                                  pose2d=str(stand_in), device="cpu", render=False, quiet=True)  # fmt: skip
    assert [r.status for r in results] == ["done", "done"]
    folders = [r.output_dir for r in results]
    assert folders == [p.output_dir for p in plan_outputs(videos, tmp_path / "out")]
    assert folders[0] != folders[1] and all(is_finished(f) for f in folders)
    again = posemamba_cli.infer(videos, tmp_path / "out", lifter=str(lifter_ckpt), detector=str(stand_in),
                                pose2d=str(stand_in), device="cpu", render=False, quiet=True)  # fmt: skip
    assert [r.status for r in again] == ["skipped", "skipped"] and [r.n_frames for r in again] == [N_FRAMES] * 2


@pytest.mark.parametrize(
    ("option", "expected"),
    [(["--det-conf", "2"], "--det-conf"), (["--device", "mps"], "mps"), (["--device", "tpu"], "--device"),
     (["--batch-size", "0"], "--batch-size"), (["--device", "cuda:x"], "cuda")],
)  # fmt: skip
def test_bad_option_values_are_one_line(monkeypatch, capsys, tmp_path, clip, option, expected) -> None:
    if option == ["--device", "mps"] and torch.backends.mps.is_available():
        pytest.skip("this machine has MPS")
    code, _, err = run_cli(monkeypatch, capsys, str(clip.path), "-o", str(tmp_path / "o"), *option)
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and expected in lines[0] and "Traceback" not in err, err
    assert not (tmp_path / "o").exists()


def test_missing_models_are_listed_in_one_message(monkeypatch, capsys, tmp_path, clip) -> None:
    from posemamba_cli.hub import load_registry
    from posemamba_cli.pose2d.choice import CPU_DEFAULT  # the 2D model `auto` picks on the CPU

    registry = load_registry()
    files = [registry.get(n).file for n in ("posemamba-b", CPU_DEFAULT, "yolo11n")]
    weights = tmp_path / "w"
    args = [str(clip.path), "-o", str(tmp_path / "o"), "--weights-dir", str(weights), "--device", "cpu"]
    code, _, err = run_cli(monkeypatch, capsys, *args, "--offline")
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1, err
    text = " ".join(err.split())  # rich may wrap nothing here, but be safe
    assert "3 model file(s) missing" in text and all(f in text for f in files)
    assert f"posemamba download-weights posemamba-b {CPU_DEFAULT} yolo11n" in text

    # online, but every download fails (no network): the same complete list, with the reason
    from posemamba_cli.errors import PoseMambaError

    def no_network(entry, folder, **kwargs):
        raise PoseMambaError(f"{entry.name}: cannot reach the download server (Temporary failure in name resolution)")

    monkeypatch.setattr("posemamba_cli.hub.fetch_entry", no_network)
    code, _, err = run_cli(monkeypatch, capsys, *args)
    text = " ".join(err.split())
    assert code == 2 and "could not be downloaded" in text and "name resolution" in text
    assert all(f in text for f in files) and str(weights) in text
    assert not (tmp_path / "o").exists()


def test_one_failing_video_does_not_stop_the_others(monkeypatch, tmp_path, clip, lifter_ckpt) -> None:
    import posemamba_cli

    bad = tmp_path / "broken.mp4"
    bad.write_text("not a video")
    stand_in = tmp_path / "stand_in.pt"
    stand_in.write_bytes(b"")
    monkeypatch.setattr("posemamba_cli.pipeline.models.load_detector", lambda *a, **k: TruthDetector(clip))
    monkeypatch.setattr("posemamba_cli.pipeline.models.load_pose2d", lambda *a, **k: TruthPose2D(clip))
    results = posemamba_cli.infer([bad, clip.path], tmp_path / "out", lifter=str(lifter_ckpt), detector=str(stand_in),
                                  pose2d=str(stand_in), device="cpu", render=False, quiet=True)  # fmt: skip
    assert [r.status for r in results] == ["failed", "done"]
    assert "not a video" in results[0].error and not results[0].output_dir.exists()
    assert (results[1].output_dir / "pose3d.npz").is_file()
