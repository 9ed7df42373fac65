"""The published evaluation protocol against the shared fixture, and the metrics themselves."""

from __future__ import annotations

import json

import numpy as np
import pytest

import posemamba_cli
from posemamba_cli.data import read_h36m
from posemamba_cli.errors import PoseMambaError
from posemamba_cli.evaluation.metrics import mpjpe, p_mpjpe
from posemamba_cli.evaluation.predict import apply_gt_2d
from posemamba_cli.evaluation.protocol import evaluate_clips, published_test_clip_ids


@pytest.fixture(scope="module")
def fixture_dir(shared_dir):
    return shared_dir / "fixtures" / "h36m_eval"


def test_reproduces_every_published_number(fixture_dir):
    preds = np.load(fixture_dir / "eval_shared.npz")["predictions"]
    expected = json.loads((fixture_dir / "eval_shared_expected.json").read_text())
    result = posemamba_cli.evaluate_h36m(fixture_dir / "h36m_schema_shared.pkl", preds)
    for key in ("p1_mm", "p2_mm"):
        assert result[key] == pytest.approx(expected[key], rel=1e-6)
    for key in ("p1_per_action_mm", "p2_per_action_mm"):
        assert set(result[key]) == set(expected[key])
        for action, value in expected[key].items():
            assert result[key][action] == pytest.approx(value, rel=1e-6), (key, action)
    for key in ("n_test_frames", "n_test_clips", "n_train_clips"):
        assert result[key] == expected[key]


def test_predictions_are_not_modified_and_root_is_ignored(fixture_dir):
    preds = np.load(fixture_dir / "eval_shared.npz")["predictions"]
    before = preds.copy()
    data = read_h36m(fixture_dir / "h36m_schema_shared.pkl")
    a = posemamba_cli.evaluate_h36m(data, preds)
    np.testing.assert_array_equal(preds, before)
    moved = preds.copy()
    moved[:, :, 0] += 0.3  # the protocol zeroes the root joint first
    assert posemamba_cli.evaluate_h36m(data, moved)["p1_mm"] == a["p1_mm"]


def test_damaged_source_is_skipped(fixture_dir):
    preds = np.load(fixture_dir / "eval_shared.npz")["predictions"]
    data = read_h36m(fixture_dir / "h36m_schema_shared.pkl")
    ids = published_test_clip_ids(data)
    assert str(data["test"]["source"][ids[0, 0]]).startswith("s_09_act_05_subact_02")
    garbage = preds.copy()
    garbage[0] = 50.0  # clip 0 is from the damaged take: its prediction must not matter
    assert evaluate_clips(data["test"], garbage, ids)["p1_mm"] == evaluate_clips(data["test"], preds, ids)["p1_mm"]


def test_perfect_prediction_scores_zero(fixture_dir):
    data = read_h36m(fixture_dir / "h36m_schema_shared.pkl")
    ids = published_test_clip_ids(data)
    from posemamba_cli.data.clips import build_clip_sets

    labels = build_clip_sets(data)["test"].labels[ids]
    result = evaluate_clips(data["test"], labels - labels[:, :, :1], ids)
    assert result["p1_mm"] < 0.05 and result["p2_mm"] < 0.05


def test_wrong_prediction_shape_is_a_user_error(fixture_dir):
    with pytest.raises(PoseMambaError, match="expected \\(12, 243, 17, 3\\)"):
        posemamba_cli.evaluate_h36m(fixture_dir / "h36m_schema_shared.pkl", np.zeros((11, 243, 17, 3)))


def test_p_mpjpe_removes_similarity_but_not_reflection():
    rng = np.random.default_rng(0)
    gt = rng.normal(size=(4, 17, 3))
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    rot = q * np.sign(np.linalg.det(q))  # proper rotation
    pred = 1.7 * gt @ rot + np.array([3.0, -1.0, 2.0])
    assert mpjpe(pred, gt).min() > 0.1
    np.testing.assert_allclose(p_mpjpe(pred, gt), 0.0, atol=1e-9)
    mirrored = gt * np.array([-1.0, 1.0, 1.0])
    assert p_mpjpe(mirrored, gt).min() > 1e-3


def test_gt_2d_keeps_input_xy_and_zero_root_depth():
    pred = np.ones((2, 5, 17, 3), np.float32)
    inputs = np.random.default_rng(0).normal(size=(2, 5, 17, 3)).astype(np.float32)
    out = apply_gt_2d(pred, inputs)
    np.testing.assert_array_equal(out[..., :2], inputs[..., :2])
    assert np.all(out[:, :, 0, 2] == 0) and np.all(out[:, :, 1:, 2] == 1)
