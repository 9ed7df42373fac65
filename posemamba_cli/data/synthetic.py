"""A synthetic dataset in the exact schema of the published preprocessed Human3.6M file.

An articulated H36M-17 skeleton with human bone lengths (scaled per subject) moves through smooth
action-dependent motions (gait, gestures, sitting, turning, wandering), is seen by the four Human3.6M
cameras (published names and resolutions, perspective projection), and gets detector-like 2D with noise,
outliers and confidences. The 2.5D factor is the root depth over the focal length (millimetres per pixel
at the root), so `joints_2.5d_image = joint3d_image * 2.5d_factor` as in the published file.
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from posemamba_cli.data.h36m import ACTIONS, CAMERA_RESOLUTIONS
from posemamba_cli.errors import PoseMambaError
from posemamba_cli.io.atomic import atomic_path
from posemamba_cli.io.paths import check_output_file
from posemamba_cli.skeleton import H36M_PARENTS

CAMERAS = tuple(CAMERA_RESOLUTIONS)  # ca_01 .. ca_04
FPS = 50.0
FOCAL = 1145.0

#: bone offsets (mm) of each joint from its parent in the body frame (x: subject's left, y: forward, z: up).
_OFFSETS = np.array([
    [0, 0, 0], [-130, 0, 0], [0, 0, -450], [0, 0, -440], [130, 0, 0], [0, 0, -450], [0, 0, -440],
    [0, 0, 230], [0, 0, 250], [0, 25, 110], [0, -10, 115], [150, 0, 0], [0, 0, -280], [0, 0, -250],
    [-150, 0, 0], [0, 0, -280], [0, 0, -250],
], dtype=np.float64)  # fmt: skip


@dataclass
class SyntheticSpec:
    """What to generate; the defaults make a small set (about 30k frames, seconds to write)."""

    train_subjects: Sequence[int] = (1, 5, 6, 7, 8)
    test_subjects: Sequence[int] = (9, 11)
    actions: Sequence[int] = (2, 3, 4, 5)
    subactions: int = 1
    min_frames: int = 200
    max_frames: int = 500
    seed: int = 0
    pixel_noise: float = 4.0
    outlier_rate: float = 0.02
    cameras: Sequence[str] = field(default_factory=lambda: CAMERAS)

    def validate(self) -> None:
        if not self.train_subjects or not self.test_subjects:
            raise PoseMambaError("synthetic data needs at least one train and one test subject")
        bad = [a for a in self.actions if not 2 <= a <= 16]
        if bad or not self.actions:
            raise PoseMambaError(f"actions must be numbers 2..16 (Human3.6M action ids), got {list(self.actions)}")
        if self.subactions < 1 or self.min_frames < 2 or self.max_frames < self.min_frames:
            raise PoseMambaError("need subactions >= 1 and 2 <= min_frames <= max_frames")


def _rot(axis: int, a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    z, o = np.zeros_like(a), np.ones_like(a)
    if axis == 0:
        m = [[o, z, z], [z, c, -s], [z, s, c]]
    elif axis == 1:
        m = [[c, z, s], [z, o, z], [-s, z, c]]
    else:
        m = [[c, -s, z], [s, c, z], [z, z, o]]
    return np.moveaxis(np.array(m), (0, 1), (-2, -1))


def _smooth(rng: np.random.Generator, t: np.ndarray, amp: float, fmax: float = 0.6, n: int = 3) -> np.ndarray:
    """A smooth random signal: a sum of `n` sinusoids with frequencies up to `fmax` Hz."""
    out = np.zeros_like(t)
    for _ in range(n):
        out += rng.uniform(0.3, 1.0) * np.sin(2 * np.pi * rng.uniform(0.05, fmax) * t + rng.uniform(0, 2 * np.pi))
    return amp * out / n


def _action_profile(action: int) -> dict[str, float]:
    name = ACTIONS[action - 2]
    if name.startswith("Walk"):
        return {"speed": 1200.0, "gait": 0.5, "arm": 0.35, "sit": 0.0, "gesture": 0.2}
    if name.startswith("Sitting"):
        return {"speed": 0.0, "gait": 0.05, "arm": 0.1, "sit": 1.0 if name == "Sitting" else 0.6, "gesture": 0.5}
    gesture = {"Directions": 0.9, "Discussion": 0.8, "Greeting": 1.0, "Posing": 0.7, "Photo": 0.7}.get(name, 0.5)
    return {"speed": 150.0, "gait": 0.15, "arm": 0.2, "sit": 0.0, "gesture": gesture}


def _motion(rng: np.random.Generator, n: int, action: int, scale: float) -> np.ndarray:
    """World-space joints (n, 17, 3) in mm of one take: forward kinematics of smooth joint angles."""
    t = np.arange(n) / FPS
    p = _action_profile(action)
    freq = rng.uniform(0.8, 1.1) if p["gait"] > 0.3 else rng.uniform(0.3, 0.7)
    phase = 2 * np.pi * freq * t + rng.uniform(0, 2 * np.pi)
    local = np.tile(np.eye(3), (17, n, 1, 1))
    sit_hip = p["sit"] * (1.3 + 0.2 * np.sin(2 * np.pi * 0.1 * t)) if p["sit"] else 0.0
    for side, (thigh, shin, upper, fore) in enumerate(((2, 3, 15, 16), (5, 6, 12, 13))):
        sgn = 1.0 if side == 0 else -1.0
        swing = p["gait"] * np.sin(phase + side * np.pi)
        hip = swing + sit_hip + _smooth(rng, t, 0.15)
        knee = np.maximum(0.0, 1.2 * p["gait"] * np.sin(phase + side * np.pi + 1.2))
        knee = knee + 1.6 * p["sit"] + np.abs(_smooth(rng, t, 0.2))
        local[thigh] = _rot(0, hip) @ _rot(1, sgn * (0.05 + _smooth(rng, t, 0.08)))
        local[shin] = _rot(0, -knee)
        gesture = p["gesture"] * np.clip(_smooth(rng, t, 2.0, fmax=0.5), 0, None)
        shoulder = -p["arm"] * np.sin(phase + side * np.pi) + gesture + _smooth(rng, t, 0.2)
        local[upper] = _rot(0, shoulder) @ _rot(1, sgn * (0.15 + np.abs(_smooth(rng, t, 0.5))))
        local[fore] = _rot(0, 0.3 + np.abs(_smooth(rng, t, 1.2, fmax=0.8)) + 0.5 * gesture)
    local[7] = _rot(0, -0.1 * p["sit"] + _smooth(rng, t, 0.15)) @ _rot(2, _smooth(rng, t, 0.3))
    local[8] = _rot(1, _smooth(rng, t, 0.1))
    local[9] = _rot(2, _smooth(rng, t, 0.5)) @ _rot(0, _smooth(rng, t, 0.25))
    heading = rng.uniform(0, 2 * np.pi) + _smooth(rng, t, 2.0, fmax=0.15)
    if p["speed"] > 500:  # walk in loops of 1.3-2 m radius around the capture area, as in the studio
        heading = heading + rng.choice([-1.0, 1.0]) * rng.uniform(0.6, 0.9) * t
    root_rot = _rot(2, heading)
    offsets = _OFFSETS * scale
    glob = np.zeros((17, n, 3, 3))
    pos = np.zeros((n, 17, 3))
    glob[0] = root_rot
    for j in range(1, 17):
        glob[j] = glob[H36M_PARENTS[j]] @ local[j]
        pos[:, j] = pos[:, H36M_PARENTS[j]] + (glob[j] @ offsets[j])
    # walk forward along the heading; keep the lowest ankle on the floor
    step = p["speed"] * rng.uniform(0.8, 1.2) / FPS
    fwd = np.stack([-np.sin(heading), np.cos(heading), np.zeros(n)], axis=-1) * step
    drift = np.stack([_smooth(rng, t, 300.0, 0.1), _smooth(rng, t, 300.0, 0.1), np.zeros(n)], axis=-1)
    root = np.cumsum(fwd, axis=0) + drift
    root -= (root.max(axis=0) + root.min(axis=0)) / 2
    reach = np.linalg.norm(root[:, :2], axis=-1).max()
    if reach > 1500.0:  # stay inside the capture area (cameras stand 5-6 m from its centre)
        root[:, :2] *= 1500.0 / reach
    root[:, 2] = 80.0 - pos[:, [3, 6], 2].min(axis=1)
    return pos + root[:, None, :]


def _camera(rng: np.random.Generator, index: int) -> tuple[np.ndarray, np.ndarray]:
    """(rotation rows right/down/forward (3, 3), centre (3,)) of camera `index` around the capture area."""
    ang = np.pi / 4 + index * np.pi / 2 + rng.uniform(-0.15, 0.15)
    radius, height = rng.uniform(5000, 6000), rng.uniform(1200, 1700)
    centre = np.array([radius * np.cos(ang), radius * np.sin(ang), height])
    fwd = np.array([0.0, 0.0, 900.0]) - centre
    fwd /= np.linalg.norm(fwd)
    right = np.cross(fwd, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    down = np.cross(fwd, right)
    return np.stack([right, down, fwd]), centre


def _view(world: np.ndarray, cam: tuple[np.ndarray, np.ndarray], camera_name: str) -> dict[str, np.ndarray]:
    rot, centre = cam
    w, h = CAMERA_RESOLUTIONS[camera_name]
    pc = (world - centre) @ rot.T  # (n, 17, 3) camera coordinates, mm
    uv = FOCAL * pc[..., :2] / pc[..., 2:3] + np.array([w / 2, h / 2])
    factor = pc[:, 0, 2] / FOCAL  # mm per pixel at the root depth
    z_img = (pc[..., 2] - pc[:, :1, 2]) / factor[:, None]
    img3d = np.concatenate([uv, z_img[..., None]], axis=-1)
    return {"img3d": img3d, "factor": factor}


def _detect(rng: np.random.Generator, uv: np.ndarray, spec: SyntheticSpec) -> tuple[np.ndarray, np.ndarray]:
    n = len(uv)
    hard = np.array([1, 1, 1.3, 1.6, 1, 1.3, 1.6, 1, 1, 1, 1.2, 1.1, 1.4, 1.8, 1.1, 1.4, 1.8])
    sigma = spec.pixel_noise * hard[None, :, None]
    t = np.arange(n) / FPS
    slow = np.stack([_smooth(rng, t, 1.0, 2.0) for _ in range(2 * 17)], axis=-1).reshape(n, 17, 2)
    err = sigma * (0.6 * rng.standard_normal(uv.shape) + 0.8 * slow)
    outlier = rng.random((n, 17)) < spec.outlier_rate
    err[outlier] += rng.normal(0, 30.0, size=(int(outlier.sum()), 2))
    dist = np.linalg.norm(err, axis=-1)
    conf = 0.95 * np.exp(-((dist / (4 * spec.pixel_noise + 1e-6)) ** 2)) + rng.uniform(-0.05, 0.05, dist.shape)
    return uv + err, np.clip(conf, 0.02, 1.0)


def generate(spec: SyntheticSpec | None = None) -> dict[str, dict[str, np.ndarray]]:
    """Build `{'train': {...}, 'test': {...}}` with the published keys, dtypes and per-frame layout."""
    spec = spec or SyntheticSpec()
    spec.validate()
    rng = np.random.default_rng(spec.seed)
    out = {}
    for split, subjects in (("train", spec.train_subjects), ("test", spec.test_subjects)):
        cols: dict[str, list] = {k: [] for k in ("j2d", "conf", "img3d", "factor", "cam", "action", "source")}
        for subject in subjects:
            scale = rng.uniform(0.9, 1.1)
            cams = [_camera(rng, i) for i in range(len(CAMERAS))]
            for action in spec.actions:
                for sub in range(1, spec.subactions + 1):
                    n = int(rng.integers(spec.min_frames, spec.max_frames + 1))
                    world = _motion(rng, n, action, scale)
                    for ci, cam_name in enumerate(CAMERAS):
                        if cam_name not in spec.cameras:
                            continue
                        view = _view(world, cams[ci], cam_name)
                        j2d, conf = _detect(rng, view["img3d"][..., :2], spec)
                        cols["j2d"].append(j2d)
                        cols["conf"].append(conf)
                        cols["img3d"].append(view["img3d"])
                        cols["factor"].append(view["factor"])
                        cols["cam"].append(np.full(n, cam_name))
                        cols["action"].append(np.full(n, ACTIONS[action - 2]))
                        name = f"s_{subject:02d}_act_{action:02d}_subact_{sub:02d}_ca_{ci + 1:02d}"
                        cols["source"].append(np.full(n, name))
        img3d = np.concatenate(cols["img3d"]).astype(np.float32)
        factor = np.concatenate(cols["factor"]).astype(np.float32)
        out[split] = {
            "joint_2d": np.concatenate(cols["j2d"]).astype(np.float32),
            "confidence": np.concatenate(cols["conf"]).astype(np.float32),
            "joint3d_image": img3d,
            "joints_2.5d_image": img3d * factor[:, None, None],
            "2.5d_factor": factor,
            "camera_name": np.concatenate(cols["cam"]).astype("<U8"),
            "action": np.concatenate(cols["action"]).astype(str),
            "source": np.concatenate(cols["source"]).astype(str),
        }
    return out


def write_synthetic(path: str | Path, spec: SyntheticSpec | None = None) -> dict[str, int]:
    """Generate and write the pickle atomically; returns frames per split. An existing file is not replaced."""
    check_output_file(path, "data file")
    data = generate(spec)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        pickle.dump(data, fh, protocol=4)
    return {k: len(v["source"]) for k, v in data.items()}
