"""BVH and glTF exports (issue 19, items 6 and 7): read back by independent readers, per-person files of a
result folder, the manifest, and the one-line refusals."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import bvhio
import numpy as np
import pygltflib
import pytest
from helpers.motion import REST_WORLD_MM, rigid_motion, umeyama
from scipy.spatial.transform import Rotation

from posemamba_cli import write_bvh
from posemamba_cli.export import export_result, write_glb
from posemamba_cli.export.rig import fit_rig, forward_kinematics, solve_rotations
from posemamba_cli.io.manifest import MANIFEST, read_manifest, write_manifest
from posemamba_cli.skeleton import H36M_JOINTS

# file (x, y, z) metres -> world (x, y, z) mm: the documented axes (file y up = world z, file z = world -y)
FILE_TO_WORLD = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]]) * 1000


def read_bvh_positions(path: Path) -> tuple[np.ndarray, bvhio.BvhContainer]:
    """(T, 17, 3) world mm of every joint by bvhio's own forward kinematics, and the parsed file."""
    container = bvhio.readAsBvh(str(path))
    root = bvhio.readAsHierarchy(str(path))
    joints = {j.Name: j for j, _, _ in root.layout()}
    out = np.zeros((container.FrameCount, 17, 3))
    for f in range(container.FrameCount):
        root.loadPose(f)
        out[f] = [np.array(joints[name].PositionWorld) for name in H36M_JOINTS]
    return out @ FILE_TO_WORLD.T, container


def test_bvh_read_back_reproduces_a_rigid_skeleton_moving_along_a_path(tmp_path):
    motion = rigid_motion(90)
    write_bvh(tmp_path / "walk.bvh", motion, 30.0)
    positions, container = read_bvh_positions(tmp_path / "walk.bvh")
    assert container.FrameCount == 90 and container.FrameTime == pytest.approx(1 / 30)
    assert [j.Name for j, _, _ in container.Root.layout()] == list(H36M_JOINTS)
    assert len(container.Root.Channels) == 6 and {len(j.Channels) for j, _, _ in container.Root.layout()[1:]} == {3}
    fitted = umeyama(positions.reshape(-1, 3), motion.reshape(-1, 3)).reshape(motion.shape)
    assert np.linalg.norm(fitted - motion, axis=-1).mean() < 10.0
    # and with no transform at all: the documented axes and units put every joint where it was
    assert np.linalg.norm(positions - motion, axis=-1).max() < 0.05
    assert np.ptp(positions[:, 0, :2], axis=0).min() > 500  # the root's channels carry the path


def test_bvh_bone_lengths_are_the_median_with_left_equal_to_right(tmp_path):
    motion = rigid_motion(40)
    noisy = motion + np.random.default_rng(1).normal(0, 15, motion.shape)  # a lifter's wobbling bones
    noisy[:, 2] += [0, 0, 60]  # the right knee's bones: one 60 mm longer thigh, one shorter shin than the left
    write_bvh(tmp_path / "noisy.bvh", noisy, 25.0)
    container = bvhio.readAsBvh(str(tmp_path / "noisy.bvh"))
    offsets = {j.Name: np.linalg.norm(np.array(j.Offset)) * 1000 for j, _, _ in container.Root.layout()}
    for left, right in [("left_knee", "right_knee"), ("left_ankle", "right_ankle"), ("left_elbow", "right_elbow")]:
        assert offsets[left] == pytest.approx(offsets[right], abs=0.01)
    thighs = [np.median(np.linalg.norm(noisy[:, k] - noisy[:, h], axis=-1)) for h, k in [(1, 2), (4, 5)]]
    assert offsets["right_knee"] == pytest.approx(np.mean(thighs), abs=0.01)
    positions, _ = read_bvh_positions(tmp_path / "noisy.bvh")
    assert np.linalg.norm(positions - noisy, axis=-1).mean() < 40  # still where the noisy positions say


def arm_over_the_top() -> np.ndarray:
    """(240, 17, 3): standing still, the left arm hanging, then raised sideways to straight up and lowered
    through the front: the straight-up direction is where the smallest rotation from hanging is undefined."""
    elevation = np.radians(np.r_[np.zeros(120), np.linspace(0, 180, 60), np.linspace(180, 0, 60)])
    azimuth = np.radians(np.r_[np.zeros(180), np.full(60, 90.0)])  # 0: out to the left (+x), 90: forward (-y)
    d = np.stack([np.sin(elevation) * np.cos(azimuth), -np.sin(elevation) * np.sin(azimuth), -np.cos(elevation)], -1)
    motion = np.repeat(REST_WORLD_MM[None], len(d), axis=0)
    motion[:, 12] = motion[:, 11] + 280 * d
    motion[:, 13] = motion[:, 12] + 250 * d
    return motion


def test_twist_never_flips_between_frames():
    motion = arm_over_the_top()  # the arm turns 3 degrees a frame
    rig = fit_rig(motion)
    local = solve_rotations(rig, motion)  # (T, 17, 3, 3)
    step = Rotation.from_matrix(np.einsum("tjik,tjil->tjkl", local[:-1], local[1:]).reshape(-1, 3, 3))
    per_frame = np.degrees(step.magnitude()).reshape(len(motion) - 1, 17)
    assert per_frame.max() < 10.0  # the smallest rotation from hanging would flip by 180 degrees at the top
    assert np.abs(forward_kinematics(rig, motion[:, 0], local) - motion).max() < 1e-6


def test_glb_keeps_every_frame_at_its_time_and_reproduces_the_joints(tmp_path):
    motion = rigid_motion(50)
    times = np.cumsum(np.r_[2.0, np.random.default_rng(2).uniform(0.02, 0.05, 49)])  # a variable frame rate
    write_glb(tmp_path / "walk.glb", motion, times)
    doc = pygltflib.GLTF2().load(str(tmp_path / "walk.glb"))
    blob = doc.binary_blob()

    def accessor(index: int, width: int) -> np.ndarray:
        a = doc.accessors[index]
        view = doc.bufferViews[a.bufferView]
        return np.frombuffer(blob, np.float32, a.count * width, view.byteOffset + (a.byteOffset or 0)).reshape(
            a.count, width
        )

    assert [n.name for n in doc.nodes] == list(H36M_JOINTS) and doc.skins[0].joints == list(range(17))
    (animation,) = doc.animations
    targets = {(c.target.node, c.target.path) for c in animation.channels}
    assert targets == {(0, "translation")} | {(j, "rotation") for j in range(17)}
    np.testing.assert_array_equal(accessor(animation.samplers[0].input, 1)[:, 0], times.astype(np.float32))
    # forward kinematics over the glTF nodes (file axes, metres), compared with the input (world mm)
    samplers = {(c.target.node, c.target.path): animation.samplers[c.sampler].output for c in animation.channels}
    root = accessor(samplers[(0, "translation")], 3)
    rotations = [Rotation.from_quat(accessor(samplers[(j, "rotation")], 4)) for j in range(17)]
    glob, positions = [], np.zeros((50, 17, 3))
    for j, node in enumerate(doc.nodes):
        parent = next((p for p, n in enumerate(doc.nodes) if j in (n.children or [])), None)
        if parent is None:
            glob.append(rotations[j])
            positions[:, j] = root
        else:
            glob.append(glob[parent] * rotations[j])
            positions[:, j] = positions[:, parent] + glob[parent].apply(node.translation)
    assert np.linalg.norm(positions @ FILE_TO_WORLD.T - motion, axis=-1).max() < 0.1


def make_result(folder: Path, *, world: bool = True, times: np.ndarray | None = None) -> dict:
    """A finished result folder with two people (track ids 3 and 7) on different spans; returns its arrays."""
    n = 60
    motion_a, motion_b = rigid_motion(n, seed=1), rigid_motion(n, seed=2) + [3000, 0, 0]
    joints = np.full((2, n, 17, 3), np.nan)
    joints[0, 5:50], joints[1, 20:] = motion_a[5:50], motion_b[20:]
    within = np.isfinite(joints).all(axis=(2, 3))
    arrays = {
        "track_ids": np.array([3, 7]), "time_s": np.arange(n) / 30.0 if times is None else times,
        "fps": np.float64(30.0), "within_track": within,
        "pose3d_world_mm": np.nan_to_num(joints - joints[:, :, :1]).astype(np.float32),
    }  # fmt: skip
    if world:
        arrays["joints_world_mm"] = joints.astype(np.float32)
    folder.mkdir(parents=True)
    np.savez_compressed(folder / "pose3d.npz", **arrays)
    write_manifest(folder, folder / "walk.mp4", ["pose3d.npz"], n, 2)
    return arrays


def test_export_result_writes_one_file_per_person_and_format_and_lists_them(tmp_path):
    folder = tmp_path / "walk_posemamba"
    arrays = make_result(folder)
    manifest = json.loads((folder / MANIFEST).read_text())
    manifest["foot_skate_mm"] = [1.0, 2.0]  # what other parts of the tool keep there survives
    (folder / MANIFEST).write_text(json.dumps(manifest))
    names = export_result(folder, "bvh,glb")
    assert sorted(names) == ["person_3.bvh", "person_3.glb", "person_7.bvh", "person_7.glb"]
    after = read_manifest(folder)
    assert after["files"] == sorted(["pose3d.npz", *names]) and after["foot_skate_mm"] == [1.0, 2.0]
    assert sorted(p.name for p in folder.iterdir()) == sorted([MANIFEST, "pose3d.npz", *names])  # no temp left
    positions, container = read_bvh_positions(folder / "person_7.bvh")
    assert container.FrameCount == 40  # the person's track span only
    np.testing.assert_allclose(positions, arrays["joints_world_mm"][1, 20:], atol=0.05)
    glb = pygltflib.GLTF2().load(str(folder / "person_3.glb"))
    assert glb.accessors[glb.animations[0].samplers[0].input].count == 45
    assert export_result(folder, ["glb"]) == ["person_3.glb", "person_7.glb"]  # its own files: replaced


def test_variable_frame_rate_is_resampled_for_bvh_with_a_warning(tmp_path):
    folder = tmp_path / "vfr_posemamba"
    times = np.cumsum(np.r_[0.0, np.tile([1 / 20, 1 / 60], 30)[:59]])  # 20 and 60 fps alternating
    make_result(folder, times=times)
    messages: list[str] = []
    export_result(folder, "bvh", messages.append)
    warned = [m for m in messages if "person_3.bvh" in m and "mean rate" in m]
    assert len(warned) == 1 and str(folder) in warned[0]
    container = bvhio.readAsBvh(str(folder / "person_3.bvh"))
    span = times[5:50]
    assert container.FrameCount == 45
    assert container.FrameTime == pytest.approx((span[-1] - span[0]) / 44, rel=1e-6)


def test_a_result_without_world_joints_exports_the_floating_poses_and_says_so(tmp_path):
    folder = tmp_path / "old_posemamba"
    arrays = make_result(folder, world=False)
    messages: list[str] = []
    export_result(folder, "bvh", messages.append)
    assert any("pose3d_world_mm" in m for m in messages)
    positions, _ = read_bvh_positions(folder / "person_3.bvh")
    assert np.abs(positions[:, 0, :2]).max() < 0.05  # the pelvis stays over the origin
    assert positions.shape[0] == arrays["within_track"][0].sum()


def test_export_refuses_what_it_must_not_touch(tmp_path):
    from posemamba_cli.errors import PoseMambaError

    folder = tmp_path / "walk_posemamba"
    make_result(folder)
    (folder / "person_7.glb").write_bytes(b"the user's own file")
    with pytest.raises(PoseMambaError, match="person_7.glb"):
        export_result(folder, "bvh,glb")
    assert (folder / "person_7.glb").read_bytes() == b"the user's own file"
    assert not (folder / "person_3.bvh").exists()  # refused before any work
    plain = tmp_path / "plain"
    plain.mkdir()
    np.savez(plain / "pose3d.npz", track_ids=np.array([0]))
    with pytest.raises(PoseMambaError, match="not a finished posemamba result"):
        export_result(plain, "bvh")


def run_main(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    from posemamba_cli.cli.app import main

    monkeypatch.setattr(sys, "argv", ["posemamba", *args])
    with pytest.raises(SystemExit) as stop:
        main()
    out, err = capsys.readouterr()
    return int(stop.value.code or 0), out, err


def test_export_command(monkeypatch, capsys, tmp_path):
    folder = tmp_path / "walk_posemamba"
    make_result(folder)
    code, out, err = run_main(monkeypatch, capsys, "export", str(folder), "--format", "bvh")
    assert code == 0 and "person_3.bvh" in out and "person_7.bvh" in out
    assert sorted(read_manifest(folder)["files"]) == ["person_3.bvh", "person_7.bvh", "pose3d.npz"]


@pytest.mark.parametrize("command", [["export", "{folder}", "--format", "fbx"],
                                     ["infer", "{video}", "--export", "fbx", "-o", "{out}"]])  # fmt: skip
def test_unknown_export_format_is_one_line_exit_2_before_any_work(monkeypatch, capsys, tmp_path, command):
    folder, video, out = tmp_path / "walk_posemamba", tmp_path / "walk.mp4", tmp_path / "out"
    make_result(folder)
    video.write_bytes(b"not decoded: the option is checked first")
    before = sorted(p.name for p in folder.iterdir())
    args = [a.format(folder=folder, video=video, out=out) for a in command]
    code, _, err = run_main(monkeypatch, capsys, *args)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "fbx" in err and "bvh, glb" in err
    assert sorted(p.name for p in folder.iterdir()) == before and not out.exists()


def test_infer_export_writes_the_files_into_the_result(monkeypatch, capsys, tmp_path):
    from helpers.infer import run_cli, write_clip_keypoints, write_small_lifter

    from posemamba_cli.video.synthetic import make_synthetic_clip

    clip = make_synthetic_clip(tmp_path / "walk.mp4", 24, width=64, height=48)
    keypoints = write_clip_keypoints(tmp_path / "walk_2d.npz", clip)
    lifter = write_small_lifter(tmp_path / "lifter.pth")
    code, _, err = run_cli(monkeypatch, capsys, str(clip.path), "--keypoints", str(keypoints), "--lifter",
                           str(lifter), "--no-render", "--export", "glb,bvh", "-o", str(tmp_path / "out"))  # fmt: skip
    assert code == 0, err
    folder = tmp_path / "out" / "walk_posemamba"
    files = read_manifest(folder)["files"]
    assert {"person_0.bvh", "person_0.glb"} <= set(files)
    assert sorted(p.name for p in folder.iterdir()) == sorted([*files, MANIFEST])
    _, container = read_bvh_positions(folder / "person_0.bvh")
    assert container.FrameCount == 24
