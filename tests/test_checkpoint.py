"""Checkpoint layouts, strict loading with useful errors, and safe unpickling."""

import pickle

import pytest
import torch

from posemamba_cli import PoseMamba, load_lifter, save_checkpoint
from posemamba_cli.errors import CheckpointError, PoseMambaError
from posemamba_cli.model import PoseMambaConfig
from posemamba_cli.model.checkpoint import read_state_dict


def tiny(**kw):
    torch.manual_seed(0)
    return PoseMamba(num_frame=9, dim_feat=16, depth=2, **kw).eval()


def test_own_format_roundtrip_rebuilds_model_from_file_alone(tmp_path):
    model = tiny(drop_path_rate=0.1)
    path = save_checkpoint(tmp_path / "m.pt", model, epoch=3)
    loaded = load_lifter(path)
    assert loaded.config == model.config and not loaded.training
    x = torch.randn(1, 9, 17, 2)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)
    assert torch.load(path, weights_only=True)["epoch"] == 3
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]  # no temporary left behind


def test_published_layout_and_bare_state_dict(tmp_path):
    model = tiny()
    published = {"epoch": 7, "lr": 1e-4, "min_loss": 40.0,
                 "model_pos": {"module." + k: v for k, v in model.state_dict().items()}}
    torch.save(published, tmp_path / "PoseMamba-t.pth.tr")
    torch.save(model.state_dict(), tmp_path / "bare.pth")
    x = torch.randn(2, 5, 17, 2)
    for name in ("PoseMamba-t.pth.tr", "bare.pth"):
        loaded = load_lifter(tmp_path / name)
        assert {k: getattr(loaded.config, k) for k in ("num_frame", "dim_feat", "depth", "mlp_ratio", "d_state")} == \
            {"num_frame": 9, "dim_feat": 16, "depth": 2, "mlp_ratio": 2.0, "d_state": 16}
        with torch.no_grad():
            torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)


def test_sizes_of_published_presets_are_read_from_shapes():
    for preset, (dim, depth) in {"S": (64, 10), "L": (128, 20)}.items():
        cfg = PoseMambaConfig.from_state_dict(PoseMamba.from_preset(preset).state_dict())
        assert (cfg.dim_feat, cfg.depth, cfg.num_frame, cfg.mlp_ratio) == (dim, depth, 243, 2.0)


def test_missing_and_misshaped_keys_are_named(tmp_path):
    state = tiny().state_dict()
    del state["STEblocks.1.op.Ds"]
    state["head.1.weight"] = torch.zeros(4, 16)
    state["extra.bias"] = torch.zeros(1)
    cfg = tiny().config.to_dict()
    torch.save({"format": "posemamba-cli/1", "config": cfg, "model": state}, tmp_path / "bad.pt")
    with pytest.raises(CheckpointError) as err:
        load_lifter(tmp_path / "bad.pt")
    msg = str(err.value)
    assert "missing: STEblocks.1.op.Ds" in msg
    assert "head.1.weight (4, 16) != (3, 16)" in msg
    assert "unexpected: extra.bias" in msg


def test_wrong_size_published_checkpoint_is_named(tmp_path):
    state = {"module." + k: v for k, v in tiny().state_dict().items()}
    state["module.TTEblocks.1.op.A_logs"] = torch.zeros(128, 8)  # d_state 8 in one block only
    torch.save({"model_pos": state}, tmp_path / "x.pth")
    with pytest.raises(CheckpointError, match=r"mis-shaped: TTEblocks.1.op.A_logs \(128, 8\) != \(128, 16\)$"):
        load_lifter(tmp_path / "x.pth")


def test_unsafe_pickle_is_refused(tmp_path):
    class Boom:
        def __reduce__(self):
            return (print, ("this must never run",))

    path = tmp_path / "evil.pth"
    with open(path, "wb") as fh:
        pickle.dump({"model_pos": Boom()}, fh)
    with pytest.raises(CheckpointError, match="refused to load|not a readable"):
        read_state_dict(path)
    torch.save({"model_pos": {"x": Boom()}}, tmp_path / "evil2.pth")
    with pytest.raises(CheckpointError, match="refused to load: it refers to the Python global '(builtins.)?print'"):
        read_state_dict(tmp_path / "evil2.pth")


def test_published_numpy_min_loss_loads(tmp_path):
    import numpy as np

    model = tiny()
    published = {"epoch": 119, "lr": np.float64(1e-5), "min_loss": np.float64(39.8),
                 "model_pos": {"module." + k: v for k, v in model.state_dict().items()}}
    torch.save(published, tmp_path / "PoseMamba-t.pth.tr")
    loaded = load_lifter(tmp_path / "PoseMamba-t.pth.tr")
    assert loaded.config.dim_feat == 16


def test_not_a_checkpoint_and_missing_file(tmp_path):
    (tmp_path / "text.pth").write_text("hello")
    with pytest.raises(CheckpointError, match="not a readable PyTorch checkpoint"):
        read_state_dict(tmp_path / "text.pth")
    with pytest.raises(CheckpointError, match="not found"):
        read_state_dict(tmp_path / "nope.pth")
    torch.save({"weights": [1, 2]}, tmp_path / "empty.pth")
    with pytest.raises(CheckpointError, match="no model weights"):
        read_state_dict(tmp_path / "empty.pth")


def test_checkpoints_written_with_a_dict_config_still_load(tmp_path):
    """Our files from before the config dataclass: the same keys as a plain dict (no scan_backend in older ones)."""
    model = tiny()
    old = {"num_frame": 9, "num_joints": 17, "in_chans": 2, "dim_feat": 16, "depth": 2, "mlp_ratio": 2.0,
           "d_state": 16, "drop_path_rate": 0.2, "limb_grad": "published"}
    torch.save({"format": "posemamba-cli/1", "config": old, "model": model.state_dict(), "epoch": 1}, tmp_path / "o.pt")
    loaded = load_lifter(tmp_path / "o.pt")
    assert loaded.config == PoseMambaConfig(**old)
    x = torch.randn(1, 9, 17, 2)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)
    # files that stored the scan backend (a runtime choice now: ops.use_backend) load the same model
    torch.save({"format": "posemamba-cli/1", "config": {**old, "scan_backend": "torch"}, "model": model.state_dict()},
               tmp_path / "b.pt")
    assert load_lifter(tmp_path / "b.pt").config == PoseMambaConfig(**old)
    torch.save({"format": "posemamba-cli/1", "config": {**old, "heads": 4}, "model": model.state_dict()},
               tmp_path / "future.pt")
    with pytest.raises(CheckpointError, match="heads"):
        load_lifter(tmp_path / "future.pt")


def test_config_dataclass_presets_and_pretrained_names():
    assert PoseMamba.from_preset("S").config == PoseMambaConfig(dim_feat=64, depth=10)
    for spelling in ("L", "l", "PoseMamba-L", "posemamba-l"):
        assert PoseMamba.from_preset(spelling, num_frame=27).config == PoseMambaConfig(num_frame=27, depth=20)
    with pytest.raises(ValueError, match="unknown preset"):
        PoseMamba.from_preset("XL")
    with pytest.raises(ValueError, match="limb_grad"):
        PoseMambaConfig(limb_grad="half")
    base = PoseMambaConfig(num_frame=9, dim_feat=16, depth=2)
    assert PoseMamba(base, depth=1).config == base.replace(depth=1)  # keywords replace config fields


def test_from_pretrained_resolves_registry_names_in_the_weights_folder(tmp_path):
    """A pretrained name resolves through the hub registry to weights_dir/<file>; offline and absent: one line."""
    from posemamba_cli.hub import load_registry

    with pytest.raises(PoseMambaError, match="posemamba-s.*download-weights posemamba-s"):
        PoseMamba.from_pretrained("posemamba-s", weights_dir=tmp_path, offline=True)
    model = PoseMamba.from_preset("S", num_frame=27)
    entry = load_registry().get("posemamba-s")
    torch.save({"epoch": 1, "model_pos": {"module." + k: v for k, v in model.state_dict().items()}},
               tmp_path / entry.file)
    loaded = PoseMamba.from_pretrained("posemamba-s", weights_dir=tmp_path, offline=True)
    assert loaded.config == model.config and not loaded.training
    assert load_lifter("posemamba-s", weights_dir=tmp_path, offline=True).config == model.config


def test_what_is_wrong_with_a_checkpoint_is_said_and_names_the_file(tmp_path, monkeypatch):
    (tmp_path / "w").mkdir()
    with pytest.raises(CheckpointError, match=r"checkpoint .*w is a folder, not a file"):
        load_lifter(tmp_path / "w")
    (tmp_path / "plain.pkl").write_bytes(pickle.dumps({"weights": [1.0, 2.0]}))
    with pytest.raises(CheckpointError, match=r"plain.pkl: a plain Python pickle \(dict\), not a PyTorch checkpoint"):
        load_lifter(tmp_path / "plain.pkl")
    model = PoseMamba(num_frame=27, dim_feat=16, depth=1)
    whole = save_checkpoint(tmp_path / "whole.pt", model).read_bytes()
    (tmp_path / "cut.pt").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(CheckpointError, match="cut.pt: a damaged or truncated zip archive"):
        load_lifter(tmp_path / "cut.pt")
    torch.save({"encoder.weight": torch.zeros(3, 3)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match=r"other.pt: not a PoseMamba state dict \(it has no 'Temporal_pos_embed'"):
        load_lifter(tmp_path / "other.pt")
    state = model.state_dict()
    state["Temporal_pos_embed"] = torch.zeros(5)
    torch.save(state, tmp_path / "shapes.pt")
    with pytest.raises(CheckpointError, match="shapes.pt: not a PoseMamba state dict .its tensors do not have"):
        load_lifter(tmp_path / "shapes.pt")

    long = ("PytorchStreamReader failed locating file data.pkl: file not found. " * 4).strip()

    def fails(*args, **kwargs):
        raise RuntimeError(long + "\nsecond line")

    monkeypatch.setattr(torch, "load", fails)
    with pytest.raises(CheckpointError) as err:
        load_lifter(tmp_path / "whole.pt")
    reason = str(err.value).split("(", 1)[1]
    assert reason.endswith("file not found.)") and "second line" not in reason and len(reason) <= 202
