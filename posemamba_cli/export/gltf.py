"""glTF 2.0 binary (.glb) from H36M-17 world positions: a skinned joint hierarchy and one animation.

The joints are nodes named as H36M_JOINTS (pelvis the root), listed in one skin; the animation has a key per
given frame at its own time (variable rates kept): the pelvis's translation and every joint's rotation.
Units and axes are glTF's: metres, y up (file (x, y, z) = world (x, z, -y)), the rest pose facing +z.
"""

from __future__ import annotations

import os

import numpy as np
import pygltflib as gl
from scipy.spatial.transform import Rotation

from posemamba_cli.export.axes import check_joints, points_to_file, rotations_to_file
from posemamba_cli.export.rig import CHILDREN, Rig, fit_rig, solve_rotations
from posemamba_cli.io.atomic import atomic_path
from posemamba_cli.skeleton import H36M_JOINTS


class _Blob:
    """The binary chunk: float32 arrays appended as buffer views with one accessor each."""

    def __init__(self, doc: gl.GLTF2) -> None:
        self.doc, self.data = doc, bytearray()

    def add(self, array: np.ndarray, kind: str, with_bounds: bool = False) -> int:
        array = np.ascontiguousarray(array, dtype=np.float32)
        self.doc.bufferViews.append(gl.BufferView(buffer=0, byteOffset=len(self.data), byteLength=array.nbytes))
        self.data += array.tobytes()
        count = len(array)
        bounds = {}
        if with_bounds:
            flat = array.reshape(count, -1)
            bounds = {"min": flat.min(0).tolist(), "max": flat.max(0).tolist()}
        self.doc.accessors.append(gl.Accessor(bufferView=len(self.doc.bufferViews) - 1, componentType=gl.FLOAT,
                                              count=count, type=kind, **bounds))  # fmt: skip
        return len(self.doc.accessors) - 1


def _continuous(quats: np.ndarray) -> np.ndarray:
    """(T, 4) quaternions with signs chosen so that neighbouring keys are in the same hemisphere."""
    flips = np.concatenate([[False], np.sum(quats[1:] * quats[:-1], -1) < 0])
    return quats * np.where(np.logical_xor.accumulate(flips), -1.0, 1.0)[:, None]


def write_glb(
    path: str | os.PathLike, joints_world_mm: np.ndarray, times_s: np.ndarray, *, rig: Rig | None = None
) -> None:
    """Write one person's motion (T, 17, 3) world mm (z up, H36M-17 order, finite) with its frame times
    (T,) seconds, increasing, as a .glb through a temporary name. `rig`: the skeleton to use (default:
    `fit_rig` of these joints)."""
    joints = check_joints(joints_world_mm)
    times = np.asarray(times_s, dtype=np.float64)
    if times.shape != (len(joints),) or not np.isfinite(times).all() or np.any(np.diff(times) <= 0):
        raise ValueError(f"times_s must be {len(joints)} increasing finite seconds, got shape {times.shape}")
    rig = rig if rig is not None else fit_rig(joints)
    local = rotations_to_file(solve_rotations(rig, joints))  # (T, 17, 3, 3)
    offsets = points_to_file(rig.offsets)
    rest = points_to_file(rig.rest_positions())

    doc = gl.GLTF2(asset=gl.Asset(generator="posemamba"), scene=0)
    blob = _Blob(doc)
    doc.nodes = [
        gl.Node(name=name, translation=offsets[j].tolist(), children=list(CHILDREN[j]) or None)
        for j, name in enumerate(H36M_JOINTS)
    ]
    doc.scenes = [gl.Scene(nodes=[0])]
    inverse_bind = np.tile(np.eye(4, dtype=np.float32), (len(H36M_JOINTS), 1, 1))
    inverse_bind[:, 3, :3] = -rest  # column-major 4x4: the translation is the last column
    doc.skins = [gl.Skin(name="posemamba", joints=list(range(len(H36M_JOINTS))), skeleton=0,
                         inverseBindMatrices=blob.add(inverse_bind, gl.MAT4))]  # fmt: skip
    time_accessor = blob.add(times, gl.SCALAR, with_bounds=True)
    samplers = [gl.AnimationSampler(input=time_accessor, output=blob.add(points_to_file(joints[:, 0]), gl.VEC3))]
    channels = [gl.AnimationChannel(sampler=0, target=gl.AnimationChannelTarget(node=0, path="translation"))]
    for j in range(len(H36M_JOINTS)):
        quats = _continuous(Rotation.from_matrix(local[:, j]).as_quat())  # (T, 4) x y z w, as glTF stores them
        samplers.append(gl.AnimationSampler(input=time_accessor, output=blob.add(quats, gl.VEC4)))
        channels.append(gl.AnimationChannel(sampler=len(samplers) - 1,
                                            target=gl.AnimationChannelTarget(node=j, path="rotation")))  # fmt: skip
    doc.animations = [gl.Animation(name="motion", samplers=samplers, channels=channels)]
    doc.buffers = [gl.Buffer(byteLength=len(blob.data))]
    doc.set_binary_blob(bytes(blob.data))
    with atomic_path(path) as tmp:
        doc.save_binary(str(tmp))
