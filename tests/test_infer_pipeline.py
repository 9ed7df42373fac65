"""`posemamba infer` end to end: injected detector and 2D stage, --keypoints with a real lifter, bad inputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers.infer import TruthDetector, TruthPose2D, run_cli, write_clip_keypoints

from posemamba_cli.errors import PoseMambaError
from posemamba_cli.pipeline import InferConfig, infer_video
from posemamba_cli.video import probe_video
from posemamba_cli.video.synthetic import SyntheticClip

N_FRAMES = 40
MISSED = range(10, 15)  # frames where the detector finds nobody


class PerFrameLifter:
    """Stand-in lifter: (x, y) -> (x, y, 0.5 x), per frame."""

    num_frame = 27

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, 0.5 * x[..., :1]], -1)


def test_video_runs_end_to_end_with_injected_stages(clip: SyntheticClip, tmp_path: Path) -> None:
    detector = TruthDetector(clip, MISSED)
    pose2d = TruthPose2D(clip)
    result = infer_video(clip.path, tmp_path / "out", PerFrameLifter(), detector, pose2d,
                         config=InferConfig(flip=False))
    folder = tmp_path / "out" / "walk_posemamba"
    assert result.output_dir == folder and result.n_frames == N_FRAMES and result.n_people == 1
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["keypoints_2d.npz", "pose3d.npz", "pose3d.json", "overlay.mp4", "skeleton3d.mp4", "side_by_side.mp4",
         "viewer.html", "posemamba_manifest.json"]
    )
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["walk_posemamba"]  # no staging folder left
    assert pose2d.calls == N_FRAMES - len(MISSED)
    for name in ("overlay.mp4", "skeleton3d.mp4", "side_by_side.mp4"):
        info = probe_video(folder / name)
        assert info.n_frames == N_FRAMES and info.fps == 30.0, name  # frame-aligned, source rate
        assert info.audio_codec == "aac", name  # the source's audio is kept
    assert probe_video(folder / "overlay.mp4").width == 64

    doc = json.loads((folder / "pose3d.json").read_text())
    assert doc["joint_order"] == "h36m17" and len(doc["joint_names"]) == 17 and "pose3d_world_mm" in doc["units"]
    fields = set(doc["frames"][0]) | set(doc["frames"][0]["people"][0])
    assert set(doc["units"]) <= fields and set(doc["flags"]) <= fields  # the units describe the JSON's own fields
    assert [f["frame"] for f in doc["frames"]] == list(range(N_FRAMES))
    flags = [f["people"][0]["interpolated"] for f in doc["frames"]]
    assert [t for t, f in enumerate(flags) if f] == list(MISSED)

    data = np.load(folder / "pose3d.npz")
    assert data["pose3d_camera_px"].shape == (1, N_FRAMES, 17, 3)
    k2d = data["keypoints_2d_h36m"][0]
    from posemamba_cli.lift import coco_to_h36m

    truth, _ = coco_to_h36m(clip.keypoints2d_coco, np.full((N_FRAMES, 17), 0.8))
    seen = [t for t in range(N_FRAMES) if t not in MISSED]
    np.testing.assert_allclose(k2d[seen], truth[seen], atol=1e-3)
    # missing frames are linear interpolations between the frames either side
    a, b = MISSED[0] - 1, MISSED[-1] + 1
    for t in MISSED:
        w = (t - a) / (b - a)
        np.testing.assert_allclose(k2d[t], (1 - w) * truth[a] + w * truth[b], atol=1e-3)
    # the stand-in lifter's known function, denormalised: root-relative pixels, z = 0.5 x
    cam = data["pose3d_camera_px"][0]
    rel = k2d - k2d[:, :1]
    np.testing.assert_allclose(cam[..., :2], rel, atol=1e-3)
    np.testing.assert_allclose(cam[..., 2], 0.5 * rel[..., 0], atol=1e-3)

    from posemamba_cli.pose2d import read_keypoint_file

    again = read_keypoint_file(folder / "keypoints_2d.npz")  # our 2D file is a valid --keypoints input
    assert sorted(again.frames) == seen and again.image_size == (64, 48)


def test_people_all_lifts_every_track(clip: SyntheticClip, tmp_path: Path) -> None:
    detector = TruthDetector(clip, MISSED, range(N_FRAMES))
    result = infer_video(clip.path, tmp_path, PerFrameLifter(), detector, TruthPose2D(clip),
                         config=InferConfig(people="all", render=False))  # fmt: skip
    assert result.n_people == 2
    data = np.load(result.output_dir / "pose3d.npz")
    assert data["pose3d_world_mm"].shape == (2, N_FRAMES, 17, 3)
    assert data["interpolated"][0].sum() == len(MISSED) and data["interpolated"][1].sum() == 0


def test_nobody_found_writes_nothing(clip: SyntheticClip, tmp_path: Path) -> None:
    nobody = lambda frame: (np.zeros((0, 4)), np.zeros(0))  # noqa: E731
    with pytest.raises(PoseMambaError, match="nobody"):
        infer_video(clip.path, tmp_path, PerFrameLifter(), nobody, TruthPose2D(clip))
    assert list(tmp_path.iterdir()) == []


# --- through the command line ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def keypoint_file(clip: SyntheticClip, tmp_path_factory) -> Path:
    frames = np.array([t for t in range(N_FRAMES) if t not in MISSED])
    return write_clip_keypoints(tmp_path_factory.mktemp("kp") / "walk_2d.npz", clip, frames)


def test_cli_keypoints_with_a_real_lifter(monkeypatch, capsys, clip, lifter_ckpt, keypoint_file, tmp_path) -> None:
    out = tmp_path / "results"
    code, stdout, err = run_cli(monkeypatch, capsys, str(clip.path), "--keypoints", str(keypoint_file),
                                "--lifter", str(lifter_ckpt), "--device", "cpu", "-o", str(out),
                                "--no-render")  # fmt: skip
    assert code == 0, err
    assert "walk" in stdout  # the summary table
    data = np.load(out / "walk_posemamba" / "pose3d.npz")
    cam = data["pose3d_camera_px"][0]
    assert cam.shape == (N_FRAMES, 17, 3) and np.isfinite(cam).all()
    assert data["interpolated"][0].tolist() == [t in MISSED for t in range(N_FRAMES)]
    # the CLI computes exactly what the library chain computes with the same model
    from posemamba_cli import load_lifter
    from posemamba_cli.lift.track import lift_track
    from posemamba_cli.pipeline import load_keypoints

    tracks = load_keypoints(keypoint_file, N_FRAMES).filled()
    pose = lift_track(load_lifter(lifter_ckpt), tracks.keypoints[0], tracks.scores[0], 64, 48, 27)
    np.testing.assert_allclose(cam, pose.camera_px, atol=1e-3)


def _one_line_error(code: int, err: str, expected: str) -> None:
    assert code == 2
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and expected in lines[0], err
    assert "Traceback" not in err


def test_cli_bad_inputs(monkeypatch, capsys, clip, lifter_ckpt, keypoint_file, tmp_path) -> None:
    out = tmp_path / "results"
    common = ["--keypoints", str(keypoint_file), "--lifter", str(lifter_ckpt), "--device", "cpu", "-o", str(out)]

    _one_line_error(*run_cli(monkeypatch, capsys, str(tmp_path / "missing.mp4"), *common)[::2], "no such file")
    text = tmp_path / "notes.mp4"
    text.write_text("hello\n")
    _one_line_error(*run_cli(monkeypatch, capsys, str(text), *common)[::2], "not a video")
    empty = tmp_path / "empty.y4m"
    empty.write_text("YUV4MPEG2 W64 H48 F30:1 Ip A1:1 C420jpeg\n")
    _one_line_error(*run_cli(monkeypatch, capsys, str(empty), *common)[::2], "no frames")
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    bad_out = common[:-1] + [str(blocker / "sub")]
    _one_line_error(*run_cli(monkeypatch, capsys, str(clip.path), *bad_out)[::2], "not writable")
    nobody = tmp_path / "nobody.json"
    nobody.write_text("[]")
    no_kp = ["--keypoints", str(nobody)] + common[2:]
    _one_line_error(*run_cli(monkeypatch, capsys, str(clip.path), *no_kp)[::2], "no person")
    # a checkpoint of the wrong size: one tensor of another shape than the rest imply
    blob = torch.load(lifter_ckpt, weights_only=True)
    key = next(k for k, v in blob["model"].items() if v.ndim == 2)
    blob["model"][key] = torch.zeros(blob["model"][key].shape[0] + 3, blob["model"][key].shape[1])
    wrong = tmp_path / "wrong.pth"
    torch.save(blob, wrong)
    wrong_args = common[:2] + ["--lifter", str(wrong)] + common[4:]
    code, _, err = run_cli(monkeypatch, capsys, str(clip.path), *wrong_args)
    _one_line_error(code, err, key)
    # nothing was written anywhere, not even the output folder
    assert not out.exists()


def test_demo_clip_matches_its_ground_truth() -> None:
    demo = Path(__file__).resolve().parents[1] / "demo_videos"
    if not (demo / "walk.mp4").is_file():
        pytest.skip("demo_videos/walk.mp4 not generated (python demo_videos/make_demo.py)")
    from posemamba_cli.pipeline import load_keypoints
    from posemamba_cli.video.synthetic import body_motion, coco_from_h36m, project

    info = probe_video(demo / "walk.mp4")
    gt = np.load(demo / "walk_gt.npz")
    n = len(gt["pose3d_h36m_camera_mm"])
    assert (info.n_frames, info.width, info.height, info.has_audio) == (n, int(gt["width"]), int(gt["height"]), True)
    assert sum(p.stat().st_size for p in demo.iterdir()) < 1_000_000
    h36m, face = body_motion(n, float(gt["fps"]))
    np.testing.assert_allclose(gt["pose3d_h36m_camera_mm"], h36m, atol=1e-3)  # regenerable exactly
    args = (float(gt["focal_px"]), float(gt["pelvis_distance_mm"]), info.width, info.height)
    np.testing.assert_allclose(gt["keypoints2d_h36m"], project(h36m, *args), atol=1e-3)
    coco = coco_from_h36m(project(h36m, *args), project(face, *args))
    np.testing.assert_allclose(gt["keypoints2d_coco"], coco, atol=1e-3)
    tracks = load_keypoints(demo / "walk_keypoints.npz", info.n_frames, video_size=(info.width, info.height))
    assert tracks.detected.all()
    np.testing.assert_allclose(tracks.keypoints[0], gt["keypoints2d_coco"], atol=1e-3)


def test_failure_while_writing_keeps_the_previous_results(clip: SyntheticClip, tmp_path: Path, monkeypatch) -> None:
    detector = TruthDetector(clip, MISSED)
    first = infer_video(clip.path, tmp_path, PerFrameLifter(), detector, TruthPose2D(clip),
                        config=InferConfig(render=False))  # fmt: skip
    before = {p.name: p.read_bytes() for p in first.output_dir.iterdir()}
    calls = [0]

    def broken_render(self, poses, interpolated=None, people=None, labels=None, trails=None):
        calls[0] += 1
        if calls[0] > 5:
            raise RuntimeError("disk full")
        return self.background.copy()

    monkeypatch.setattr("posemamba_cli.render.view3d.SkeletonView3D.render_world", broken_render)
    detector = TruthDetector(clip, MISSED)
    with pytest.raises(RuntimeError, match="disk full"):
        infer_video(clip.path, tmp_path, PerFrameLifter(), detector, TruthPose2D(clip), overwrite=True)
    assert [p.name for p in tmp_path.iterdir()] == ["walk_posemamba"]  # no staging folder left behind
    assert {p.name: p.read_bytes() for p in first.output_dir.iterdir()} == before


def test_inputs_files_and_folders(tmp_path: Path) -> None:
    from posemamba_cli.pipeline import collect_videos, plan_outputs

    for name in ("b.mp4", "a.mov", "a.mp4", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    videos = collect_videos([tmp_path, tmp_path / "b.mp4"])  # the same file twice counts once
    assert [v.name for v in videos] == ["a.mov", "a.mp4", "b.mp4"]
    names = [p.output_dir.name for p in plan_outputs(videos, tmp_path / "out")]
    assert names[2] == "b_posemamba" and len(set(names)) == 3
    assert all(n.startswith("a_") and n.endswith("_posemamba") for n in names[:2])
    assert names == [p.output_dir.name for p in plan_outputs(videos, tmp_path / "out")]  # deterministic
    with pytest.raises(PoseMambaError, match="no video files"):
        collect_videos([tmp_path / "empty"] if (tmp_path / "empty").mkdir() is None else [])
    with pytest.raises(PoseMambaError, match="no such file"):
        collect_videos([tmp_path / "nope.mp4"])


def test_batched_2d_stage_gives_the_same_rows(clip: SyntheticClip, tmp_path: Path) -> None:
    class Batched(TruthPose2D):
        batches: list[int] = []

        def predict_many(self, images, boxes):
            self.batches.append(len(images))
            return [self.predict(i, b) for i, b in zip(images, boxes)]

    outs = []
    for cls, name in ((TruthPose2D, "plain"), (Batched, "batched")):
        detector = TruthDetector(clip, MISSED)
        r = infer_video(clip.path, tmp_path / name, PerFrameLifter(), detector, cls(clip),
                        config=InferConfig(render=False))  # fmt: skip
        outs.append(np.load(r.output_dir / "keypoints_2d.npz")["people_keypoints"])
    np.testing.assert_array_equal(outs[0], outs[1])
    assert sum(Batched.batches) == N_FRAMES - len(MISSED) and max(Batched.batches) == 8
