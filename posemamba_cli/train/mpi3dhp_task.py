"""MPI-INF-3DHP as a training task: data from P-STMO's npz files, the reference evaluation every epoch,
and the best epoch's predictions as `inference_data.mat`.

The Task contract (train.task): the training dataset, the root joint, an evaluation returning metrics
(`mpjpe_mm` picks the best epoch) and `save_best(run_dir)` after an improving epoch.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from posemamba_cli.data import mpi3dhp
from posemamba_cli.data.mpi3dhp_dataset import Clip3DHPDataset
from posemamba_cli.errors import PoseMambaError
from posemamba_cli.evaluation.mpi3dhp import evaluate_3dhp, write_inference_mat
from posemamba_cli.evaluation.mpi3dhp_predict import model_in_chans, predict_windows, windows_mpjpe
from posemamba_cli.train.run_dir import INFERENCE_MAT
from posemamba_cli.train.task import TrainingData


class MPI3DHPTask:
    """Training clips, evaluation windows and scoring of one 3DHP data folder."""

    name = "mpi3dhp"
    root_joint = mpi3dhp.ROOT
    score_keys = ("mpjpe_mm",)

    def __init__(self, train: mpi3dhp.Clips3DHP | None, test: list[mpi3dhp.Sequence3DHP], clip_len: int,
                 joints: int = 14) -> None:
        self.train, self.test_sequences, self.joints = train, test, joints
        self.windows = mpi3dhp.evaluation_windows(test, clip_len)
        self.last_predictions: dict[str, np.ndarray] | None = None

    def train_dataset(self, cfg: Any) -> Clip3DHPDataset:
        if self.train is None:
            raise PoseMambaError(f"no {mpi3dhp.TRAIN_FILE} was given; training needs it")
        return Clip3DHPDataset(self.train, flip=cfg.flip, in_chans=2 if cfg.no_conf else 3, seed=cfg.seed)

    def predict(self, model: torch.nn.Module, cfg: Any, device: torch.device,
                progress: Callable[[int], None] | None = None) -> dict[str, np.ndarray]:
        """"TS<i>" -> (n_valid, 17, 3) mm, root 0 (flip test when `cfg.flip`)."""
        in_chans = model_in_chans(model, 2 if cfg.no_conf else 3)
        return predict_windows(model, self.windows, batch_size=cfg.eval_batch_size, flip=cfg.flip,
                               in_chans=in_chans, device=device, amp=cfg.amp, progress=progress)

    def evaluate(self, model: torch.nn.Module, cfg: Any, device: torch.device,
                 progress: Callable[[int], None] | None = None) -> dict[str, Any]:
        """The reference MPJPE (mm, picks the best epoch) plus PCK / AUC of the MATLAB scoring."""
        preds = self.predict(model, cfg, device, progress)
        self.last_predictions = preds
        scores = evaluate_3dhp(self.test_sequences, preds, joints=self.joints)
        return {**windows_mpjpe(self.windows, preds), "pck": scores["pck"], "auc": scores["auc"]}

    def save_best(self, run_dir: Path) -> None:
        """The predictions of the last evaluation, as `run_dir/inference_data.mat`."""
        if self.last_predictions is not None:
            write_inference_mat(Path(run_dir) / INFERENCE_MAT, self.last_predictions)


def _data_folder(cfg: Any, data: str | Path | None) -> Path:
    explicit = data or cfg.data_file
    folder = Path(explicit) if explicit else Path(cfg.data_root)
    if folder.is_file():
        folder = folder.parent
    for name in (mpi3dhp.TRAIN_FILE, mpi3dhp.TEST_FILE):
        if not (folder / name).is_file():
            hint = "" if explicit else "; pass --data FOLDER or set data_file"
            raise PoseMambaError(f"3DHP data folder {folder} has no {name}{hint}")
    return folder


def resolve_3dhp(cfg: Any, data: str | Path | None = None) -> TrainingData:
    """TrainingData for a 3DHP config: `data` (or `data_file` / `data_root`) is the folder with both npz."""
    folder = _data_folder(cfg, data)
    train = mpi3dhp.build_clips(mpi3dhp.read_train(folder / mpi3dhp.TRAIN_FILE), cfg.clip_len, cfg.data_stride)
    task = MPI3DHPTask(train, mpi3dhp.read_test(folder / mpi3dhp.TEST_FILE), cfg.clip_len)
    desc = f"3DHP {folder} (clips {cfg.clip_len}/{cfg.data_stride}, one window per valid test frame)"
    return TrainingData(train, task.windows, desc, task=task)
