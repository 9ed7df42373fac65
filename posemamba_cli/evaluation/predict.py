"""Run a lifter over test clips the way the published evaluation does (flip averaging, gt_2d)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from posemamba_cli.data.clips import ClipSet
from posemamba_cli.data.dataset import gt_2d_input
from posemamba_cli.evaluation.protocol import evaluate_clips
from posemamba_cli.skeleton import flip_pose


@torch.no_grad()
def predict_clips(
    model: torch.nn.Module,
    inputs: np.ndarray,
    batch_size: int = 16,
    flip: bool = True,
    device: str | torch.device = "cpu",
    amp: bool = False,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """(n, T, 17, C) normalised inputs -> (n, T, 17, 3) float32 predictions (root not yet zeroed).

    With `flip`, the prediction is averaged with the flipped-back prediction of the flipped input.
    `amp` runs the model under bf16 autocast (CUDA only). `progress(k)` is called after each batch.
    """
    was_training = model.training
    model.eval()
    use_amp = amp and torch.device(device).type == "cuda"
    outs = []
    try:
        for start in range(0, len(inputs), batch_size):
            x = torch.as_tensor(np.ascontiguousarray(inputs[start : start + batch_size]), device=device)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_amp):
                pred = model(x).float()
                if flip:
                    pred = (pred + flip_pose(model(flip_pose(x)).float())) / 2
            outs.append(pred.cpu().numpy())
            if progress is not None:
                progress(len(x))
    finally:
        model.train(was_training)
    return np.concatenate(outs) if outs else np.zeros((0, *inputs.shape[1:3], 3), np.float32)


def apply_gt_2d(pred: np.ndarray, inputs: np.ndarray) -> np.ndarray:
    """The published `gt_2d` evaluation: root zeroed, then x, y replaced by the (ground-truth) 2D input."""
    out = pred.copy()
    out[:, :, 0, :] = 0
    out[..., :2] = inputs[..., :2]
    return out


def clip_inputs(test: ClipSet, gt_2d: bool, no_conf: bool) -> np.ndarray:
    """The model inputs of every test clip, (n, T, 17, 2 or 3), as the published evaluation feeds them."""
    x = gt_2d_input(test.labels)[test.split_id] if gt_2d else test.stacked_inputs()
    return x[..., :2] if no_conf else x


def evaluate_model(model: torch.nn.Module, test: ClipSet, *, no_conf: bool = True, flip: bool = True,
                   gt_2d: bool = False, batch_size: int = 16, device: str | torch.device = "cpu", amp: bool = False,
                   progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """The published protocol on `test` (P1 / P2 per action, in mm) when it carries the per-frame table;
    otherwise MPJPE in normalised units. `progress(k)` is called after each batch of k clips."""
    x = clip_inputs(test, gt_2d, no_conf)
    pred = predict_clips(model, x, batch_size, flip=flip, device=device, amp=amp, progress=progress)
    if gt_2d:
        pred = apply_gt_2d(pred, x)
    if test.table is not None:
        return evaluate_clips(test.table, pred, test.split_id, zero_root=not gt_2d)
    pred[:, :, 0] = 0
    gt = test.labels[test.split_id]
    gt = gt - gt[:, :, :1]
    return {"mpjpe_normalised": float(np.mean(np.linalg.norm(pred - gt, axis=-1)))}
