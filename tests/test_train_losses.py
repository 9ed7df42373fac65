"""Training losses and config loading (published YAML keys)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from posemamba_cli.errors import PoseMambaError
from posemamba_cli.train.config import config_from_dict, load_config
from posemamba_cli.train.losses import DIFF_WEIGHTS, mpjpe, n_mpjpe, total_loss, velocity, weighted_diff

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def test_mpjpe_and_scale_invariant_mpjpe():
    g = torch.randn(2, 5, 17, 3, dtype=torch.float64)
    p = g + torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64)
    assert mpjpe(p, g).item() == pytest.approx(1.0)
    assert n_mpjpe(0.5 * g, g).item() == pytest.approx(0.0, abs=1e-12)  # scale removed per frame
    assert mpjpe(0.5 * g, g).item() > 0.1


def test_velocity_and_weighted_diff():
    g = torch.zeros(1, 4, 17, 3)
    p = g.clone()
    p[:, 2:, 3, 0] = 1.0  # joint 3 jumps by 1 between frames 1 and 2
    assert velocity(g + 5.0, g).item() == 0.0  # constant offsets do not count
    assert velocity(p, g).item() == pytest.approx(1.0 / (3 * 17))
    assert weighted_diff(p).item() == pytest.approx(DIFF_WEIGHTS[3] / (3 * 17 * 3))


def test_total_loss_uses_the_published_weights():
    torch.manual_seed(0)
    p, g = torch.randn(2, 9, 17, 3), torch.randn(2, 9, 17, 3)
    cfg = config_from_dict({})
    weights = {k: getattr(cfg, k) for k in ("lambda_3d", "lambda_scale", "lambda_3d_velocity", "lambda_diff")}
    assert weights == {"lambda_3d": 1.0, "lambda_scale": 0.5, "lambda_3d_velocity": 20.0, "lambda_diff": 0.5}
    total, parts = total_loss(p, g, weights)
    expect = mpjpe(p, g) + 0.5 * n_mpjpe(p, g) + 20.0 * velocity(p, g) + 0.5 * weighted_diff(p)
    assert total.item() == pytest.approx(expect.item(), rel=1e-6)
    assert set(parts) == {"mpjpe", "n_mpjpe", "velocity", "diff"}


@pytest.mark.parametrize(("name", "dim", "depth"), [("S", 64, 10), ("B", 128, 10), ("L", 128, 20)])
def test_published_configs_load(name, dim, depth):
    cfg = load_config(CONFIGS / f"PoseMamba_train_h36m_{name}.yaml")
    assert (cfg.model.dim_feat, cfg.model.depth, cfg.clip_len) == (dim, depth, 243)
    assert (cfg.data_stride, cfg.test_stride) == (81, 243)
    assert (cfg.batch_size, cfg.learning_rate, cfg.weight_decay, cfg.lr_decay, cfg.epochs) == (4, 2e-4, 0.01, 0.99, 120)
    assert cfg.flip and cfg.no_conf and cfg.rootrel and not cfg.gt_2d
    assert cfg.model.in_chans == 2 and cfg.model.num_frame == cfg.clip_len
    assert cfg.ignored_keys == []


def test_config_errors_and_unknown_keys(tmp_path):
    cfg = config_from_dict({"batch_size": "8", "flip": "false", "root_rel": True, "my_key": 1, "test_stride": "27"})
    assert cfg.batch_size == 8 and cfg.flip is False and cfg.ignored_keys == ["my_key"] and cfg.test_stride == 27
    with pytest.raises(PoseMambaError, match="batch_size"):
        config_from_dict({"batch_size": "many"})
    with pytest.raises(PoseMambaError, match="lambda_a"):
        config_from_dict({"lambda_a": 0.1})
    with pytest.raises(PoseMambaError, match="does not exist"):
        load_config(tmp_path / "none.yaml")
    (tmp_path / "bad.yaml").write_text("epochs: [1, 2\n")
    with pytest.raises(PoseMambaError, match="not valid YAML"):
        load_config(tmp_path / "bad.yaml")
