"""H36M-17 joint positions -> a fixed-length skeleton (rest offsets) and per-frame joint rotations.

Shared by the BVH and glTF writers. Everything here is in the world frame (mm, z up); the writers map
axes and units. Rest pose: the person standing in a canonical facing (looking along -y, their left at +x,
up +z, i.e. Blender's front view), bones of the person's median length (left = right), directions from the
person's own median local geometry, so a skeleton whose bones keep their lengths is reproduced exactly.

Rotations: the pelvis and the thorax (several children) get the best-fit rotation of their child bones; a
joint with one child gets the smallest rotation from its parent that points the bone where the positions
say (no twist of its own, so the twist follows the parent and cannot flip between frames); leaf joints
(ankles, wrists, head) keep their parent's rotation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from posemamba_cli.skeleton import H36M_BONES, H36M_JOINTS, H36M_LEFT, H36M_PARENTS, H36M_RIGHT

J = {name: i for i, name in enumerate(H36M_JOINTS)}
CHILDREN = tuple(tuple(j for j, p in enumerate(H36M_PARENTS) if p == i) for i in range(len(H36M_JOINTS)))
LEAVES = tuple(i for i, c in enumerate(CHILDREN) if not c)
# the canonical facing as columns (person's left, forward, up) in world axes
CANONICAL = np.array([[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, 1.0]])
_FORWARD = CANONICAL[:, 1]
# a joint with one child rotates by the smallest rotation from a neutral bone direction; the twist is
# ill-defined only where the bone points opposite it: for the hips and shoulders that neutral direction
# leans forward and outward, so the singular one is up, behind and across the body, where limbs do not go
_OUTWARD = {J["left_hip"]: 1.0, J["right_hip"]: -1.0, J["left_shoulder"]: 1.0, J["right_shoulder"]: -1.0}


@dataclass(frozen=True)
class Rig:
    """A fixed skeleton in its rest pose: per joint the offset from its parent (the root's is zero) and,
    for leaf joints, an end-site offset; mm, world axes, rest rotations all identity."""

    offsets: np.ndarray  # (17, 3)
    end_sites: np.ndarray  # (17, 3), zero except at LEAVES

    def rest_positions(self) -> np.ndarray:
        """(17, 3) joint positions of the rest pose, pelvis at the origin."""
        out = np.zeros_like(self.offsets)
        for j, p in enumerate(H36M_PARENTS):
            if p >= 0:
                out[j] = out[p] + self.offsets[j]
        return out


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(n > 1e-12, n, 1.0)


def _segment_frame(joints: np.ndarray, left: str, right: str, base: str, top: str) -> np.ndarray:
    """(T, 3, 3) frames with columns (left, forward, up) from a left-right line and a base-to-top bone."""
    lateral = _unit(joints[:, J[left]] - joints[:, J[right]])
    up = joints[:, J[top]] - joints[:, J[base]]
    up = _unit(up - np.sum(up * lateral, -1, keepdims=True) * lateral)
    return np.stack([lateral, np.cross(lateral, up), up], axis=-1)


def _bone_lengths(joints: np.ndarray) -> np.ndarray:
    """(17,) the median length of the bone ending at each joint (root: 0), left and right averaged."""
    lengths = np.zeros(len(H36M_JOINTS))
    for p, j in H36M_BONES:
        lengths[j] = np.median(np.linalg.norm(joints[:, j] - joints[:, p], axis=-1))
    pair = (lengths[list(H36M_LEFT)] + lengths[list(H36M_RIGHT)]) / 2
    lengths[list(H36M_LEFT)] = pair
    lengths[list(H36M_RIGHT)] = pair
    return lengths


def fit_rig(joints: np.ndarray) -> Rig:
    """The rest skeleton of one person from (T, 17, 3) world positions (mm, finite)."""
    pelvis = _segment_frame(joints, "left_hip", "right_hip", "pelvis", "spine")  # (T, 3, 3)
    thorax = _segment_frame(joints, "left_shoulder", "right_shoulder", "thorax", "neck_nose")
    # the thorax's rest orientation: its mean orientation relative to the pelvis, in the canonical facing
    relative = Rotation.from_matrix(np.einsum("tji,tjk->tik", pelvis, thorax)).mean().as_matrix()
    thorax_rest = CANONICAL @ relative
    lengths = _bone_lengths(joints)
    offsets = np.zeros((len(H36M_JOINTS), 3))
    for p, j in H36M_BONES:
        bone = _unit(joints[:, j] - joints[:, p])  # (T, 3)
        if p == J["thorax"]:  # in the thorax's own frame: its children keep their angles
            direction = thorax_rest @ np.median(np.einsum("tji,tj->ti", thorax, bone), axis=0)
        else:  # in the pelvis's frame: the person's median posture, facing the canonical way
            direction = CANONICAL @ np.median(np.einsum("tji,tj->ti", pelvis, bone), axis=0)
        offsets[j] = lengths[j] * _unit(direction)
    end_sites = np.zeros_like(offsets)
    for leaf in LEAVES:
        if leaf in (J["left_ankle"], J["right_ankle"]):  # a foot, pointing forward
            end_sites[leaf] = 0.35 * lengths[leaf] * _FORWARD
        else:  # a hand or the top of the head: the last bone continued
            end_sites[leaf] = 0.25 * offsets[leaf]
    return Rig(offsets=offsets, end_sites=end_sites)


def _kabsch(rest: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """(T, 3, 3) rotations best mapping the unit vectors rest (K, 3) onto observed (T, K, 3), per frame.

    scipy's Rotation.align_vectors does this for one frame at a time; this is its batched SVD form."""
    h = np.einsum("ki,tkj->tij", rest, observed)  # (T, 3, 3) cross-covariance
    u, _, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(np.einsum("tij,tjk->tik", u, vt)))
    fix = np.ones((len(h), 3))
    fix[:, 2] = d
    return np.einsum("tji,tj,tkj->tik", vt, fix, u)


def _swing(a: np.ndarray, b: np.ndarray) -> Rotation:
    """The smallest rotations taking unit vectors a to b ((T, 3) or (3,) each)."""
    a, b = np.broadcast_arrays(a, b)
    axis = np.cross(a, b)
    sin = np.linalg.norm(axis, axis=-1)
    angle = np.arctan2(sin, np.sum(a * b, -1))
    fallback = np.cross(a, np.where(np.abs(a[..., :1]) < 0.9, [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]))
    axis = np.where(sin[..., None] > 1e-9, axis, fallback)  # opposite vectors: any perpendicular axis
    return Rotation.from_rotvec(_unit(axis) * angle[..., None])


def solve_rotations(rig: Rig, joints: np.ndarray) -> np.ndarray:
    """(T, 17, 3, 3) local rotations (each joint relative to its parent; the root's is global) that point
    every bone of `rig` along the bones of `joints` (T, 17, 3)."""
    n_frames = len(joints)
    glob = np.zeros((n_frames, len(H36M_JOINTS), 3, 3))
    local = np.zeros_like(glob)
    for p, children in enumerate(CHILDREN):  # H36M order lists every parent before its children
        parent = H36M_PARENTS[p]
        parent_rot = glob[:, parent] if parent >= 0 else np.broadcast_to(np.eye(3), (n_frames, 3, 3))
        if len(children) > 1:
            rest = _unit(rig.offsets[list(children)])
            observed = _unit(joints[:, list(children)] - joints[:, p, None])
            glob[:, p] = _kabsch(rest, observed)
            local[:, p] = np.einsum("tji,tjk->tik", parent_rot, glob[:, p])
        elif children:
            rest = _unit(rig.offsets[children[0]])
            along = np.einsum("tji,tj->ti", parent_rot, _unit(joints[:, children[0]] - joints[:, p]))
            neutral = rest
            if p in _OUTWARD:
                neutral = _unit(rest + _FORWARD + _OUTWARD[p] * CANONICAL[:, 0])
            rot = _swing(neutral, along) * _swing(rest, neutral)
            local[:, p] = rot.as_matrix()
            glob[:, p] = np.einsum("tij,tjk->tik", parent_rot, local[:, p])
        else:
            glob[:, p] = parent_rot
            local[:, p] = np.eye(3)
    return local


def forward_kinematics(rig: Rig, root: np.ndarray, local: np.ndarray) -> np.ndarray:
    """(T, 17, 3) joint positions from root positions (T, 3) and local rotations (T, 17, 3, 3)."""
    glob = np.zeros_like(local)
    out = np.zeros(local.shape[:2] + (3,))
    for j, p in enumerate(H36M_PARENTS):
        if p < 0:
            glob[:, j], out[:, j] = local[:, j], root
        else:
            glob[:, j] = np.einsum("tij,tjk->tik", glob[:, p], local[:, j])
            out[:, j] = out[:, p] + np.einsum("tij,j->ti", glob[:, p], rig.offsets[j])
    return out
