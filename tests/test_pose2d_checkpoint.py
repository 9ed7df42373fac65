"""Safe, strict loading of mmpose HRNet checkpoints."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from posemamba_cli.errors import CheckpointError
from posemamba_cli.pose2d import TopDownHRNet, hrnet_state_shapes, load_hrnet, read_hrnet_state_dict
from posemamba_cli.pose2d.checkpoint import check_hrnet_state_dict, infer_hrnet_width


@pytest.fixture(scope="module")
def w32_state() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return TopDownHRNet(32).state_dict()


def mmpose_meta() -> dict:
    """The kind of numpy objects an mmpose release keeps in `meta`."""
    return {
        "mmpose_version": "1.3.2",
        "epoch": np.int64(210),
        "lr": np.float64(5e-6),
        "dataset_meta": {
            "sigmas": np.array([0.026, 0.025, 0.025], dtype=np.float32),
            "flip_indices": np.arange(17),
            "dtype": np.dtype("float32"),
            "names": np.array(["nose", "left_eye"], dtype=object),
        },
    }


class _Payload:
    """Pickles as a call to os.system: what a malicious checkpoint would contain."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_mmpose_release_with_numpy_meta_loads(tmp_path: Path, w32_state) -> None:
    path = tmp_path / "hrnet_w32_coco_256x192.pth"
    torch.save({"meta": mmpose_meta(), "state_dict": w32_state}, path)
    # the plain weights-only load refuses this file, which is why the allow-list is needed
    with pytest.raises(Exception):
        torch.load(path, weights_only=True)
    state = read_hrnet_state_dict(path)
    assert set(state) == set(w32_state)
    torch.testing.assert_close(state["head.final_layer.weight"], w32_state["head.final_layer.weight"])
    estimator = load_hrnet(path)
    assert estimator.width == 32 and estimator.input_size == (192, 256)


def test_legacy_format_and_mmpose0_head_names_load(tmp_path: Path, w32_state) -> None:
    old = {("keypoint_head." + k[5:] if k.startswith("head.") else k): v for k, v in w32_state.items()}
    path = tmp_path / "old.pth"
    torch.save({"meta": mmpose_meta(), "state_dict": old}, path, _use_new_zipfile_serialization=False)
    state = read_hrnet_state_dict(path)
    assert "head.final_layer.bias" in state and not any(k.startswith("keypoint_head") for k in state)


@pytest.mark.parametrize("zipfile", [True, False])
def test_malicious_global_is_refused_without_running(tmp_path: Path, zipfile: bool) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    payload = {"meta": {"note": _Payload(marker)}, "state_dict": {"head.final_layer.weight": torch.zeros(17, 32, 1, 1)}}
    torch.save(payload, path, _use_new_zipfile_serialization=zipfile)
    with pytest.raises(CheckpointError, match=r"refused to load.*'(posix|os|nt)\.system'"):
        read_hrnet_state_dict(path)
    with pytest.raises(CheckpointError):
        load_hrnet(path)
    assert not marker.exists()


def test_not_a_checkpoint_and_missing_file(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"definitely not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable PyTorch checkpoint"):
        read_hrnet_state_dict(junk)
    with pytest.raises(CheckpointError, match="not found"):
        load_hrnet(tmp_path / "absent.pth")


def test_strict_check_names_bad_keys(w32_state) -> None:
    broken = dict(w32_state)
    del broken["backbone.conv1.weight"]
    broken["backbone.extra.weight"] = torch.zeros(1)
    broken["backbone.bn1.weight"] = torch.zeros(63)
    with pytest.raises(CheckpointError) as info:
        check_hrnet_state_dict(broken, 32)
    message = str(info.value)
    assert "missing keys: backbone.conv1.weight" in message
    assert "unexpected keys: backbone.extra.weight" in message
    assert "backbone.bn1.weight (63,) != (64,)" in message


def test_batchnorm_counters_are_optional(w32_state) -> None:
    trimmed = {k: v for k, v in w32_state.items() if not k.endswith("num_batches_tracked")}
    assert len(check_hrnet_state_dict(trimmed, 32)) == len(hrnet_state_shapes(32))


def test_width_is_inferred_and_wrong_heads_refused(w32_state) -> None:
    assert infer_hrnet_width(w32_state) == 32
    with pytest.raises(CheckpointError, match="width 40"):
        infer_hrnet_width({"head.final_layer.weight": torch.zeros(17, 40, 1, 1)})
    with pytest.raises(CheckpointError, match="133 keypoints"):
        infer_hrnet_width({"head.final_layer.weight": torch.zeros(133, 32, 1, 1)})
    with pytest.raises(CheckpointError, match="not a top-down HRNet"):
        load_hrnet({"model_pos": {"x": torch.zeros(1)}})
    # a W48 head on W32 weights: named as mis-shaped
    mixed = dict(w32_state, **{"head.final_layer.weight": torch.zeros(17, 48, 1, 1)})
    with pytest.raises(CheckpointError, match="HRNet-W48.*wrong shapes"):
        load_hrnet(mixed)


def test_estimator_options_are_validated(w32_state) -> None:
    from posemamba_cli.errors import PoseMambaError

    with pytest.raises(PoseMambaError, match="decoding"):
        load_hrnet(w32_state, decoding="udp")
    with pytest.raises(PoseMambaError, match="multiples of 4"):
        load_hrnet(w32_state, input_size=(190, 256))
    estimator = load_hrnet({"state_dict": w32_state}, input_size=(288, 384))
    with pytest.raises(PoseMambaError, match="uint8 BGR"):
        estimator.predict(np.zeros((10, 10), np.uint8), np.array([[0, 0, 5, 5]]))
