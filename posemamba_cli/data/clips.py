"""Normalised clips: sliced from the preprocessed file (cached, one file per split) or read from clip folders."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from posemamba_cli.data.normalize import camera_resolutions, normalize_2d, normalize_3d
from posemamba_cli.data.reader import H36MData, read_h36m
from posemamba_cli.data.slicing import published_split_ids
from posemamba_cli.errors import PoseMambaError
from posemamba_cli.io.atomic import atomic_path
from posemamba_cli.io.paths import require_file
from posemamba_cli.io.safe_load import load_pickle

CACHE_VERSION = 2  # 2: the source file's values are checked (finite, positive 2.5D factor)
#: per-frame arrays of the test split that the evaluation protocol reads (kept with the test clips).
EVAL_KEYS = ("camera_name", "action", "2.5d_factor", "joints_2.5d_image", "source")


class ClipFrames:
    """Clips as frame indices into per-frame arrays: clip i is `(inputs[split_id[i]], labels[split_id[i]])`.

    Base of the clip containers; the subclass holds `inputs`, `labels` (F, ...) and `split_id` (n_clips, T).
    """

    inputs: np.ndarray
    labels: np.ndarray
    split_id: np.ndarray

    def __len__(self) -> int:
        return len(self.split_id)

    @property
    def clip_len(self) -> int:
        return int(self.split_id.shape[1])

    def clip(self, idx: int) -> tuple[np.ndarray, np.ndarray]:
        """(input (T, 17, 3), label (T, 17, 3)) of clip `idx`."""
        ids = self.split_id[idx]
        return self.inputs[ids], self.labels[ids]


@dataclass
class ClipSet(ClipFrames):
    """Per-frame normalised arrays and the clips' frame indices; clip i is `frames[split_id[i]]`.

    inputs: (F, 17, 3) float32 x, y (normalised) and confidence; labels: (F, 17, 3) float32 normalised
    3D; split_id: (n_clips, T) int64; wh: (F, 2) camera resolution per frame, or None when unknown.
    """

    inputs: np.ndarray
    labels: np.ndarray
    split_id: np.ndarray
    wh: np.ndarray | None = None
    table: dict[str, np.ndarray] | None = None  # test split: the per-frame arrays the evaluation reads

    def stacked_inputs(self) -> np.ndarray:
        """All clips' inputs, (n_clips, T, 17, 3)."""
        return self.inputs[self.split_id]


def _split_frames(split: dict[str, np.ndarray], sample_stride: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    wh = camera_resolutions(split["camera_name"][::sample_stride])
    xy = normalize_2d(split["joint_2d"][::sample_stride, :, :2], wh)
    if "confidence" in split:
        conf = np.asarray(split["confidence"][::sample_stride], dtype=np.float32).reshape(len(xy), 17, 1)
    else:
        conf = np.ones((len(xy), 17, 1), dtype=np.float32)
    labels = normalize_3d(split["joint3d_image"][::sample_stride, :, :3], wh)
    return np.concatenate([xy, conf], axis=2), labels, wh


def build_clip_sets(
    data: H36MData, clip_len: int = 243, stride_train: int = 81, stride_test: int = 243, sample_stride: int = 1
) -> dict[str, ClipSet]:
    """Normalise both splits and slice them as the published code does (numpy seed 0, train first)."""
    split_train, split_test = published_split_ids(
        data["train"]["source"][::sample_stride], data["test"]["source"][::sample_stride],
        clip_len, stride_train, stride_test,
    )  # fmt: skip
    out = {}
    for name, ids in (("train", split_train), ("test", split_test)):
        inputs, labels, wh = _split_frames(data[name], sample_stride)
        table = {k: np.asarray(data[name][k][::sample_stride]) for k in EVAL_KEYS} if name == "test" else None
        out[name] = ClipSet(inputs, labels, ids, wh, table)
    return out


def _cache_paths(data_file: Path, cache_dir: Path, key: str) -> dict[str, Path]:
    return {s: cache_dir / f"{data_file.stem}.{key}.{s}.npz" for s in ("train", "test")}


def _fingerprint(data_file: Path, params: dict) -> str:
    st = data_file.stat()
    info = {"v": CACHE_VERSION, "path": str(data_file.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    return json.dumps({**info, **params}, sort_keys=True)


def load_clips(
    data_file: str | Path,
    clip_len: int = 243,
    stride_train: int = 81,
    stride_test: int = 243,
    sample_stride: int = 1,
    cache_dir: str | Path | None = None,
) -> dict[str, ClipSet]:
    """Both splits of a preprocessed file as ClipSets, cached to one `.npz` per split in `cache_dir`.

    The cache is rebuilt when the data file's size or time stamp or the slicing parameters change.
    """
    data_file = Path(data_file)
    require_file(data_file, "H36M data file")
    params = {"clip_len": clip_len, "stride_train": stride_train, "stride_test": stride_test,
              "sample_stride": sample_stride}
    paths = None
    if cache_dir is not None:
        key = f"f{clip_len}s{stride_train}t{stride_test}ss{sample_stride}"
        paths = _cache_paths(data_file, Path(cache_dir), key)
        fp = _fingerprint(data_file, params)
        try:
            sets = {}
            for split, path in paths.items():
                with np.load(path, allow_pickle=False) as z:
                    if str(z["fingerprint"]) != fp:
                        raise ValueError("stale")
                    table = {k: z["t_" + k] for k in EVAL_KEYS} if split == "test" else None
                    sets[split] = ClipSet(z["inputs"], z["labels"], z["split_id"], z["wh"], table)
            return sets
        except (OSError, KeyError, ValueError):
            pass
    sets = build_clip_sets(read_h36m(data_file), **params)
    if paths is not None:
        for split, path in paths.items():
            cs = sets[split]
            extra = {"t_" + k: v for k, v in (cs.table or {}).items()}
            try:
                with atomic_path(path) as tmp:
                    np.savez(tmp, inputs=cs.inputs, labels=cs.labels, split_id=cs.split_id, wh=cs.wh,
                             fingerprint=np.array(fp), **extra)
            except OSError:  # a read-only or full cache folder only costs the next run the slicing
                break
    return sets


def load_clip_folder(folder: str | Path) -> ClipSet:
    """Read a published clip folder (`MB3D_f243s81/H36M-SH/train/00000000.pkl`, ...) in file-name order.

    Each pickle holds `data_input` (T, 17, 3: normalised x, y, confidence) and `data_label` (T, 17, 3).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise PoseMambaError(f"clip folder {folder} does not exist")
    files = sorted(folder.glob("*.pkl"))
    if not files:
        raise PoseMambaError(f"clip folder {folder} holds no .pkl clips")
    inputs, labels = [], []
    for f in files:
        item = load_pickle(f, "clip file")
        if not isinstance(item, dict) or "data_input" not in item or "data_label" not in item:
            raise PoseMambaError(f"clip file {f} lacks 'data_input' / 'data_label'")
        x, y = np.asarray(item["data_input"], np.float32), np.asarray(item["data_label"], np.float32)
        if x.ndim != 3 or x.shape[1:] not in ((17, 2), (17, 3)) or y.shape != (len(x), 17, 3):
            raise PoseMambaError(f"clip file {f}: data_input {x.shape} / data_label {y.shape}, expected (T, 17, 3)")
        if not (np.isfinite(x).all() and np.isfinite(y).all()):
            raise PoseMambaError(f"clip file {f}: data_input / data_label hold non-finite values (NaN or Inf)")
        if x.shape[2] == 2:
            x = np.concatenate([x, np.ones((len(x), 17, 1), np.float32)], axis=2)
        if inputs and len(x) != len(inputs[0]):
            raise PoseMambaError(f"clip file {f} has {len(x)} frames, the others {len(inputs[0])}")
        inputs.append(x)
        labels.append(y)
    t = len(inputs[0])
    return ClipSet(np.concatenate(inputs), np.concatenate(labels), np.arange(len(files) * t).reshape(len(files), t))
