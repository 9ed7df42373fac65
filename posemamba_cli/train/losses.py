"""The published training losses on (batch, frames, 17, 3) root-relative 3D."""

from __future__ import annotations

import torch
from torch import Tensor

from posemamba_cli.skeleton import H36M_BONES

#: per-joint weights of the temporal-smoothness (`lambda_diff`) term.
DIFF_WEIGHTS = (1, 1, 2.5, 2.5, 1, 2.5, 2.5, 1, 1, 1, 1.5, 1.5, 4, 4, 1.5, 4, 4)


def mpjpe(pred: Tensor, target: Tensor) -> Tensor:
    """Mean Euclidean joint error over every batch, frame and joint."""
    return torch.mean(torch.norm(pred - target, dim=-1))


def n_mpjpe(pred: Tensor, target: Tensor) -> Tensor:
    """MPJPE after scaling each predicted frame by its least-squares scale onto the target."""
    norm_pred = torch.mean(torch.sum(pred**2, dim=3, keepdim=True), dim=2, keepdim=True)
    norm_target = torch.mean(torch.sum(target * pred, dim=3, keepdim=True), dim=2, keepdim=True)
    return mpjpe(norm_target / norm_pred * pred, target)


def velocity(pred: Tensor, target: Tensor) -> Tensor:
    """Mean error of the frame-to-frame displacements."""
    if pred.shape[1] <= 1:
        return pred.new_zeros(())
    return torch.mean(torch.norm((pred[:, 1:] - pred[:, :-1]) - (target[:, 1:] - target[:, :-1]), dim=-1))


def weighted_diff(pred: Tensor) -> Tensor:
    """Mean of per-joint weighted squared frame-to-frame displacements of the prediction."""
    if pred.shape[1] <= 1:
        return pred.new_zeros(())
    w = pred.new_tensor(DIFF_WEIGHTS)[:, None]
    return torch.mean(w * (pred[:, 1:] - pred[:, :-1]) ** 2)


def _bone_lengths(x: Tensor) -> Tensor:
    parent = [p for p, _ in H36M_BONES]
    child = [c for _, c in H36M_BONES]
    return torch.norm(x[..., child, :] - x[..., parent, :], dim=-1)


def limb_variance(pred: Tensor) -> Tensor:
    """Variance of each bone's length over time (mean over bones and clips)."""
    return torch.mean(torch.var(_bone_lengths(pred), dim=1))


def limb_gt(pred: Tensor, target: Tensor) -> Tensor:
    """Mean absolute bone-length error."""
    return torch.mean(torch.abs(_bone_lengths(pred) - _bone_lengths(target)))


def total_loss(pred: Tensor, target: Tensor, weights: dict[str, float]) -> tuple[Tensor, dict[str, Tensor]]:
    """Weighted sum and the parts. `weights` maps lambda_3d, lambda_scale, lambda_3d_velocity, lambda_diff,
    lambda_lv, lambda_lg to their factors; terms with weight 0 are not computed."""
    terms = {
        "lambda_3d": ("mpjpe", lambda: mpjpe(pred, target)),
        "lambda_scale": ("n_mpjpe", lambda: n_mpjpe(pred, target)),
        "lambda_3d_velocity": ("velocity", lambda: velocity(pred, target)),
        "lambda_diff": ("diff", lambda: weighted_diff(pred)),
        "lambda_lv": ("limb_var", lambda: limb_variance(pred)),
        "lambda_lg": ("limb_gt", lambda: limb_gt(pred, target)),
    }
    parts: dict[str, Tensor] = {}
    total = pred.new_zeros(())
    for key, (name, fn) in terms.items():
        w = float(weights.get(key, 0.0))
        if w or name == "mpjpe":
            parts[name] = fn()
            total = total + w * parts[name]
    return total, parts
