"""MPI-INF-3DHP in P-STMO's npz schemas: the 3DHP-17 skeleton, reading and validation, normalisation, and
the clips of the reference 3DHP pipeline (training clips, test clips, evaluation windows).

Joint order (0-based): 0 head_top, 1 neck, 2-4 right shoulder/elbow/wrist, 5-7 left shoulder/elbow/wrist,
8-10 right hip/knee/ankle, 11-13 left hip/knee/ankle, 14 pelvis (the ROOT), 15 spine, 16 head.
"""

from __future__ import annotations

import pickle
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from posemamba_cli.data.clips import ClipFrames
from posemamba_cli.errors import PoseMambaError
from posemamba_cli.io.paths import require_file

JOINT_NAMES = (
    "head_top", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow",
    "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
    "pelvis", "spine", "head",
)  # fmt: skip
ROOT = 14
FLIP_LEFT = (5, 6, 7, 11, 12, 13)
FLIP_RIGHT = (2, 3, 4, 8, 9, 10)
FLIP_PERM = list(range(17))
for _l, _r in zip(FLIP_LEFT, FLIP_RIGHT):
    FLIP_PERM[_l], FLIP_PERM[_r] = _r, _l
#: 3DHP-17 joint -> H36M-17 joint of the same body point (thorax = 3DHP neck, H36M "neck/nose" = 3DHP head).
TO_H36M = (10, 8, 14, 15, 16, 11, 12, 13, 1, 2, 3, 4, 5, 6, 0, 7, 9)
TRAIN_FILE = "data_train_3dhp.npz"
TEST_FILE = "data_test_3dhp.npz"
TEST_SEQUENCES = ("TS1", "TS2", "TS3", "TS4", "TS5", "TS6")
TRAIN_SIZE = (2048, 2048)
#: test sequence -> (width, height) of its frames; TS5 and TS6 are the outdoor 1920x1080 ones.
TEST_SIZES = {"TS1": (2048, 2048), "TS2": (2048, 2048), "TS3": (2048, 2048), "TS4": (2048, 2048),
              "TS5": (1920, 1080), "TS6": (1920, 1080)}  # fmt: skip


def flip_pose(x: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
    """Horizontal flip of (..., 17, C) 3DHP poses: negate x, swap left and right joints (a copy)."""
    out = x[..., FLIP_PERM, :].clone() if isinstance(x, torch.Tensor) else x[..., FLIP_PERM, :].copy()
    out[..., 0] = -out[..., 0]
    return out


def image_size(seq: str) -> tuple[int, int]:
    """(width, height) of a test sequence's frames; training sequences are 2048x2048."""
    return TEST_SIZES.get(seq, TRAIN_SIZE)


# ------------------------------------------------------------------------------------------------ reading
@dataclass
class Sequence3DHP:
    """One camera view of a sequence: `pose_2d` (F, 17, 2) pixels, `pose_3d` (F, 17, 3) mm (camera space)."""

    name: str  # "S1 Seq1|0" (subject sequence | camera) or "TS1"
    pose_2d: np.ndarray
    pose_3d: np.ndarray
    size: tuple[int, int]  # (width, height) of the frames
    valid: np.ndarray | None = None  # (F,) bool, test sequences only

    def __len__(self) -> int:
        return len(self.pose_2d)


def _load_dict(path: Path, what: str) -> dict:
    require_file(path, what)
    if not zipfile.is_zipfile(path):
        raise PoseMambaError(f"{what} {path} is not an npz file (an npz is a zip archive; this file is not)")
    try:
        with np.load(path, allow_pickle=True) as z:
            if "data" not in z.files:
                raise PoseMambaError(f"{what} {path} lacks the key 'data' (found: {', '.join(z.files) or 'none'})")
            data = z["data"]
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, pickle.UnpicklingError) as exc:
        raise PoseMambaError(f"{what} {path} is not a readable npz file: {str(exc).splitlines()[0]}") from None
    if data.shape != () or not isinstance(data.item(), dict):
        raise PoseMambaError(f"{what} {path}: 'data' must hold a pickled dict (P-STMO schema)")
    return data.item()


def _pose(arr: object, where: str, key: str, dims: int, n: int | None = None) -> np.ndarray:
    a = np.asarray(arr)
    if a.ndim != 3 or a.shape[1:] != (17, dims) or not np.issubdtype(a.dtype, np.number):
        raise PoseMambaError(f"{where}: '{key}' has shape {a.shape}, expected (frames, 17, {dims})")
    if n is not None and len(a) != n:
        raise PoseMambaError(f"{where}: '{key}' has {len(a)} frames, 'data_2d' has {n}")
    if len(a) == 0:
        raise PoseMambaError(f"{where}: '{key}' has no frames")
    bad = np.flatnonzero(~np.isfinite(a).reshape(len(a), -1).all(axis=1))
    if len(bad):
        raise PoseMambaError(f"{where}: '{key}' has non-finite values (NaN or Inf) in {len(bad)} frame(s), the "
                             f"first at frame {bad[0]}")
    return a


def _entry_poses(anim: object, where: str, keys: tuple[str, ...]) -> tuple[dict, np.ndarray, np.ndarray]:
    """A checked entry dict holding `keys` (data_2d and data_3d first) -> (entry, 2D poses, 3D poses)."""
    if not isinstance(anim, dict):
        raise PoseMambaError(f"{where} is a {type(anim).__name__}, expected a dict with {', '.join(keys)}")
    missing = [k for k in keys if k not in anim]
    if missing:
        raise PoseMambaError(f"{where} lacks the key(s) {', '.join(missing)}")
    p2 = _pose(anim["data_2d"], where, "data_2d", 2)
    return anim, p2, _pose(anim["data_3d"], where, "data_3d", 3, len(p2))


def _nonempty(out: list[Sequence3DHP], what: str, path: Path) -> list[Sequence3DHP]:
    if not out:
        raise PoseMambaError(f"{what} {path} holds no sequences")
    return out


def read_train(path: str | Path) -> list[Sequence3DHP]:
    """`data_train_3dhp.npz` -> one Sequence3DHP per (subject sequence, camera) in file / dict order."""
    path = Path(path)
    raw = _load_dict(path, "3DHP training file")
    out = []
    for seq, value in raw.items():
        where = f"{path}: '{seq}'"
        if not isinstance(value, (list, tuple)) or len(value) != 2 or not isinstance(value[0], dict):
            raise PoseMambaError(f"{where} must be [cameras dict, fps] (P-STMO schema)")
        for cam, anim in value[0].items():
            w = f"{where} camera '{cam}'"
            _, p2, p3 = _entry_poses(anim, w, ("data_2d", "data_3d"))
            out.append(Sequence3DHP(f"{seq}|{cam}", p2, p3, TRAIN_SIZE))
    return _nonempty(out, "3DHP training file", path)


def read_test(path: str | Path) -> list[Sequence3DHP]:
    """`data_test_3dhp.npz` -> one Sequence3DHP per test sequence TS1..TS6 (those present, in file order)."""
    path = Path(path)
    raw = _load_dict(path, "3DHP test file")
    out = []
    for seq, anim in raw.items():
        where = f"{path}: '{seq}'"
        if seq not in TEST_SIZES:
            raise PoseMambaError(f"{where}: unknown test sequence (expected {', '.join(TEST_SEQUENCES)})")
        anim, p2, p3 = _entry_poses(anim, where, ("data_2d", "data_3d", "valid"))
        valid = np.asarray(anim["valid"]).reshape(-1) if np.ndim(anim["valid"]) else np.zeros(0)
        if len(valid) != len(p2):
            raise PoseMambaError(f"{where}: 'valid' has {len(valid)} frames, 'data_2d' has {len(p2)}")
        out.append(Sequence3DHP(seq, p2, p3, TEST_SIZES[seq], valid.astype(bool)))
    return _nonempty(out, "3DHP test file", path)


def find_files(data: str | Path) -> tuple[Path | None, Path]:
    """A folder holding both npz files, or the test file itself -> (train file or None, test file)."""
    data = Path(data)
    if data.is_dir():
        train, test = data / TRAIN_FILE, data / TEST_FILE
        if not test.is_file():
            raise PoseMambaError(f"{data} holds no {TEST_FILE}")
        return (train if train.is_file() else None), test
    if not data.is_file():
        raise PoseMambaError(f"3DHP data {data} does not exist")
    return None, data


# ---------------------------------------------------------------------------------------- normalisation
def normalize_2d(xy: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(..., 17, 2) pixels -> (..., 17, 3): x/w*2 - 1, y/w*2 - h/w (both over the width), confidence 1."""
    w, h = size
    uv = np.asarray(xy, np.float64)[..., :2] / w * 2 - np.array([1, h / w])
    return np.concatenate([uv, np.ones((*uv.shape[:-1], 1))], axis=-1)


def normalize_3d(xyz: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(..., 17, 3) mm -> root-relative in units of w/2 mm (the reference's screen normalisation, then root)."""
    w, h = size
    out = np.asarray(xyz, np.float64).copy()
    out[..., :2] = out[..., :2] / w * 2 - np.array([1, h / w])
    out[..., 2:] = out[..., 2:] / w * 2
    return out - out[..., ROOT : ROOT + 1, :]


# ------------------------------------------------------------------------------------------------ clips
def partition(n_frames: int, clip_len: int, stride: int) -> np.ndarray:
    """(n_clips, clip_len) frame indices: starts 0, stride, ... < n_frames; a short tail of L frames is
    stretched to clip_len frames with floor(linspace(0, L, clip_len, endpoint=False))."""
    clips = []
    for start in range(0, n_frames, stride):
        left = n_frames - start
        if left >= clip_len:
            clips.append(np.arange(start, start + clip_len))
        else:
            idx = np.floor(np.linspace(0, left, clip_len, endpoint=False)).astype(np.int64)
            clips.append(start + np.clip(idx, 0, left - 1))
    return np.stack(clips) if clips else np.zeros((0, clip_len), np.int64)


@dataclass
class Clips3DHP(ClipFrames):
    """Per-frame normalised arrays of all sequences concatenated; clip i is `frames[split_id[i]]`.

    inputs (F, 17, 3): normalised x, y and confidence 1; labels (F, 17, 3): root-relative normalised 3D;
    split_id (n_clips, T) int64 into the concatenated frames; owner (n_clips,) the clip's sequence name.
    """

    inputs: np.ndarray
    labels: np.ndarray
    split_id: np.ndarray
    owner: np.ndarray
    frame_index: np.ndarray  # (n_clips, T) frame numbers within each clip's own sequence
    extra: dict[str, np.ndarray] = field(default_factory=dict)  # per-frame arrays (test clips: valid, mm 3D)


def build_clips(sequences: list[Sequence3DHP], clip_len: int = 81, stride: int = 9,
                dtype: type = np.float32) -> Clips3DHP:
    """The reference's clips over `sequences` in order (training: stride 9; its test class: stride = clip_len)."""
    inputs, labels, ids, owners, frames, valid, mm = [], [], [], [], [], [], []
    offset = 0
    for seq in sequences:
        part = partition(len(seq), clip_len, stride)
        inputs.append(normalize_2d(seq.pose_2d, seq.size).astype(dtype))
        labels.append(normalize_3d(seq.pose_3d, seq.size).astype(dtype))
        ids.append(part + offset)
        frames.append(part)
        owners += [seq.name] * len(part)
        if seq.valid is not None:
            valid.append(seq.valid)
            mm.append(seq.pose_3d.astype(dtype))
        offset += len(seq)
    extra = {"valid": np.concatenate(valid), "pose_3d_mm": np.concatenate(mm)} if len(valid) == len(sequences) else {}
    return Clips3DHP(np.concatenate(inputs), np.concatenate(labels), np.concatenate(ids).astype(np.int64),
                     np.array(owners), np.concatenate(frames).astype(np.int64), extra)


@dataclass
class EvalWindows:
    """The evaluation samples: one per valid frame of each test sequence, in order.

    seq (n,) sequence name; center (n,) frame number; window (n, T) frame numbers of the input window
    (centre +- T//2, clamped to the sequence = edge padding). `inputs[seq]` (F, 17, 3) normalised 2D with
    confidence; `targets[seq]` (F, 17, 3) mm with the pelvis subtracted (so the pelvis is 0).
    """

    seq: np.ndarray
    center: np.ndarray
    window: np.ndarray
    inputs: dict[str, np.ndarray]
    targets: dict[str, np.ndarray]
    sizes: dict[str, tuple[int, int]]

    def __len__(self) -> int:
        return len(self.seq)

    def sequences(self) -> list[str]:
        return list(self.inputs)

    def batch_inputs(self, idx: np.ndarray) -> np.ndarray:
        """(len(idx), T, 17, 3) input windows of samples `idx`."""
        return np.stack([self.inputs[self.seq[i]][self.window[i]] for i in idx])


def evaluation_windows(sequences: list[Sequence3DHP], clip_len: int = 81, dtype: type = np.float32) -> EvalWindows:
    """The reference's evaluation samples (Fusion + ChunkedGenerator): one clip_len window per valid frame."""
    pad = clip_len // 2
    seqs, centers, windows = [], [], []
    inputs, targets, sizes = {}, {}, {}
    for s in sequences:
        valid = s.valid if s.valid is not None else np.ones(len(s), bool)
        c = np.flatnonzero(valid)
        seqs += [s.name] * len(c)
        centers.append(c)
        windows.append(np.clip(c[:, None] + np.arange(-pad, clip_len - pad), 0, len(s) - 1))
        inputs[s.name] = normalize_2d(s.pose_2d, s.size).astype(dtype)
        p3 = np.asarray(s.pose_3d, np.float64)
        targets[s.name] = p3 - p3[:, ROOT : ROOT + 1]
        sizes[s.name] = s.size
    return EvalWindows(np.array(seqs), np.concatenate(centers).astype(np.int64),
                       np.concatenate(windows).astype(np.int64), inputs, targets, sizes)
