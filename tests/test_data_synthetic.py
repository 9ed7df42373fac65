"""The synthetic generator: published schema, consistent geometry, subjects, cameras, determinism, CLI."""

from __future__ import annotations

import numpy as np
import pytest

from posemamba_cli.data import load_clips, read_h36m
from posemamba_cli.data.h36m import CAMERA_RESOLUTIONS
from posemamba_cli.data.synthetic import SyntheticSpec, generate, write_synthetic
from posemamba_cli.errors import PoseMambaError
from posemamba_cli.skeleton import H36M_BONES

SMALL = SyntheticSpec(actions=(2, 14), min_frames=150, max_frames=260, seed=3)


@pytest.fixture(scope="module")
def data():
    return generate(SMALL)


def test_schema_matches_the_published_file(data, tmp_path):
    keys = {"joint_2d", "confidence", "joint3d_image", "joints_2.5d_image", "2.5d_factor", "camera_name", "action",
            "source"}
    for split in ("train", "test"):
        d = data[split]
        assert set(d) == keys
        n = len(d["source"])
        assert d["joint_2d"].shape == (n, 17, 2) and d["joint_2d"].dtype == np.float32
        assert d["joint3d_image"].shape == d["joints_2.5d_image"].shape == (n, 17, 3)
        assert d["confidence"].shape == (n, 17) and 0 < d["confidence"].min() and d["confidence"].max() <= 1
        assert set(np.unique(d["camera_name"])) == set(CAMERA_RESOLUTIONS)
    path = tmp_path / "syn.pkl"
    write_synthetic(path, SMALL)
    loaded = read_h36m(path)  # the reader's validation accepts it
    assert len(loaded["train"]["source"]) == len(data["train"]["source"])
    sets = load_clips(path, clip_len=27, stride_train=9, stride_test=27)
    assert len(sets["train"]) > 100 and len(sets["test"]) > 20


def test_subjects_actions_and_sources(data):
    subj = {split: sorted({s[:4] for s in np.unique(data[split]["source"])}) for split in ("train", "test")}
    assert subj == {"train": ["s_01", "s_05", "s_06", "s_07", "s_08"], "test": ["s_09", "s_11"]}
    assert set(np.unique(data["test"]["action"])) == {"Directions", "Walking"}
    src = data["train"]["source"]
    first = src[0]
    assert first.startswith("s_01_act_02_subact_01_ca_0") and len(first) == 27
    change = np.flatnonzero(src[1:] != src[:-1]) + 1
    runs = np.diff(np.concatenate([[0], change, [len(src)]]))
    assert len(runs) == len(np.unique(src)) and runs.min() >= 150 and runs.max() <= 260  # contiguous takes


def test_geometry_is_consistent(data):
    d = data["test"]
    np.testing.assert_allclose(d["joints_2.5d_image"], d["joint3d_image"] * d["2.5d_factor"][:, None, None], rtol=1e-6)
    # the factor is the root depth over the focal length: mm per pixel, people 3-7 m away
    assert 2.5 < d["2.5d_factor"].min() and d["2.5d_factor"].max() < 7.0
    # root-relative 2.5D bone lengths are human (thigh ~45 cm, upper arm ~28 cm) and stable over time
    x = d["joints_2.5d_image"] - d["joints_2.5d_image"][:, :1]
    lengths = np.stack([np.linalg.norm(x[:, c] - x[:, p], axis=-1) for p, c in H36M_BONES], axis=1)
    thigh, upper_arm = lengths[:, 1].mean(), lengths[:, 11].mean()
    assert 350 < thigh < 550 and 220 < upper_arm < 340
    assert np.median(lengths.std(axis=0) / lengths.mean(axis=0)) < 0.1
    # everyone is inside the frame, and the detections sit near the projected ground truth
    wh = np.array([CAMERA_RESOLUTIONS[c] for c in d["camera_name"]])
    uv = d["joint3d_image"][..., :2]
    assert (uv > 0).all() and (uv < wh[:, None, :]).all()
    err = np.linalg.norm(d["joint_2d"] - uv, axis=-1)
    assert 2.0 < np.median(err) < 10.0
    assert np.corrcoef(err.ravel(), d["confidence"].ravel())[0, 1] < -0.5  # confident where accurate


def test_motion_is_smooth_and_varied(data):
    x = data["train"]["joints_2.5d_image"]
    speed = np.linalg.norm(np.diff(x[:100], axis=0), axis=-1)
    assert np.percentile(speed, 99) < 60  # < 3 m/s per joint at 50 fps: no teleporting
    pose = x - x[:, :1]
    assert pose.std(axis=0).mean() > 30  # the body moves, not a frozen pose


def test_same_seed_same_data_and_validation(data):
    again = generate(SMALL)
    np.testing.assert_array_equal(again["train"]["joint_2d"], data["train"]["joint_2d"])
    other = generate(SyntheticSpec(actions=(2, 14), min_frames=150, max_frames=260, seed=4))
    assert not np.array_equal(other["test"]["joint_2d"][:10], data["test"]["joint_2d"][:10])
    with pytest.raises(PoseMambaError, match="actions"):
        generate(SyntheticSpec(actions=(1,)))


def test_cli_writes_a_checked_file(tmp_path):
    from typer.testing import CliRunner

    from posemamba_cli.cli.app import app

    out = tmp_path / "s.pkl"
    runner = CliRunner()
    args = ["data", "synthetic", str(out), "--actions", "14", "--max-frames", "260", "--min-frames", "250"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "train frames" in res.output
    res = runner.invoke(app, ["data", "check", str(out)])
    assert res.exit_code == 0 and "s_09 s_11" in res.output
    d = read_h36m(out)
    assert set(np.unique(d["train"]["action"])) == {"Walking"}
