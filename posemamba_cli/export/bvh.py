"""BVH (Biovision Hierarchy) from H36M-17 world positions: one ROOT (pelvis) carrying the world path.

File conventions: y up (file (x, y, z) = world (x, z, -y)), metres, rest pose facing +z (the person's left
at +x), rotation channels Z X Y (R = Rz Rx Ry) in degrees, one constant frame time.
"""

from __future__ import annotations

import io
import os

import numpy as np
from scipy.spatial.transform import Rotation

from posemamba_cli.export.axes import check_joints, points_to_file, rotations_to_file
from posemamba_cli.export.rig import CHILDREN, Rig, fit_rig, solve_rotations
from posemamba_cli.io.atomic import atomic_path
from posemamba_cli.skeleton import H36M_JOINTS

EULER_ORDER = "ZXY"


def _hierarchy(rig: Rig) -> str:
    """The HIERARCHY section (file axes and units)."""
    offsets, ends = points_to_file(rig.offsets), points_to_file(rig.end_sites)
    rot = " ".join(f"{axis}rotation" for axis in EULER_ORDER)
    lines = ["HIERARCHY"]

    def joint(j: int, depth: int) -> None:
        pad = "\t" * depth
        kind = "ROOT" if depth == 0 else "JOINT"
        channels = f"6 Xposition Yposition Zposition {rot}" if depth == 0 else f"3 {rot}"
        lines.extend([f"{pad}{kind} {H36M_JOINTS[j]}", f"{pad}{{", f"{pad}\tOFFSET {_vec(offsets[j])}",
                      f"{pad}\tCHANNELS {channels}"])  # fmt: skip
        for child in CHILDREN[j]:
            joint(child, depth + 1)
        if not CHILDREN[j]:
            lines.extend([f"{pad}\tEnd Site", f"{pad}\t{{", f"{pad}\t\tOFFSET {_vec(ends[j])}", f"{pad}\t}}"])
        lines.append(f"{pad}}}")

    joint(0, 0)
    return "\n".join(lines) + "\n"


def _vec(v: np.ndarray) -> str:
    return " ".join(f"{x:.6f}" for x in v)


def _depth_first(j: int = 0) -> list[int]:
    return [j] + [k for c in CHILDREN[j] for k in _depth_first(c)]


def bvh_motion(joints_world_mm: np.ndarray, rig: Rig | None = None) -> tuple[Rig, np.ndarray]:
    """The rig (`rig`, else fitted to `joints_world_mm` (T, 17, 3)) and the BVH channel values
    (T, 3 + 17 * 3) in file order."""
    joints = check_joints(joints_world_mm)
    rig = rig if rig is not None else fit_rig(joints)
    local = rotations_to_file(solve_rotations(rig, joints))  # (T, 17, 3, 3)
    order = _depth_first()
    euler = Rotation.from_matrix(local[:, order].reshape(-1, 3, 3)).as_euler(EULER_ORDER)
    euler = np.degrees(np.unwrap(euler.reshape(len(joints), len(order), 3), axis=0))  # no 360-degree jumps
    return rig, np.concatenate([points_to_file(joints[:, 0]), euler.reshape(len(joints), -1)], axis=1)


def write_bvh(path: str | os.PathLike, joints_world_mm: np.ndarray, fps: float, *, rig: Rig | None = None) -> None:
    """Write one person's motion (T, 17, 3) world mm (z up, H36M-17 order, finite) as a BVH at `fps` frames
    per second (a constant rate: resample variable-rate input first), through a temporary name. `rig`: the
    skeleton to use (default: `fit_rig` of these joints)."""
    if not np.isfinite(fps) or fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    rig, channels = bvh_motion(joints_world_mm, rig)
    text = io.StringIO()
    text.write(_hierarchy(rig))
    text.write(f"MOTION\nFrames: {len(channels)}\nFrame Time: {1.0 / fps:.9f}\n")
    np.savetxt(text, channels, fmt="%.6f")
    with atomic_path(path) as tmp:
        tmp.write_text(text.getvalue(), encoding="ascii")
