"""Training: published configs, losses, the trainer (resume, DDP, bf16), logs."""

from posemamba_cli.train.config import TrainConfig, config_from_dict, load_config
from posemamba_cli.train.data_source import TrainingData, resolve_data
from posemamba_cli.train.trainer import TrainResult, Trainer, TrainingStopped, evaluate_model

__all__ = [
    "TrainConfig", "TrainResult", "Trainer", "TrainingData", "TrainingStopped",
    "config_from_dict", "evaluate_model", "load_config", "resolve_data",
]  # fmt: skip
