"""A synthetic MPI-INF-3DHP dataset in P-STMO's npz schemas (`data_train_3dhp.npz`, `data_test_3dhp.npz`).

The moving skeleton of the synthetic Human3.6M generator, re-ordered to the 3DHP-17 joints, seen by
pinhole cameras: training sequences "S<s> Seq<q>" with several cameras on 2048x2048 frames; test sequences
TS1-TS4 on 2048x2048 and TS5-TS6 on 1920x1080 frames, each with runs of invalid frames (start, middle,
end) and activity labels 1..7 (written beside, as `activity_annotation.npz`, since the npz has none).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from posemamba_cli.data import mpi3dhp
from posemamba_cli.data.synthetic import _camera, _motion
from posemamba_cli.errors import PoseMambaError
from posemamba_cli.io.atomic import atomic_path
from posemamba_cli.io.paths import check_output_folder

TRAIN_CAMERAS = ("0", "1", "2", "4", "5", "6", "7", "8")
ACTIVITY_FILE = "activity_annotation.npz"
_ACTIONS = (2, 3, 5, 8, 9, 14)  # H36M motion profiles (gestures, sitting, walking) for variety


@dataclass
class Synthetic3DHPSpec:
    """What to generate; the defaults make a small set (seconds to write)."""

    subjects: tuple[int, ...] = (1, 2)  # subject numbers 1..8 -> "S<s> Seq1", "S<s> Seq2"
    cameras: int = 2
    min_frames: int = 150
    max_frames: int = 300
    test_frames: tuple[int, ...] = (200, 180, 220, 160, 190, 120)
    pixel_noise: float = 0.0
    seed: int = 0

    def validate(self) -> None:
        subjects = list(self.subjects)
        if not subjects or any(not 1 <= s <= 8 for s in subjects) or len(set(subjects)) != len(subjects):
            raise PoseMambaError(f"subjects must be distinct numbers 1..8 (S1..S8), got {list(self.subjects)}")
        if not 1 <= self.cameras <= len(TRAIN_CAMERAS):
            raise PoseMambaError(f"cameras must be 1..{len(TRAIN_CAMERAS)}")
        if self.min_frames < 2 or self.max_frames < self.min_frames:
            raise PoseMambaError("need 2 <= min_frames <= max_frames")
        if len(self.test_frames) != 6 or min(self.test_frames) < 10:
            raise PoseMambaError("test_frames needs six lengths of at least 10 frames (TS1..TS6)")


def _project(rng: np.random.Generator, world: np.ndarray, index: int, size: tuple[int, int],
             noise: float) -> tuple[np.ndarray, np.ndarray]:
    """World joints (n, 17, 3) -> (pixels (n, 17, 2), camera-space mm (n, 17, 3)) for a camera around them."""
    rot, centre = _camera(rng, index)
    cam = (world - centre) @ rot.T
    w, h = size
    focal = 0.73 * w
    uv = focal * cam[..., :2] / cam[..., 2:3] + np.array([w / 2, h / 2])
    return uv + noise * rng.standard_normal(uv.shape), cam


def _valid_mask(rng: np.random.Generator, n: int) -> np.ndarray:
    valid = np.ones(n, np.float64)
    valid[: int(rng.integers(1, 5))] = 0
    mid = int(rng.integers(n // 3, 2 * n // 3))
    valid[mid : mid + int(rng.integers(3, 8))] = 0
    valid[n - int(rng.integers(1, 5)) :] = 0
    return valid


def _activities(rng: np.random.Generator, n: int) -> np.ndarray:
    cuts = np.sort(rng.choice(np.arange(1, n), size=3, replace=False))
    labels = np.zeros(n, np.float64)
    for part, start in zip(rng.permutation(7)[:4] + 1, np.concatenate([[0], cuts])):
        labels[start:] = part
    return labels


def generate_3dhp(spec: Synthetic3DHPSpec | None = None) -> tuple[dict, dict, dict]:
    """(train dict, test dict, activity labels) in P-STMO's schemas (float64, as the fixture)."""
    spec = spec or Synthetic3DHPSpec()
    spec.validate()
    rng = np.random.default_rng(spec.seed)
    to_3dhp = list(mpi3dhp.TO_H36M)
    train = {}
    for s in spec.subjects:
        scale = rng.uniform(0.9, 1.1)
        for q, fps in ((1, 25), (2, 50)):
            n = int(rng.integers(spec.min_frames, spec.max_frames + 1))
            world = _motion(rng, n, int(rng.choice(_ACTIONS)), scale)[:, to_3dhp]
            cams = {}
            for ci, cam in enumerate(TRAIN_CAMERAS[: spec.cameras]):
                uv, xyz = _project(rng, world, ci, mpi3dhp.TRAIN_SIZE, spec.pixel_noise)
                cams[cam] = {"data_2d": uv, "data_3d": xyz}
            train[f"S{s} Seq{q}"] = [cams, fps]
    test, activities = {}, {}
    for i, n in enumerate(spec.test_frames):
        seq = mpi3dhp.TEST_SEQUENCES[i]
        world = _motion(rng, n, int(rng.choice(_ACTIONS)), rng.uniform(0.9, 1.1))[:, to_3dhp]
        uv, xyz = _project(rng, world, int(rng.integers(0, 4)), mpi3dhp.TEST_SIZES[seq], spec.pixel_noise)
        test[seq] = {"data_2d": uv, "data_3d": xyz, "valid": _valid_mask(rng, n)}
        activities[seq] = _activities(rng, n)
    return train, test, activities


def _save_dict(path: Path, data: dict) -> None:
    with atomic_path(path) as tmp:
        np.savez(tmp, data=np.array(data, dtype=object))


def write_synthetic_3dhp(folder: str | Path, spec: Synthetic3DHPSpec | None = None) -> dict[str, int]:
    """Write `data_train_3dhp.npz`, `data_test_3dhp.npz` and `activity_annotation.npz` into `folder`.

    Existing files of those names are not overwritten (an error names them). Returns frame counts.
    """
    folder = Path(folder)
    check_output_folder(folder, "data folder")
    names = (mpi3dhp.TRAIN_FILE, mpi3dhp.TEST_FILE, ACTIVITY_FILE)
    present = [n for n in names if (folder / n).exists()]
    if present:
        raise PoseMambaError(f"{folder} already holds {', '.join(present)}; choose an empty folder")
    train, test, activities = generate_3dhp(spec)
    folder.mkdir(parents=True, exist_ok=True)
    _save_dict(folder / mpi3dhp.TRAIN_FILE, train)
    _save_dict(folder / mpi3dhp.TEST_FILE, test)
    with atomic_path(folder / ACTIVITY_FILE) as tmp:
        np.savez(tmp, **activities)
    return {
        "train_frames": sum(len(c["data_2d"]) for v in train.values() for c in v[0].values()),
        "test_frames": sum(len(v["valid"]) for v in test.values()),
        "valid_test_frames": int(sum(v["valid"].sum() for v in test.values())),
    }
