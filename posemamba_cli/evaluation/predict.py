"""Run a lifter over test clips the way the published evaluation does (flip averaging, gt_2d)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

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
