"""Training configuration: the published PoseMamba / MotionBERT YAML keys load unchanged.

The lifter's settings live in one nested `PoseMambaConfig` (`cfg.model`); the published flat keys
(`dim_feat`, `depth`, `mlp_ratio`, `clip_len`, `no_conf`, ...) are read into it, never copied beside it.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from posemamba_cli.errors import PoseMambaError
from posemamba_cli.io.paths import require_file
from posemamba_cli.model.config import PoseMambaConfig

#: keys of the published configs that this trainer reads but that do not change what it does
#: (MotionBERT-era options: other backbones, 2D pretraining, masking); kept so those files load as-is.
INERT_KEYS = {
    "train_2d", "finetune", "partial_train", "checkpoint_frequency", "dropout", "dim_rep", "num_heads",
    "att_fuse", "num_joints", "synthetic", "mask_ratio", "mask_T_ratio", "noise", "model_name",
    "backbone", "hidden_dim", "n_layers", "dim_in", "dim_out", "add_velocity", "use_proj_as_2d",
    "data_root_2d", "neighbour_num", "mlp_ratio_2", "use_layer_scale", "layer_scale_init_value",
    "use_adaptive_fusion", "num_heads", "qkv_bias", "qkv_scale", "hierarchical", "use_temporal_similarity",
    "temporal_connection_len", "use_tcn", "graph_only", "drop", "act_layer", "lambda_3d_pos",
}  # fmt: skip


@dataclass
class TrainConfig:
    """Published keys first (same names, same defaults as the published PoseMamba-S config), then ours."""

    # training
    epochs: int = 120
    batch_size: int = 4
    learning_rate: float = 2e-4
    weight_decay: float = 0.01
    lr_decay: float = 0.99
    # model: the published PoseMamba-S sizes unless the file says otherwise
    model: PoseMambaConfig = field(default_factory=lambda: PoseMambaConfig(dim_feat=64, depth=10))
    maxlen: int = 243
    # data
    data_root: str = "data/motion3d/MB3D_f243s81/"
    subset_list: list[str] = field(default_factory=lambda: ["H36M-SH"])
    dt_file: str = "h36m_sh_conf_cam_source_final.pkl"
    data_stride: int = 81
    sample_stride: int = 1
    rootrel: bool = True
    flip: bool = True
    gt_2d: bool = False
    no_eval: bool = False
    # losses
    lambda_3d: float = 1.0
    lambda_scale: float = 0.5
    lambda_3d_velocity: float = 20.0
    lambda_diff: float = 0.5
    lambda_lv: float = 0.0
    lambda_lg: float = 0.0
    lambda_a: float = 0.0
    lambda_av: float = 0.0
    # ours (absent from the published files; defaults reproduce the published run)
    seed: int = 0
    data_file: str | None = None  # a preprocessed pickle; default: data_root/../dt_file
    test_stride: int | None = None  # default: clip_len (the published test stride)
    cache_dir: str | None = None
    num_workers: int = 0
    eval_batch_size: int = 16
    save_every_steps: int = 1000  # also write `latest` every N steps inside an epoch (0: epoch ends only)
    amp: bool = True  # bf16 autocast on CUDA
    scan_backend: str = "auto"  # the selective-scan kernel the run uses (posemamba_cli.ops.use_backend)
    dataset: str = "h36m"  # h36m (the published pickle / clip folders) or mpi3dhp (P-STMO's npz files)
    optimizer: str = "adamw"  # adamw (published H36M recipe) or adam_amsgrad (3DHP recipe: no weight decay)
    ignored_keys: list[str] = field(default_factory=list)

    @property
    def clip_len(self) -> int:
        """Frames per training clip: the model's window (`model.num_frame`)."""
        return self.model.num_frame

    @clip_len.setter
    def clip_len(self, value: int) -> None:
        self.model = self.model.replace(num_frame=int(value))

    @property
    def no_conf(self) -> bool:
        """Input without the confidence channel: the model takes 2 channels (`model.in_chans`)."""
        return self.model.in_chans == 2

    @no_conf.setter
    def no_conf(self, value: bool) -> None:
        self.model = self.model.replace(in_chans=2 if value else 3)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


DATASETS = ("h36m", "mpi3dhp")
OPTIMIZERS = ("adamw", "adam_amsgrad")
_FIELDS = {f.name: f for f in dataclasses.fields(TrainConfig) if f.name != "model"}
#: published (flat) keys that are model settings -> the PoseMambaConfig field they set
MODEL_KEYS = {"dim_feat": "dim_feat", "depth": "depth", "mlp_ratio": "mlp_ratio", "d_state": "d_state",
              "drop_path_rate": "drop_path_rate", "limb_grad": "limb_grad", "clip_len": "num_frame"}


_OPTIONAL_TYPES = {"test_stride": 0, "data_file": "", "cache_dir": ""}  # fields whose default is None


_MODEL_FIELDS = {f.name for f in dataclasses.fields(PoseMambaConfig)}


def _coerce(name: str, value: Any, default: Any) -> Any:
    if default is None:
        default = _OPTIONAL_TYPES.get(name)
    if value is None or default is None:
        return value
    try:
        if isinstance(default, bool):
            if isinstance(value, str):
                return value.strip().lower() in ("1", "true", "yes", "on")
            return bool(value)
        if isinstance(default, int):
            return int(value)
        if isinstance(default, float):
            return float(value)
        if isinstance(default, list):
            return list(value) if isinstance(value, (list, tuple)) else [value]
        return str(value)
    except (TypeError, ValueError):
        expected = type(default).__name__
        raise PoseMambaError(f"config key '{name}' has the value {value!r}, expected a {expected}") from None


def config_from_dict(raw: dict[str, Any], overrides: dict[str, Any] | None = None) -> TrainConfig:
    """Build a TrainConfig; unknown keys are recorded in `ignored_keys`, `root_rel` is read as `rootrel`."""
    raw = {**raw, **(overrides or {})}
    if "root_rel" in raw and "rootrel" not in raw:
        raw["rootrel"] = raw.pop("root_rel")
    defaults = TrainConfig()
    values: dict[str, Any] = {}
    model: dict[str, Any] = {}
    ignored: list[str] = []
    nested = raw.pop("model", None)
    if nested is not None and not isinstance(nested, dict):
        raise PoseMambaError(f"config key 'model' must be a mapping of PoseMamba settings, not {nested!r}")
    for key, value in {**raw, **(nested or {})}.items():
        field_name = MODEL_KEYS.get(key, key if nested and key in nested else None)
        if field_name in _MODEL_FIELDS:
            model[field_name] = _coerce(key, value, getattr(defaults.model, field_name))
        elif key == "no_conf":
            model["in_chans"] = 2 if _coerce(key, value, True) else 3
        elif key in _FIELDS and key != "ignored_keys":
            values[key] = _coerce(key, value, getattr(defaults, key))
        elif key not in INERT_KEYS:
            ignored.append(key)
    try:
        model_config = defaults.model.replace(**model)
    except ValueError as exc:
        raise PoseMambaError(f"config: {exc}") from None
    cfg = TrainConfig(model=model_config, **values, ignored_keys=sorted(ignored))
    if cfg.test_stride is None:
        cfg.test_stride = cfg.clip_len
    for key in ("lambda_a", "lambda_av"):
        if getattr(cfg, key):
            raise PoseMambaError(
                f"config key '{key}' is non-zero; the angle losses are not implemented (the published configs set 0)"
            )
    if cfg.dataset not in DATASETS:
        raise PoseMambaError(f"config key 'dataset' is {cfg.dataset!r}, expected one of {', '.join(DATASETS)}")
    if cfg.optimizer not in OPTIMIZERS:
        raise PoseMambaError(f"config key 'optimizer' is {cfg.optimizer!r}, expected one of {', '.join(OPTIMIZERS)}")
    if not cfg.rootrel:
        raise PoseMambaError("rootrel: False is not supported (PoseMamba predicts root-relative 3D)")
    if cfg.epochs < 1 or cfg.batch_size < 1 or cfg.clip_len < 1 or cfg.data_stride < 1:
        raise PoseMambaError("epochs, batch_size, clip_len and data_stride must be positive")
    _check_numbers(cfg)
    return cfg


#: float keys -> whether 0 is allowed (the optimiser rejects negative or NaN values only once training starts)
_NUMBERS = {"learning_rate": False, "lr_decay": False, "weight_decay": True,
            **{k: True for k in ("lambda_3d", "lambda_scale", "lambda_3d_velocity", "lambda_diff", "lambda_lv",
                                 "lambda_lg")}}  # fmt: skip


def _check_numbers(cfg: TrainConfig) -> None:
    for key, zero_ok in _NUMBERS.items():
        value = getattr(cfg, key)
        if not math.isfinite(value) or value < 0 or (value == 0 and not zero_ok):
            kind = "a finite number >= 0" if zero_ok else "a positive finite number"
            raise PoseMambaError(f"config key '{key}' is {value!r}; it must be {kind}")


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """Read a YAML config file (published or ours)."""
    path = Path(path)
    require_file(path, "config file")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise PoseMambaError(f"config file {path} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(raw, dict):
        raise PoseMambaError(f"config file {path} must hold a mapping of keys, not a {type(raw).__name__}")
    try:
        return config_from_dict(raw, overrides)
    except PoseMambaError as exc:
        raise PoseMambaError(f"config file {path}: {exc}") from None
