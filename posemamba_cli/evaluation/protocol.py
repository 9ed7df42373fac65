"""The published Human3.6M evaluation protocol (P1 / P2 per action, mean over actions)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from posemamba_cli.data.h36m import DAMAGED_SOURCES
from posemamba_cli.data.normalize import camera_resolutions, denormalize_clips
from posemamba_cli.data.reader import H36MData, read_h36m
from posemamba_cli.data.slicing import published_split_ids
from posemamba_cli.errors import PoseMambaError
from posemamba_cli.evaluation.metrics import mpjpe, p_mpjpe


def published_test_clip_ids(
    data: H36MData, clip_len: int = 243, stride_train: int = 81, stride_test: int = 243
) -> np.ndarray:
    """The published test clip frame indices (train sliced first with numpy seeded 0)."""
    return published_split_ids(data["train"]["source"], data["test"]["source"], clip_len, stride_train, stride_test)[1]


def evaluate_clips(
    test: Mapping[str, np.ndarray], predictions: np.ndarray, split_id_test: np.ndarray, zero_root: bool = True
) -> dict:
    """Score normalised root-relative predictions (n_clips, T, 17, 3) of the test clips `split_id_test`.

    `test` holds the test split's per-frame arrays (`camera_name`, `action`, `2.5d_factor`,
    `joints_2.5d_image`, `source`). The root joint is set to 0 (unless `zero_root` is False: `gt_2d`
    results arrive zeroed), each clip denormalised with its first frame's resolution, scaled per frame by
    the 2.5D factor to millimetres; damaged sources skipped; per-frame errors averaged over the clips that
    cover the frame; per action the mean over its frames; reported P1 / P2 the mean over actions.
    """
    preds = np.array(predictions, dtype=np.float32, copy=True)
    if preds.ndim != 4 or preds.shape[2:] != (17, 3) or len(preds) != len(split_id_test):
        raise PoseMambaError(
            f"predictions have shape {preds.shape}, expected ({len(split_id_test)}, "
            f"{split_id_test.shape[1] if split_id_test.ndim == 2 else '?'}, 17, 3) for the test clips"
        )
    if preds.shape[1] != split_id_test.shape[1]:
        raise PoseMambaError(f"predictions have {preds.shape[1]} frames per clip, the clips {split_id_test.shape[1]}")
    if zero_root:
        preds[:, :, 0, :] = 0
    clip_wh = camera_resolutions(test["camera_name"])[split_id_test][:, 0, :]
    preds = denormalize_clips(preds, clip_wh)

    actions = np.array(test["action"])
    factors = np.array(test["2.5d_factor"])
    gts = np.array(test["joints_2.5d_image"])[..., :3]
    sources = np.array(test["source"])
    n_frames = len(actions)
    e1_all = np.zeros(n_frames)
    e2_all = np.zeros(n_frames)
    covered = np.zeros(n_frames)
    for idx, frame_list in enumerate(split_id_test):
        if str(sources[frame_list[0]])[:-6] in DAMAGED_SOURCES:
            continue
        pred = preds[idx] * factors[frame_list][:, None, None]
        gt = gts[frame_list]
        pred = pred - pred[:, 0:1, :]
        gt = gt - gt[:, 0:1, :]
        # fancy-index `+=`: a frame repeated within one resampled clip counts once (as published)
        e1_all[frame_list] += mpjpe(pred, gt)
        e2_all[frame_list] += p_mpjpe(pred, gt)
        covered[frame_list] += 1

    action_names = sorted(set(actions.astype(str).tolist()))
    per_frame = e1_all > 0
    p1: dict[str, float] = {}
    p2: dict[str, float] = {}
    for action in action_names:
        sel = per_frame & (actions == action)
        if not sel.any():
            continue
        p1[action] = float(np.mean(e1_all[sel] / covered[sel]))
        p2[action] = float(np.mean(e2_all[sel] / covered[sel]))
    if not p1:
        raise PoseMambaError("no test frame was scored (every clip is from a skipped source)")
    return {
        "p1_mm": float(np.mean(np.array(list(p1.values())))),
        "p2_mm": float(np.mean(np.array(list(p2.values())))),
        "p1_per_action_mm": p1,
        "p2_per_action_mm": p2,
        "n_test_frames": int(n_frames),
        "n_test_clips": int(len(split_id_test)),
        "n_scored_frames": int(per_frame.sum()),
    }


def evaluate_h36m(data_file: str | Path | H36MData, predictions: np.ndarray, clip_len: int | None = None) -> dict:
    """The published protocol on normalised root-relative 3D predictions for the published test clips.

    Returns `p1_mm`, `p2_mm` (means over actions), `p1_per_action_mm`, `p2_per_action_mm`, and counts.
    """
    data = data_file if isinstance(data_file, H36MData) else read_h36m(data_file)
    preds = np.asarray(predictions)
    n = clip_len or (preds.shape[1] if preds.ndim == 4 else 243)
    split_train, split_test = published_split_ids(data["train"]["source"], data["test"]["source"], n)
    result = evaluate_clips(data["test"], preds, split_test)
    result["n_train_clips"] = int(len(split_train))
    return result
