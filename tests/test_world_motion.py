"""World motion (issue 19, items 1-5): camera, root path, floor and world frame, contacts, camera test, outputs."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from helpers.infer import run_cli
from helpers.walker import TiltedCamera, walk

import posemamba_cli
from posemamba_cli.lift import coco_to_h36m, normalize_screen
from posemamba_cli.video.synthetic import body_motion
from posemamba_cli.world import fit_world_motion, resolve_camera, smooth_path, solve_root_trajectory
from posemamba_cli.world.camera_motion import detect_camera_motion

DEMO = Path(__file__).resolve().parents[1] / "demo_videos"


def _moving_person(n: int, width: int, height: int, focal: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact pinhole 2D (T, 17, 2), root-relative 3D (T, 17, 3) and root path (T, 3) of a walker crossing."""
    h36m, _ = body_motion(n)
    rel = h36m - h36m[:, :1]
    t = np.linspace(0, 1, n)
    root = np.stack([-900 + 1800 * t, 150 + 40 * np.sin(6 * t), 3500 + 2500 * t], 1)
    cam = rel + root[:, None]
    k = focal * cam[..., :2] / cam[..., 2:] + np.array([width / 2, height / 2])
    return k, rel, root


@pytest.mark.parametrize("focal", [None, 900.0])
def test_root_path_is_exact_on_exact_inputs(focal: float | None) -> None:
    width, height = 1280, 720
    k, rel, root = _moving_person(60, width, height, np.hypot(width, height) if focal is None else focal)
    scores = np.random.default_rng(0).uniform(0.5, 1.0, (60, 17))
    got = posemamba_cli.solve_root_trajectory(k, scores, rel, (width, height), focal)  # the library call
    np.testing.assert_allclose(got, root, atol=1e-6)


def test_root_path_ignores_occluded_joints_and_says_where_it_cannot_solve() -> None:
    rng = np.random.default_rng(1)
    k, rel, root = _moving_person(80, 640, 480, 700.0)
    scores = np.ones((80, 17))
    hidden = rng.random((80, 17)) < 0.25  # a quarter of the joints occluded: score 0, 2D and 3D rubbish
    scores[hidden] = 0.0
    k[hidden] = rng.uniform(-1e4, 1e4, (hidden.sum(), 2))
    rel = rel.copy()
    rel[hidden] = rng.uniform(-1e4, 1e4, (hidden.sum(), 3))
    scores[5, 3:] = 0.0  # frame 5: only three confident joints
    got = solve_root_trajectory(k, scores, rel, (640, 480), 700.0)
    assert np.isnan(got[5]).all() and np.isfinite(np.delete(got, 5, 0)).all()
    np.testing.assert_allclose(np.delete(got, 5, 0), np.delete(root, 5, 0), atol=1e-6)


def test_root_path_error_with_2px_noise_is_measured() -> None:
    """Reported figure (not a timing): mean root error with 2 px Gaussian noise, raw and filtered."""
    cam = TiltedCamera(np.array([0.0, -6000.0, 1400.0]), 8.0, np.hypot(1280, 720), 1280, 720)
    w = walk(150)
    joints = cam.to_camera(w.joints_world)
    k, rel = cam.project(joints), joints - joints[:, :1]
    rng = np.random.default_rng(2)
    raw = solve_root_trajectory(k + rng.normal(0, 2, k.shape), np.ones((150, 17)), rel, (1280, 720))
    smooth = smooth_path(raw, np.ones(150), w.times, 0.1)
    err_raw = np.linalg.norm(raw - joints[:, 0], axis=-1).mean()
    err = np.linalg.norm(smooth - joints[:, 0], axis=-1).mean()
    depth = joints[:, 0, 2].mean()
    print(f"\nroot error with 2 px noise at {depth / 1000:.1f} m mean depth (1280x720, diagonal focal): "
          f"{err_raw:.0f} mm per frame, {err:.0f} mm filtered (sigma 0.1 s)")  # fmt: skip
    assert err < err_raw < 0.02 * depth  # noise enters through the depth: about a per cent of it


def test_path_filter_bridges_gaps_inside_the_track_only() -> None:
    t = np.arange(100) / 30.0
    line = np.stack([100 * t, 0 * t, 4000 + 0 * t], 1)  # a straight path at 100 mm/s
    path, weights = line.copy(), np.ones(100)
    weights[40:60], path[40:60] = 0.0, 1e6  # a gap: no measurement there (the rows may hold anything)
    span = np.zeros(100, bool)
    span[10:90] = True  # the track: frames 10..89
    out = smooth_path(path, weights, t, 0.1, span)
    assert np.isnan(out[:10]).all() and np.isnan(out[90:]).all()  # nothing invented past the track's ends
    np.testing.assert_allclose(out[10:90], line[10:90], atol=1e-6)  # a straight path kept, the gap bridged
    noisy = line + np.random.default_rng(3).normal(0, 30, line.shape)
    assert (smooth_path(noisy, np.ones(100), t, 0.1) - line).std() < 0.6 * 30  # the jitter goes down
    low = np.ones(100)
    low[50] = 1e-3  # a barely confident outlier barely moves the path
    spike = line.copy()
    spike[50, 2] += 3000
    assert abs(smooth_path(spike, low, t, 0.1)[50, 2] - 4000) < 10


def test_world_frame_of_two_walkers_is_exact_on_exact_inputs() -> None:
    """Two people seen by a camera 1.4 m up, pitched 8 degrees down: one floor, one frame, contacts, skate."""
    cam = TiltedCamera(np.array([0.0, -6000.0, 1400.0]), 8.0, 1000.0, 1280, 720)
    walks = [walk(120, start=(-800.0, 0.0)), walk(120, start=(1500.0, 2000.0), heading_deg=60.0)]
    joints = np.stack([cam.to_camera(w.joints_world) for w in walks])
    k = cam.project(joints)
    world = fit_world_motion(k, np.ones((2, 120, 17)), np.ones((2, 120), bool), joints - joints[:, :, :1],
                             walks[0].times, resolve_camera(1280, 720, focal_px=1000.0))  # fmt: skip
    # the documented frame: origin on the floor below the camera, y its view along the floor, x its right
    truth = np.stack([w.joints_world for w in walks]) - np.array([0.0, -6000.0, 0.0])
    np.testing.assert_allclose(world.joints_world_mm, truth, atol=1e-3)
    np.testing.assert_allclose(world.world_from_camera[:3, 3], [0, 0, 1400], atol=1e-3)  # the camera's height
    assert world.floor.fitted_tilt
    contact = np.stack([w.contact for w in walks])
    assert (world.foot_contact == contact).mean() > 0.9
    assert not (world.foot_contact & ~contact).any()  # a swinging foot is never called planted
    np.testing.assert_allclose(world.foot_skate_mm, 0.0, atol=1e-3)  # planted feet do not slide
    sliding = joints.copy()
    sliding[:, :, [3, 6]] += np.array([1.0, 0.0, 0.0]) * np.arange(120)[None, :, None, None] * 3  # feet drift 90 mm/s
    skid = fit_world_motion(cam.project(sliding), np.ones((2, 120, 17)), np.ones((2, 120), bool),
                            sliding - sliding[:, :, :1], walks[0].times, resolve_camera(1280, 720, 1000.0))  # fmt: skip
    assert (skid.foot_skate_mm > 30).all()  # 18 stance frames x 3 mm


class DemoOracle:
    """A stand-in lifter that knows the demo clip: each input frame's true root-relative 3D (normalised)."""

    num_frame = 27

    def __init__(self, gt2d: np.ndarray, gt3d: np.ndarray) -> None:
        self.gt2d, self.gt3d = torch.tensor(gt2d), torch.tensor(gt3d)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        d = ((x.double()[:, :, None] - self.gt2d[None, None]) ** 2).sum((-1, -2))
        return self.gt3d[d.argmin(-1)].float()


@pytest.mark.parametrize("focal", [None, "truth"])
def test_demo_clip_feet_rest_on_the_floor(tmp_path: Path, focal) -> None:
    if not (DEMO / "walk.mp4").is_file():
        pytest.skip("demo_videos/walk.mp4 not generated (python demo_videos/make_demo.py)")
    from posemamba_cli.pipeline import InferConfig, infer_video, load_keypoints

    gt = np.load(DEMO / "walk_gt.npz")
    width, height, f, distance = int(gt["width"]), int(gt["height"]), float(gt["focal_px"]), float(
        gt["pelvis_distance_mm"])  # fmt: skip
    truth = gt["pose3d_h36m_camera_mm"].astype(np.float64)  # pelvis at the origin, the camera 95 mm above it
    n = len(truth)
    k2d, _ = coco_to_h36m(gt["keypoints2d_coco"], np.ones((n, 17)))
    rel_px = (truth - truth[:, :1]) * f / distance  # what a perfect lifter gives: pixel units at the root's depth
    lifter = DemoOracle(normalize_screen(k2d, width, height), rel_px / width * 2)
    config = InferConfig(flip=False, render=False, focal_px=None if focal is None else f)
    result = infer_video(DEMO / "walk.mp4", tmp_path, lifter, keypoints=lambda info: load_keypoints(
        DEMO / "walk_keypoints.npz", info.n_frames, "main", (info.width, info.height)), config=config)  # fmt: skip
    out = np.load(result.output_dir / "pose3d.npz")
    assert str(out["focal_source"]) == ("image diagonal" if focal is None else "--focal-px")
    assert float(out["focal_px"]) == pytest.approx(np.hypot(width, height) if focal is None else f)
    root = out["root_camera_mm"][0]
    expected = np.array([0.0, -95.0, distance]) * (1 if focal else np.hypot(width, height) / f)  # depth ~ focal
    np.testing.assert_allclose(root.mean(0), expected, rtol=0.02, atol=10)
    feet_true = 900.0 - truth[:, [6, 3], 1]  # height of the true ankles above their resting level
    feet = out["joints_world_mm"][0][:, [6, 3], 2]
    down = feet_true < 15.0
    assert down.sum() > 20 and np.abs(feet[down]).max() < 40.0  # feet on z = 0 within a few cm when down
    head = out["joints_world_mm"][0][:, 10, 2]
    assert np.all(np.abs(head - (900 + 710)) < 80)  # z is up: the head 1.6 m above the ankles
    doc = json.loads((result.output_dir / "pose3d.json").read_text())
    person = doc["frames"][0]["people"][0]
    assert len(person["joints_world_mm"]) == 17 and len(person["foot_contact"]) == 2
    assert doc["focal_source"] == str(out["focal_source"]) and np.array(doc["world_from_camera"]).shape == (4, 4)
    manifest = json.loads((result.output_dir / "posemamba_manifest.json").read_text())
    assert manifest["focal_px"] == pytest.approx(float(out["focal_px"]))
    assert list(manifest["foot_skate_mm"]) == [str(int(out["track_ids"][0]))]  # per person, by track id
    assert manifest["camera_motion"]["moving"] is None  # a flat background: the test cannot tell


def test_height_sets_the_size_and_with_it_the_depth(tmp_path: Path) -> None:
    from posemamba_cli.lift.track import lift_track
    from posemamba_cli.lift.world import TYPICAL_HEIGHT_MM

    h36m, face = body_motion(30)
    coco = np.concatenate([face, h36m], 1)[:, :17, :2] * 0.1 + 300  # any 2D: the scale ratio is what matters
    lifter = DemoOracle(np.zeros((1, 17, 2)), np.tile(normalize_screen(h36m[:1] - h36m[:1, :1], 640, 480), (1, 1, 1)))
    typical = lift_track(lifter, coco, np.ones((30, 17)), 640, 480, 27, flip=False)
    tall = lift_track(lifter, coco, np.ones((30, 17)), 640, 480, 27, flip=False, height_mm=1900.0)
    assert tall.mm_per_px / typical.mm_per_px == pytest.approx(1900.0 / TYPICAL_HEIGHT_MM)
    k, rel, root = _moving_person(10, 640, 480, 800.0)
    deeper = solve_root_trajectory(k, np.ones((10, 17)), rel * 1.1, (640, 480), 800.0)
    np.testing.assert_allclose(deeper, root * 1.1, rtol=1e-9)  # depth scales linearly with the body size


def _textured(seed: int, shape: tuple[int, int]) -> np.ndarray:
    noise = (np.random.default_rng(seed).random(shape) * 255).astype(np.uint8)
    return cv2.normalize(cv2.GaussianBlur(noise, (0, 0), 2.5), None, 0, 255, cv2.NORM_MINMAX)


@pytest.mark.parametrize("pan_px, verdict", [(0, False), (12, True)])
def test_camera_motion_from_the_background(tmp_path: Path, pan_px: int, verdict: bool) -> None:
    """A figure walks across a textured background that stays (static camera) or pans (moving camera)."""
    from posemamba_cli.video import VideoWriter, probe_video
    from posemamba_cli.video.sample import sample_frames

    scene = cv2.cvtColor(_textured(4, (240, 320 + 40 * 12)), cv2.COLOR_GRAY2BGR)
    path, boxes = tmp_path / "pan.mp4", []
    with VideoWriter(path, 320, 240, 10.0) as writer:
        for t in range(40):
            frame = scene[:, pan_px * t : pan_px * t + 320].copy()
            x = 20 + 6 * t
            frame[60:220, x : x + 40] = (40, 40, 200)  # the person, moving
            boxes.append(np.array([[x, 60.0, x + 40, 220.0]]))
            writer.write(frame)
    info = probe_video(path)
    samples = sample_frames(info, count=4)
    assert len(samples) >= 2 and samples[0][0] == 0 and samples[-1][0] == 39
    motion = detect_camera_motion(samples, [boxes[i] * img.shape[1] / 320 for i, img in samples])
    assert motion.moving is verdict and (motion.warning() is not None) == verdict
    flat = [(i, np.full((120, 160), 100, np.uint8)) for i in range(3)]
    assert detect_camera_motion(flat, [np.zeros((0, 4))] * 3).moving is None  # no texture: cannot tell


@pytest.mark.parametrize("option, expected", [
    (["--focal-px", "-1"], "--focal-px"), (["--fov", "0"], "--fov"), (["--fov", "200"], "--fov"),
    (["--height", "0"], "--height"), (["--height", "180"], "--height"), (["--smooth", "-1"], "--smooth"),
    (["--focal-px", "900", "--fov", "60"], "not both"),
])  # fmt: skip
def test_bad_world_options_are_one_line(monkeypatch, capsys, tmp_path, option, expected) -> None:
    if not (DEMO / "walk.mp4").is_file():
        pytest.skip("demo_videos/walk.mp4 not generated")
    code, _, err = run_cli(monkeypatch, capsys, str(DEMO / "walk.mp4"), "-o", str(tmp_path / "o"), *option)
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and expected in lines[0] and "Traceback" not in err, err
    assert not (tmp_path / "o").exists()


def test_cli_world_options_reach_the_outputs(monkeypatch, capsys, tmp_path, lifter_ckpt) -> None:
    if not (DEMO / "walk.mp4").is_file():
        pytest.skip("demo_videos/walk.mp4 not generated")
    code, stdout, err = run_cli(monkeypatch, capsys, str(DEMO / "walk.mp4"), "--keypoints",
                                str(DEMO / "walk_keypoints.npz"), "--lifter", str(lifter_ckpt), "--device", "cpu",
                                "-o", str(tmp_path), "--no-render", "--fov", "60", "--height", "1.6",
                                "--smooth", "0.2")  # fmt: skip
    assert code == 0, err
    out = np.load(tmp_path / "walk_posemamba" / "pose3d.npz")
    assert str(out["focal_source"]) == "--fov" and float(out["focal_px"]) == pytest.approx(160 / np.tan(np.pi / 6))
    assert float(out["path_smoothing_s"]) == 0.2
    assert "world motion" in stdout and "--fov" in stdout and "1.6 m" in stdout  # the summary says what was assumed
