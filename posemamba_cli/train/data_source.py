"""Find the training data a config names, with its task: Human3.6M's preprocessed pickle (sliced, cached) or
published clip folders, or MPI-INF-3DHP's npz files (train.mpi3dhp_task)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from posemamba_cli import settings
from posemamba_cli.data.clips import ClipSet, load_clip_folder, load_clips
from posemamba_cli.errors import PoseMambaError
from posemamba_cli.train.config import TrainConfig
from posemamba_cli.train.mpi3dhp_task import resolve_3dhp
from posemamba_cli.train.task import TrainingData


def default_cache_dir() -> Path:
    """$POSEMAMBA_CACHE/clips (the cache root every cache shares; see `posemamba_cli.settings`)."""
    return settings.clip_cache_dir()


def _pickle_candidates(cfg: TrainConfig) -> list[Path]:
    root = Path(cfg.data_root)
    return [root.parent / cfg.dt_file, root / cfg.dt_file, Path("data/motion3d") / cfg.dt_file]


def _concat(sets: list[ClipSet]) -> ClipSet:
    if len(sets) == 1:
        return sets[0]
    offsets = np.cumsum([0] + [len(s.inputs) for s in sets[:-1]])
    return ClipSet(
        np.concatenate([s.inputs for s in sets]), np.concatenate([s.labels for s in sets]),
        np.concatenate([s.split_id + o for s, o in zip(sets, offsets)]),
    )  # fmt: skip


def resolve_data(cfg: TrainConfig, data: str | Path | None = None) -> TrainingData:
    """`data` (or `data_file` in the config) may be a preprocessed pickle or a folder with train/ and test/.

    Without either, the published locations are tried: `data_root/../dt_file`, then the clip folders
    `data_root/<subset>/{train,test}` for every subset in `subset_list`.
    """
    if cfg.dataset == "mpi3dhp":
        return resolve_3dhp(cfg, data)
    explicit = data or cfg.data_file
    if explicit:
        path = Path(explicit)
        if path.is_dir():
            train, test = load_clip_folder(path / "train"), load_clip_folder(path / "test")
            return TrainingData(train, test, f"clip folder {path}")
        candidates = [path]
    else:
        candidates = _pickle_candidates(cfg)
    for path in candidates:
        if path.is_file():
            cache = Path(cfg.cache_dir) if cfg.cache_dir else default_cache_dir()
            try:
                cache.mkdir(parents=True, exist_ok=True)
            except OSError:
                cache = None
            sets = load_clips(path, cfg.clip_len, cfg.data_stride, cfg.test_stride, cfg.sample_stride, cache)
            return TrainingData(sets["train"], sets["test"], f"{path} (sliced {cfg.clip_len}/{cfg.data_stride})")
    if explicit:
        raise PoseMambaError(f"data file {explicit} does not exist")
    folders = [Path(cfg.data_root) / s for s in cfg.subset_list]
    if folders and all((f / "train").is_dir() and (f / "test").is_dir() for f in folders):
        return TrainingData(
            _concat([load_clip_folder(f / "train") for f in folders]),
            _concat([load_clip_folder(f / "test") for f in folders]),
            f"clip folders {', '.join(map(str, folders))}",
        )
    tried = ", ".join(str(p) for p in candidates + [f / "train" for f in folders])
    raise PoseMambaError(f"no training data found (tried {tried}); pass --data FILE or set data_file")
