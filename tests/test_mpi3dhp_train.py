"""MPI-INF-3DHP on synthetic data: the generator's schema, a small model learning, resume, eval/data CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.io import loadmat
from typer.testing import CliRunner

from posemamba_cli.cli.app import app
from posemamba_cli.data import mpi3dhp
from posemamba_cli.data.mpi3dhp_synthetic import Synthetic3DHPSpec, generate_3dhp, write_synthetic_3dhp
from posemamba_cli.errors import PoseMambaError
from posemamba_cli.model.checkpoint import load_file
from posemamba_cli.model.posemamba import PoseMamba
from posemamba_cli.train import Trainer, config_from_dict, resolve_data

TINY = dict(
    dataset="mpi3dhp", epochs=3, batch_size=16, learning_rate=2e-3, optimizer="adam_amsgrad", dim_feat=16, depth=1,
    clip_len=27, data_stride=9, drop_path_rate=0.0, no_conf=False, flip=True, seed=1, lambda_diff=0.0,
    eval_batch_size=128,
)  # fmt: skip
SPEC = Synthetic3DHPSpec(subjects=(1, 2), cameras=2, min_frames=120, max_frames=150,
                         test_frames=(90, 80, 70, 60, 80, 50))


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("syn3dhp") / "data"
    write_synthetic_3dhp(path, SPEC)
    return path


def test_synthetic_data_has_the_schema_sizes_and_gaps(folder):
    train = mpi3dhp.read_train(folder / mpi3dhp.TRAIN_FILE)
    test = mpi3dhp.read_test(folder / mpi3dhp.TEST_FILE)
    assert [s.name for s in train] == ["S1 Seq1|0", "S1 Seq1|1", "S1 Seq2|0", "S1 Seq2|1", "S2 Seq1|0",
                                       "S2 Seq1|1", "S2 Seq2|0", "S2 Seq2|1"]  # fmt: skip
    raw = np.load(folder / mpi3dhp.TRAIN_FILE, allow_pickle=True)["data"].item()
    assert raw["S1 Seq2"][1] == 50 and raw["S1 Seq1"][1] == 25
    assert [s.name for s in test] == list(mpi3dhp.TEST_SEQUENCES)
    for s in test + train:
        w, h = s.size
        assert 0 < s.pose_2d[..., 0].min() and s.pose_2d[..., 0].max() < w
        assert 0 < s.pose_2d[..., 1].min() and s.pose_2d[..., 1].max() < h
        # a pinhole at the frame centre: (u - w/2) * z / x is the same focal length for every joint
        focal = (s.pose_2d[..., 0] - w / 2) * s.pose_3d[..., 2] / s.pose_3d[..., 0]
        np.testing.assert_allclose(focal, 0.73 * w, rtol=1e-6)
    for s in test:
        v = s.valid
        assert not v[0] and not v[-1] and v.mean() > 0.7
        assert np.count_nonzero(np.diff(v.astype(int)) == -1) >= 2  # an invalid run inside the sequence
    assert {s.size for s in test} == {(2048, 2048), (1920, 1080)}
    # the pelvis lies between the hips, the head top is the highest joint (camera y points down)
    p = test[0].pose_3d
    np.testing.assert_allclose(p[:, 14], (p[:, 8] + p[:, 11]) / 2, atol=1.0)
    again = generate_3dhp(SPEC)[1]["TS2"]["data_2d"]
    np.testing.assert_array_equal(again, test[1].pose_2d)


def test_small_model_learns_and_writes_the_best_mat(folder, tmp_path):
    cfg = config_from_dict({**TINY, "data_file": str(folder)})
    data = resolve_data(cfg)
    assert data.task is not None and len(data.test) == sum(int(s.valid.sum()) for s in data.task.test_sequences)
    torch.manual_seed(cfg.seed)
    before = data.task.evaluate(PoseMamba(cfg.model), cfg, torch.device("cpu"))["mpjpe_mm"]
    result = Trainer(cfg, data, tmp_path / "run", tensorboard=False).fit()
    curve = [row["mpjpe_mm"] for row in result.history]
    assert result.status == "finished" and len(curve) == 3
    assert curve[-1] < 0.6 * before, (before, curve)
    best = load_file(tmp_path / "run" / "best.pt")
    assert best["metrics"]["mpjpe_mm"] == pytest.approx(min(curve))
    assert 0 <= best["metrics"]["pck"] <= 100 and best["train_config"]["dataset"] == "mpi3dhp"
    mat = loadmat(str(tmp_path / "run" / "inference_data.mat"))
    for s in data.task.test_sequences:
        assert mat[s.name].shape == (3, 17, 1, int(s.valid.sum())) and mat[s.name].dtype == np.float32
        assert np.all(mat[s.name][:, mpi3dhp.ROOT] == 0)
    # the .mat holds the best epoch's predictions: scoring it reproduces that epoch's MPJPE
    from posemamba_cli.evaluation.mpi3dhp import evaluate_3dhp, read_inference_mat

    scored = evaluate_3dhp(folder, read_inference_mat(tmp_path / "run" / "inference_data.mat"))
    assert scored["mpjpe_mm"] == pytest.approx(min(curve), rel=1e-5)
    assert scored["pck"] == pytest.approx(best["metrics"]["pck"])


def test_resume_gives_identical_weights(folder, tmp_path):
    cfg = config_from_dict({**TINY, "data_file": str(folder), "epochs": 2, "no_eval": True})
    data = resolve_data(cfg)
    data.train.split_id = data.train.split_id[:48]  # 3 steps per epoch
    Trainer(cfg, data, tmp_path / "full", tensorboard=False).fit()
    assert Trainer(cfg, data, tmp_path / "parts", tensorboard=False, max_steps=4).fit().status == "interrupted"
    assert Trainer(cfg, data, tmp_path / "parts", tensorboard=False, resume=True).fit().status == "finished"
    a, b = load_file(tmp_path / "full" / "latest.pt"), load_file(tmp_path / "parts" / "latest.pt")
    for k, v in a["model"].items():
        assert torch.equal(v, b["model"][k]), k
    assert a["optimizer"]["param_groups"][0]["amsgrad"] is True


def test_eval_command_tables_json_and_mat(folder, tmp_path):
    torch.manual_seed(0)
    cfg = config_from_dict({**TINY, "data_file": str(folder), "epochs": 1})
    Trainer(cfg, resolve_data(cfg), tmp_path / "run", tensorboard=False).fit()
    runner = CliRunner()
    out = {}
    for joints in (14, 17):
        path = tmp_path / f"eval{joints}.json"
        res = runner.invoke(app, ["eval", "-k", str(tmp_path / "run" / "best.pt"), "-d", str(folder), "-o", str(path),
                                  "--joints", str(joints), "--mat", str(tmp_path / f"pred{joints}.mat")])
        assert res.exit_code == 0, res.output
        assert "TS6" in res.output and "all valid frames" in res.output and "by activity" in res.output
        out[joints] = json.loads(path.read_text())
        assert (tmp_path / f"pred{joints}.mat").is_file()
    r = out[14]
    assert set(r["per_sequence"]) == set(mpi3dhp.TEST_SEQUENCES) and r["joints"] == 14
    assert r["mpjpe_mm"] == out[17]["mpjpe_mm"] and r["pck"] != out[17]["pck"]
    assert r["mpjpe_mm"] == pytest.approx(r["mpjpe_mm_reference"], rel=1e-5)
    assert r["mpjpe_mm"] == pytest.approx(load_file(tmp_path / "run" / "best.pt")["metrics"]["mpjpe_mm"], rel=1e-6)
    assert "Sitting" in r["per_activity"] or len(r["per_activity"]) > 2
    res = runner.invoke(app, ["eval", "-k", str(tmp_path / "run" / "best.pt"), "-d", str(folder), "--joints", "15",
                              "-o", str(tmp_path / "bad.json")])
    assert res.exit_code != 0 and isinstance(res.exception, PoseMambaError)


def test_data_command_writes_and_refuses_to_overwrite(tmp_path):
    runner = CliRunner()
    args = ["data", "synthetic", str(tmp_path / "d"), "--dataset", "3dhp", "--train-subjects", "1",
            "--min-frames", "40", "--max-frames", "60"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == [
        "activity_annotation.npz", mpi3dhp.TEST_FILE, mpi3dhp.TRAIN_FILE]
    assert [s.name for s in mpi3dhp.read_train(tmp_path / "d" / mpi3dhp.TRAIN_FILE)][::2] == ["S1 Seq1|0", "S1 Seq2|0"]
    before = (tmp_path / "d" / mpi3dhp.TRAIN_FILE).read_bytes()
    res = runner.invoke(app, args + ["--seed", "3"])
    assert res.exit_code != 0 and "already holds" in str(res.exception)
    assert (tmp_path / "d" / mpi3dhp.TRAIN_FILE).read_bytes() == before
    res = runner.invoke(app, ["data", "synthetic", str(tmp_path / "e"), "--dataset", "3dhp", "--train-subjects", "9"])
    assert res.exit_code != 0 and "subjects must be" in str(res.exception)


def test_missing_data_and_bad_config_values(tmp_path):
    with pytest.raises(PoseMambaError, match="has no data_train_3dhp.npz"):
        resolve_data(config_from_dict({**TINY, "data_file": str(tmp_path)}))
    with pytest.raises(PoseMambaError, match="'optimizer'"):
        config_from_dict({**TINY, "optimizer": "sgd"})
    with pytest.raises(PoseMambaError, match="'dataset'"):
        config_from_dict({**TINY, "dataset": "3dpw"})
