"""Read and validate the published preprocessed Human3.6M file (`h36m_sh_conf_cam_source_final.pkl`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from posemamba_cli.data.h36m import CAMERA_RESOLUTIONS
from posemamba_cli.errors import PoseMambaError
from posemamba_cli.io.safe_load import load_pickle

SPLITS = ("train", "test")
#: key -> trailing shape (None: 1-D); `confidence` is optional and may be (N, 17) or (N, 17, 1).
_SHAPES: dict[str, tuple[int, ...] | None] = {
    "joint_2d": (17, 2),
    "joint3d_image": (17, 3),
    "joints_2.5d_image": (17, 3),
    "2.5d_factor": None,
    "camera_name": None,
    "action": None,
    "source": None,
}


@dataclass
class H36MData:
    """Both splits of the preprocessed file: per split, a dict of per-frame arrays (validated)."""

    path: Path
    splits: dict[str, dict[str, np.ndarray]]

    def __getitem__(self, split: str) -> dict[str, np.ndarray]:
        return self.splits[split]


def _validate_split(name: str, split: object, path: Path) -> dict[str, np.ndarray]:
    where = f"{path}: split '{name}'"
    if not isinstance(split, dict):
        raise PoseMambaError(f"{where} is a {type(split).__name__}, expected a dict of arrays")
    missing = [k for k in _SHAPES if k not in split]
    if missing:
        raise PoseMambaError(f"{where} lacks the key(s) {', '.join(missing)}")
    out: dict[str, np.ndarray] = {}
    n = None
    for key, trailing in _SHAPES.items():
        arr = np.asarray(split[key])
        if n is None:
            n = len(arr)
        if arr.ndim == 0 or len(arr) != n:
            raise PoseMambaError(f"{where}: '{key}' has {arr.shape[0] if arr.ndim else 0} frames, 'joint_2d' has {n}")
        if trailing is None and arr.ndim != 1:
            raise PoseMambaError(f"{where}: '{key}' has shape {arr.shape}, expected ({n},)")
        if trailing is not None and (arr.ndim != 3 or arr.shape[1] != 17 or arr.shape[2] < trailing[1]):
            raise PoseMambaError(f"{where}: '{key}' has shape {arr.shape}, expected ({n}, 17, {trailing[1]})")
        out[key] = arr
    if "confidence" in split:
        conf = np.asarray(split["confidence"])
        if conf.shape not in ((n, 17), (n, 17, 1)):
            raise PoseMambaError(f"{where}: 'confidence' has shape {conf.shape}, expected ({n}, 17) or ({n}, 17, 1)")
        out["confidence"] = conf
    for key in (*(k for k, t in _SHAPES.items() if t is not None), "2.5d_factor", "confidence"):
        if key in out:
            _check_values(out[key], where, key)
    cams = set(np.unique(out["camera_name"].astype(str)))
    unknown = sorted(cams - set(CAMERA_RESOLUTIONS))
    if unknown:
        raise PoseMambaError(f"{where}: unknown camera name(s) {', '.join(unknown)}")
    if n == 0:
        raise PoseMambaError(f"{where} has no frames")
    return out


def _check_values(arr: np.ndarray, where: str, key: str) -> None:
    """Numbers only, all finite; the 2.5D factor (mm per normalised unit) positive; confidences >= 0."""
    if not np.issubdtype(arr.dtype, np.number):
        raise PoseMambaError(f"{where}: '{key}' holds {arr.dtype} values, expected numbers")
    checks = [(~np.isfinite(arr), "non-finite values (NaN or Inf)")]
    if key == "2.5d_factor":
        checks.append((arr <= 0, "values <= 0 (the 2.5D factor must be positive)"))
    elif key == "confidence":
        checks.append((arr < 0, "negative confidences"))
    for bad, what in checks:
        frames = np.flatnonzero(bad.reshape(len(arr), -1).any(axis=1))
        if len(frames):
            raise PoseMambaError(f"{where}: '{key}' has {what} in {len(frames)} frame(s), the first at frame "
                                 f"{frames[0]}")


def read_h36m(path: str | Path, splits: tuple[str, ...] = SPLITS) -> H36MData:
    """Load the preprocessed pickle and check every key, shape and value (finite numbers, a positive 2.5D
    factor); errors name the file, split, key and first bad frame."""
    path = Path(path)
    raw = load_pickle(path, "H36M data file")
    if not isinstance(raw, dict):
        raise PoseMambaError(f"{path} holds a {type(raw).__name__}, expected a dict with 'train' and 'test'")
    missing = [s for s in splits if s not in raw]
    if missing:
        raise PoseMambaError(f"{path} lacks the split(s) {', '.join(missing)} (found: {', '.join(map(str, raw))})")
    return H36MData(path=path, splits={s: _validate_split(s, raw[s], path) for s in splits})
