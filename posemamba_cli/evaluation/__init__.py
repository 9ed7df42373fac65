"""The published Human3.6M evaluation protocol, model prediction over test clips, and `evaluate_checkpoint`."""

from posemamba_cli.evaluation.evaluate import evaluate_checkpoint, evaluate_model
from posemamba_cli.evaluation.metrics import mpjpe, p_mpjpe
from posemamba_cli.evaluation.protocol import evaluate_clips, evaluate_h36m

__all__ = ["evaluate_checkpoint", "evaluate_clips", "evaluate_h36m", "evaluate_model", "mpjpe", "p_mpjpe"]
