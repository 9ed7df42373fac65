"""Blender imports the exports (issue 19, item 7 and its Done-when): Debian's Blender, headless, one process
for the module. The synthetic files must land on their input joints; the demo's files, written by
`posemamba infer ... --export bvh,glb`, on the skeleton they describe."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from helpers.blender import blender_import, blender_missing
from helpers.infer import write_small_lifter
from helpers.motion import rigid_motion

from posemamba_cli import write_bvh
from posemamba_cli.export import write_glb
from posemamba_cli.export.rig import fit_rig, forward_kinematics, solve_rotations
from posemamba_cli.io.manifest import read_manifest
from posemamba_cli.skeleton import H36M_JOINTS

pytestmark = pytest.mark.skipif(blender_missing() is not None, reason=str(blender_missing()))

DEMO = Path(__file__).resolve().parents[1] / "demo_videos"
FPS = 30
SYNTH_FRAMES = (0, 1, 47, 89)  # frame indices checked in Blender


def infer_demo_with_exports(root: Path) -> Path:
    """`posemamba infer demo_videos/walk.mp4 --keypoints ... --export bvh,glb` with a small test lifter."""
    from posemamba_cli.cli.app import main

    lifter = write_small_lifter(root / "lifter.pth")
    argv = ["posemamba", "infer", "--quiet", str(DEMO / "walk.mp4"), "--keypoints", str(DEMO / "walk_keypoints.npz"),
            "--lifter", str(lifter), "--no-render", "--export", "bvh,glb", "-o", str(root / "out")]  # fmt: skip
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "argv", argv)
        with pytest.raises(SystemExit) as stop:
            main()
    assert stop.value.code in (0, None)
    return root / "out" / "walk_posemamba"


@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> dict:
    """Every file written, then imported in one Blender: name -> (what it should show, Blender's report)."""
    root = tmp_path_factory.mktemp("blender")
    motion = rigid_motion(90)
    times = 2.0 + np.arange(90) / FPS  # the glTF keys start 2 s into the video
    write_bvh(root / "synthetic.bvh", motion, FPS)
    write_glb(root / "synthetic.glb", motion, times)
    result = infer_demo_with_exports(root)
    with np.load(result / "pose3d.npz") as data:
        key = "joints_world_mm" if "joints_world_mm" in data.files else "pose3d_world_mm"
        demo, demo_times = data[key][0].astype(np.float64), data["time_s"]
    rig = fit_rig(demo)
    described = forward_kinematics(rig, demo[:, 0], solve_rotations(rig, demo))  # what the files hold
    picks = [0, 1, 60, len(demo) - 1]
    synth = list(SYNTH_FRAMES)
    cases = {
        "synthetic.bvh": (root / "synthetic.bvh", motion[synth], [f + 1 for f in synth], 90),
        "synthetic.glb": (root / "synthetic.glb", motion[synth], list(times[synth] * FPS), 90),
        "person_0.bvh": (result / "person_0.bvh", described[picks], [f + 1 for f in picks], len(demo)),
        "person_0.glb": (result / "person_0.glb", described[picks], [demo_times[f] * FPS for f in picks], len(demo)),
    }  # fmt: skip
    jobs = [{"path": path, "fps": FPS, "frames": frames} for path, _, frames, _ in cases.values()]
    reports = blender_import(jobs, root)
    return {"result": result, **{name: (case, report) for (name, case), report in zip(cases.items(), reports)}}


def check(name: str, imported: dict) -> None:
    (path, expected_mm, frames, n_frames), report = imported[name]
    if "error" in report:
        if name.endswith(".glb") and "numpy" in report["error"]:
            pytest.skip("Blender's glTF importer needs numpy in Blender's Python (Debian: python3-numpy)")
        pytest.fail(f"Blender could not import {path}: {report['error']}")
    assert sorted(report["bones"]) == sorted(H36M_JOINTS)  # 17 joints, our names
    assert report["keys"] == [n_frames]  # a key per frame on every animated channel
    if name.endswith(".bvh"):
        assert report["frame_range"] == [1, n_frames]
    for expected, seen in zip(expected_mm, report["positions"]):
        got = np.array([seen[j] for j in H36M_JOINTS]) * 1000  # Blender metres, z up -> world mm
        assert np.linalg.norm(got - expected, axis=-1).max() < 1.0


@pytest.mark.parametrize("name", ["synthetic.bvh", "synthetic.glb"])
def test_blender_puts_every_joint_where_the_motion_was(imported, name):
    check(name, imported)


@pytest.mark.parametrize("name", ["person_0.bvh", "person_0.glb"])
def test_infer_export_writes_files_blender_imports(imported, name):
    assert name in read_manifest(imported["result"])["files"]
    check(name, imported)
