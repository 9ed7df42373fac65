"""The published Human3.6M evaluation protocol and model prediction over test clips."""

from posemamba_cli.evaluation.metrics import mpjpe, p_mpjpe
from posemamba_cli.evaluation.protocol import evaluate_clips, evaluate_h36m

__all__ = ["evaluate_clips", "evaluate_h36m", "mpjpe", "p_mpjpe"]
